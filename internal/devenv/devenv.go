// Package devenv finds or starts the PostgreSQL and Redis that `vaxbook dev`
// runs against on a laptop where nothing is configured. For each it tries,
// in order: a throwaway container through testcontainers-go when a Docker
// engine answers; a server already listening on its standard loopback port;
// a throwaway server started from locally installed binaries. It reports in
// one line which it chose, and when nothing works it says what to install.
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
)

// options narrows the search; the zero value is what the exported functions
// use. Tests set it to reach the later fallbacks on a machine where an
// earlier one would win.
type options struct {
	noDocker bool // skip testcontainers
	noLocal  bool // skip the server on the standard port

	// findPostgres and findRedis replace the search for local binaries.
	findPostgres func() (binDir string, err error)
	findRedis    func() (path string, err error)
}

// noop is returned as the cleanup of a failed call, so a caller that defers
// cleanup before checking err does not crash.
func noop() {}

// containerCleanup terminates ctr on the first of cleanup or ctx's end;
// testcontainers' reaper removes it if the process dies before either.
func containerCleanup(ctx context.Context, ctr testcontainers.Container) func() {
	var once sync.Once
	done := make(chan struct{})
	stop := func() {
		once.Do(func() {
			close(done)
			_ = testcontainers.TerminateContainer(ctr)
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-done:
		}
	}()
	return stop
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
