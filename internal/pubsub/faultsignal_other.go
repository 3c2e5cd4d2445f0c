//go:build !unix

package pubsub

import "os"

// FaultSignal is nil where there is no SIGUSR1: no publish faults on demand.
var FaultSignal os.Signal
