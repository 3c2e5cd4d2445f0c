package logging

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Episode logs a failing dependency once per episode instead of once per
// request or retry: the first failure after success at level, with its
// error, and the first success after failure at info, with how long it
// lasted and how many failures it saw. Counts keeps the tallies for probes
// and tests. Its methods are safe for concurrent use, and OK costs one
// atomic load while nothing is failing.
type Episode struct {
	log       *slog.Logger
	level     slog.Level
	failing   string // the message of the first failure
	recovered string // the message of the recovery

	down     atomic.Bool
	mu       sync.Mutex // orders the transitions and their log lines
	began    time.Time
	episodes atomic.Int64
	failures atomic.Int64 // in all episodes
	inThis   int64        // failures in the current episode
}

// NewEpisode returns an Episode logging failing at level and recovered at
// info.
func NewEpisode(log *slog.Logger, level slog.Level, failing, recovered string) *Episode {
	return &Episode{log: log, level: level, failing: failing, recovered: recovered}
}

// Fail counts a failure, logging it when it begins an episode; attrs go
// with that line.
func (e *Episode) Fail(err error, attrs ...any) {
	e.failures.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inThis++
	if e.down.Load() {
		return
	}
	e.down.Store(true)
	e.began = time.Now()
	e.inThis = 1
	e.episodes.Add(1)
	e.log.Log(context.Background(), e.level, e.failing, append(attrs, "error", err)...)
}

// OK ends an episode, if one is under way.
func (e *Episode) OK() {
	if !e.down.Load() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.down.Load() {
		return
	}
	e.down.Store(false)
	e.log.Info(e.recovered, "after", time.Since(e.began).Round(time.Millisecond).String(), "failures", e.inThis)
}

// Counts returns how many episodes began and how many failures they
// counted, since the Episode was made.
func (e *Episode) Counts() (episodes, failures int64) {
	return e.episodes.Load(), e.failures.Load()
}

// Failing reports whether an episode is under way.
func (e *Episode) Failing() bool { return e.down.Load() }
