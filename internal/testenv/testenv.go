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
	"os"
	"sync"
	"testing"

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

// randomHex names per-test databases and lease tokens; collisions across
// concurrently running processes must be practically impossible.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
