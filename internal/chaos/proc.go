package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"
)

// proc is one process of the system under test, started again on the same
// port after every kill, its output appended to one log.
type proc struct {
	name    string
	logPath string
	command func() *exec.Cmd                // a fresh command for each start
	ready   func(ctx context.Context) error // nil when it answers

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startTimeout bounds a start on a busy two-core machine: anything slower
// is broken, not slow.
const startTimeout = 60 * time.Second

// start runs the process and waits until it is ready.
func (p *proc) start(ctx context.Context) error {
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: log: %w", p.name, err)
	}
	defer log.Close() // the child keeps its own descriptor
	cmd := p.command()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		try, cancelTry := context.WithTimeout(ctx, 2*time.Second)
		err := p.ready(try)
		cancelTry()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("%s exited while starting (log: %s): %w", p.name, p.logPath, err)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %s (log: %s): %w", p.name, startTimeout, p.logPath, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// signal sends sig and waits up to grace for the exit, then kills.
func (p *proc) signal(sig os.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = cmd.Process.Kill()
	}
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}

// kill is SIGKILL: no shutdown, no flush, whatever was in flight is cut.
func (p *proc) kill() { p.signal(os.Kill, time.Minute) }

// stop asks for a clean shutdown, as Cloud Run does (PostgreSQL takes
// SIGINT as its fast shutdown).
func (p *proc) stop(sig os.Signal) { p.signal(sig, 15*time.Second) }

// send delivers sig to the running process.
func (p *proc) send(sig os.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}
