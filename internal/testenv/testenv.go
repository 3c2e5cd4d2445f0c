// Package testenv gives tests real PostgreSQL, Redis and Pub/Sub: each test
// gets its own database cloned from a migrated template, its own Redis logical
// database, and its own in-process Pub/Sub server. It never fakes a dependency
// and never skips: a suite that passes with nothing behind it proves nothing,
// so when no server can be found the test fails and says how to get one.
//
// Servers are found once per test process: TEST_DATABASE_URL and
// TEST_REDIS_URL when set (an explicit choice wins), else containers started
// through testcontainers-go when a Docker engine answers, else the local
// defaults on 127.0.0.1 that `bash .ci/test` installs and starts.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/vaxbook/vaxbook/internal/docker"
)

// fixHint ends every "no server" failure, so the reader learns the one
// command that sets up a working machine.
const fixHint = "run `bash .ci/test` (it installs and starts PostgreSQL and Redis on 127.0.0.1), start a Docker engine, or set TEST_DATABASE_URL / TEST_REDIS_URL"

// Main runs the package's tests and then stops what testenv started for them.
// Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// It is optional: without it, testcontainers' reaper removes the containers
// when the process exits, and the local servers need no stopping.
func Main(m *testing.M) {
	code := m.Run()
	shutdown()
	os.Exit(code)
}

// shutdown releases process-wide resources: the admin connections and any
// containers this process started.
func shutdown() {
	pgState.close()
	redisState.close()
	containers.terminate()
}

// containers remembers what this process started so Main can stop it ahead
// of the reaper.
var containers containerSet

type containerSet struct {
	mu   sync.Mutex
	list []testcontainers.Container
}

func (s *containerSet) add(c testcontainers.Container) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, c)
}

func (s *containerSet) terminate() {
	s.mu.Lock()
	list := s.list
	s.list = nil
	s.mu.Unlock()
	for _, c := range list {
		// Best effort: the reaper removes whatever this misses.
		_ = testcontainers.TerminateContainer(c)
	}
}

// dockerReachable reports, once per process, whether a Docker engine answers, so that
// neither Postgres nor Redis discovery pays for the check twice.
var dockerReachable = sync.OnceValues(func() (bool, error) {
	return docker.Reachable(context.Background())
})

// discover finds one kind of server tests use, in the order the package doc
// gives, and returns its URL with an admin client on it: name is the server
// as messages say it, env the variable that names one explicitly, defaultURL
// where `bash .ci/test` runs one; container starts one through
// testcontainers and open connects the admin client or says why it cannot.
// When none answers, the error lists what was tried and ends with fixHint.
func discover[C any](name, env, defaultURL string, container func(context.Context) (string, error), open func(context.Context, string) (C, error)) (string, C, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var none C

	if u := os.Getenv(env); u != "" {
		c, err := open(ctx, u)
		if err != nil {
			return "", none, fmt.Errorf("testenv: no %s for tests: %s=%s does not answer: %w; start that server, or unset %s to use Docker or %s",
				name, env, redact(u), err, env, hostOf(defaultURL))
		}
		return u, c, nil
	}

	tried := []string{env + " (unset)"}
	if ok, err := dockerReachable(); ok {
		u, err := container(ctx)
		if err == nil {
			c, cerr := open(ctx, u)
			if cerr == nil {
				return u, c, nil
			}
			err = cerr
		}
		tried = append(tried, fmt.Sprintf("a %s container through testcontainers (%v)", name, err))
	} else {
		tried = append(tried, fmt.Sprintf("Docker through testcontainers (%v)", err))
	}

	c, err := open(ctx, defaultURL)
	if err == nil {
		return defaultURL, c, nil
	}
	tried = append(tried, fmt.Sprintf("%s (%v)", defaultURL, err))
	return "", none, fmt.Errorf("testenv: no %s for tests; tried %s. To fix: %s",
		name, strings.Join(tried, "; "), fixHint)
}

// containerURL hands a container a module's Run returned to Main to stop,
// even when Run failed (it may have created one before its wait strategy
// gave up; TerminateContainer skips a nil one), and returns the URL address
// reads from it.
func containerURL(ctr testcontainers.Container, err error, image string, address func() (string, error)) (string, error) {
	containers.add(ctr)
	if err != nil {
		return "", fmt.Errorf("start %s: %w", image, err)
	}
	u, err := address()
	if err != nil {
		return "", fmt.Errorf("address of %s: %w", image, err)
	}
	return u, nil
}

// redact keeps passwords out of test logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Host
}

// randomHex names per-test databases and lease tokens; collisions across
// concurrently running processes must be practically impossible.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
