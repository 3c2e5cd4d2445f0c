//go:build !unix

package devenv

import "syscall"

// sysProcAttr has nothing to set where there is no root to step down from
// and no process groups to leave.
func sysProcAttr(*runAs) *syscall.SysProcAttr { return nil }
