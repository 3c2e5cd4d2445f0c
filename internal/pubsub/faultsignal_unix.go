//go:build unix

package pubsub

import (
	"os"
	"syscall"
)

// FaultSignal asks `vaxbook pubsub` to refuse publishes for a while.
var FaultSignal os.Signal = syscall.SIGUSR1
