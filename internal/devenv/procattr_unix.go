//go:build unix && !linux

package devenv

import "syscall"

// sysProcAttr puts a server in its own process group, so a Ctrl-C in the
// terminal reaches vaxbook alone and vaxbook stops the server in order.
func sysProcAttr(as *runAs) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if as != nil {
		attr.Credential = &syscall.Credential{Uid: uint32(as.uid), Gid: uint32(as.gid)}
	}
	return attr
}
