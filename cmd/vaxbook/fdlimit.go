package main

import (
	"fmt"
	"syscall"
)

// fdReserve is the descriptors a load run needs besides its connections:
// with --dev the whole system's pools (Postgres, Redis, Pub/Sub's gRPC, the
// push relays' connections at both ends), listeners, logs and files.
const fdReserve = 1024

// fitDescriptors raises this process's soft RLIMIT_NOFILE to its hard
// limit, then refuses a --workers that cannot fit under it. Each person or
// request in flight holds a connection; with --dev the system under test
// runs in this process and holds the server's end too. A generator that
// runs out of descriptors fails the system's accepts, pushes and pool
// connections with it ("too many open files"), and reports the system as
// collapsed when it was the generator that starved it.
func fitDescriptors(workers uint64, dev bool) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("loadtest: read the file descriptor limit: %w", err)
	}
	if lim.Cur < lim.Max {
		raised := syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			lim = raised
		}
	}
	per := uint64(1)
	if dev {
		per = 2
	}
	if need := workers*per + fdReserve; need > lim.Cur {
		return descriptorError(workers, per, need, lim)
	}
	return nil
}

func descriptorError(workers, per, need uint64, lim syscall.Rlimit) error {
	most := uint64(0)
	if lim.Cur > fdReserve {
		most = (lim.Cur - fdReserve) / per
	}
	how := "one connection each"
	if per == 2 {
		how = "both ends of a connection each, since --dev runs the system in this process"
	}
	return fmt.Errorf("loadtest: --workers %d needs about %d file descriptors (%s, plus %d for the rest), but this process may open %d (hard limit %d): use --workers %d or fewer, or raise the hard limit (ulimit -Hn, systemd LimitNOFILE)",
		workers, need, how, fdReserve, lim.Cur, lim.Max, most)
}
