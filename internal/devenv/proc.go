package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// stopGrace is how long a server gets to shut down cleanly before it is
// killed; PostgreSQL's fast shutdown and Redis's both take well under it.
const stopGrace = 10 * time.Second

// child is a server process this package started. It is stopped by stop, or
// when the context it was started with is done, whichever comes first.
type child struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once the process has exited
	waitErr error         // valid after done is closed
	once    sync.Once
}

// startChild starts cmd, which must have been made with exec.CommandContext
// on the context that bounds the server's life. Its output goes to logPath.
func startChild(cmd *exec.Cmd, logPath string, as *runAs) (*child, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create log %s: %w", logPath, err)
	}
	// The child keeps its own descriptor; ours is not needed past Start.
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr(as)
	// Interrupt asks both PostgreSQL (fast shutdown) and Redis to exit
	// cleanly; WaitDelay kills whatever ignores it.
	cmd.Cancel = func() error { return interrupt(cmd.Process) }
	cmd.WaitDelay = stopGrace

	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	c := &child{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// exited reports whether the process has ended, e.g. failed to start up.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop ends the process and waits for it; safe to call more than once.
func (c *child) stop() {
	c.once.Do(func() {
		if c.exited() {
			return
		}
		_ = interrupt(c.cmd.Process)
		select {
		case <-c.done:
		case <-time.After(stopGrace):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
}

// failure describes why the process is gone, with the end of its log.
func (c *child) failure() error {
	msg := fmt.Sprintf("%s exited: %v", c.cmd.Path, c.waitErr)
	if t := tail(c.logPath, 15); t != "" {
		msg += "; its log ends:\n" + t
	}
	return errors.New(msg)
}

func interrupt(p *os.Process) error {
	if err := p.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		// Windows cannot deliver an interrupt to another process.
		return p.Kill()
	}
	return nil
}

// waitUntil polls ready until it returns nil, the child exits, or timeout
// passes, and returns the reason it gave up.
func waitUntil(ctx context.Context, c *child, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		err := ready(attemptCtx)
		cancelAttempt()
		if err == nil {
			return nil
		}
		if c.exited() {
			return c.failure()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w (log: %s)", timeout, err, c.logPath)
		case <-c.done:
			return c.failure()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startOnFreePort starts the server command builds for a port as a child
// process working in dir, with its log there under logName, and waits until
// ready accepts its address. A free port can be taken between asking and
// binding, so a child that dies by itself is started again on a new one.
func startOnFreePort(ctx context.Context, dir, logName string, as *runAs, timeout time.Duration, command func(port string) *exec.Cmd, ready func(ctx context.Context, addr string) error) (*child, string, error) {
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, "", err
		}
		cmd := command(itoa(port))
		cmd.Dir = dir
		c, err := startChild(cmd, filepath.Join(dir, logName), as)
		if err != nil {
			return nil, "", err
		}
		addr := "127.0.0.1:" + itoa(port)
		err = waitUntil(ctx, c, timeout, func(ctx context.Context) error { return ready(ctx, addr) })
		if err == nil {
			return c, addr, nil
		}
		diedByItself := c.exited()
		c.stop()
		lastErr = err
		if !diedByItself || ctx.Err() != nil {
			break
		}
	}
	return nil, "", lastErr
}

// runAs is the unprivileged account a server runs as when we are root.
type runAs struct {
	name     string
	uid, gid int
}

// serverAccount returns the account PostgreSQL must run as: nil (ourselves)
// unless we are root, which postgres and initdb refuse to run as.
func serverAccount() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, which PostgreSQL refuses, and there is no \"postgres\" user to run it as (%w): run as an ordinary user, or create one with `useradd --system postgres`", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("user postgres: uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("user postgres: gid %q: %w", u.Gid, err)
	}
	return &runAs{name: u.Username, uid: uid, gid: gid}, nil
}
