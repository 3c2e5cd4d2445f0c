package cachefill_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/redis"
)

// logs collects a loop's JSON log lines while it runs.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// count is how many lines at level say message.
func (l *logs) count(level slog.Level, message string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var e struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Level == level.String() && e.Msg == message {
			n++
		}
	}
	return n
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// decide books n people as the worker does, in selangor's two slots with
// room (five places in sel-002), and returns the records the worker would
// have written: confirmed, then full once sel-002 is gone, and one
// duplicate.
func (f fixture) decide(t *testing.T, n int) []booking.StatusRecord {
	t.Helper()
	books := postgres.NewBookings(f.pool, pii.Dev())
	var out []booking.StatusRecord
	for i := range n {
		id := fmt.Sprintf("A%07d", i)
		if i == n-1 {
			id = "A0000000" // the first person again
		}
		req := booking.Request{Reference: booking.NewReference(), State: "selangor", Name: "Siti", IDNumber: id,
			Phone: "+60123456789", Email: "siti@example.com", Lang: "ms",
			Preferences: []string{"sel-002-2026-12-02-am"}, SubmittedAt: time.Now()}
		o, err := books.Decide(context.Background(), req, "m-"+req.Reference)
		if err != nil {
			t.Fatalf("decide %s: %v", id, err)
		}
		out = append(out, o.Record)
	}
	return out
}

// waitShown polls until GET /status would show each record as the worker
// wrote it, for up to 60 s, and fails saying what it saw last.
func waitShown(t *testing.T, what string, s *redis.Statuses, want []booking.StatusRecord) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		seen := ""
		for _, w := range want {
			got, err := s.GetRaw(context.Background(), w.Reference)
			if wb, _ := json.Marshal(w); err != nil || !bytes.Equal(got, wb) {
				seen = fmt.Sprintf("%s: %s, %v; want %s", w.Reference, got, err, wb)
				break
			}
		}
		if seen == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRun_StatusesComeBackAfterRedisLosesThem: decided bookings' status
// records (confirmed with the slot, full, duplicate) are written back from
// Postgres after Redis loses everything, while GET /status says they are
// being restored rather than unknown; the loss is logged once at warn.
func TestRun_StatusesComeBackAfterRedisLosesThem(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	want := f.decide(t, 8)
	var lg logs
	l, _ := f.newLoopLogging(t, f.pool, 100*time.Millisecond, lg.logger())
	statuses := redis.NewStatuses(f.rdb, time.Hour)
	stop := run(t, l)
	defer stop()
	waitShown(t, "the first pass writes every status record", statuses, want)
	// The records shown may be the worker's own; the loss below must come
	// after the start's rebuild has finished, or it interrupts it and the
	// counts at the end are a race.
	const rebuilt = "booking status records written back from Postgres"
	eventually(t, "the start's rebuild finishes", func() bool { return lg.count(slog.LevelInfo, rebuilt) == 1 })

	ctx := context.Background()
	if err := f.rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// Right after the loss, before any pass, the answer is "restoring",
	// never "unknown": whatever is missing may be on its way.
	if _, err := statuses.GetRaw(ctx, want[0].Reference); err != nil && !errors.Is(err, booking.ErrStatusesRestoring) {
		t.Errorf("right after the loss: got %v, want the record or ErrStatusesRestoring", err)
	}
	waitShown(t, "every status record back after FLUSHDB", statuses, want)
	// Once back, a reference nobody accepted is unknown again.
	eventually(t, "an unknown reference is unknown again", func() bool {
		_, err := statuses.GetRaw(ctx, booking.NewReference())
		return errors.Is(err, booking.ErrUnknownReference)
	})
	const lost = "booking status records missing in Redis (lost, or never written): writing them back from Postgres"
	if n := lg.count(slog.LevelWarn, lost); n != 2 {
		t.Errorf("%d warnings of missing status records, want 2 (the first start, the loss):\n%s", n, lg.String())
	}
	if n := lg.count(slog.LevelInfo, rebuilt); n != 2 {
		t.Errorf("%d rebuilds finished, want 2:\n%s", n, lg.String())
	}
}

// TestRun_RetriesAFailedPassWithinSecondsNotAnInterval: with an interval
// of an hour, a pass that failed three times is retried with backoff until
// it writes; the failure is logged once, and the recovery once.
func TestRun_RetriesAFailedPassWithinSecondsNotAnInterval(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var lg logs
	l, sink := f.newLoopLogging(t, f.pool, never, lg.logger())
	sink.failing.Store(3)
	stop := run(t, l)
	defer stop()
	eventually(t, "the listings written after three failed passes", func() bool {
		_, err := redis.NewListings(f.rdb).Heartbeat(context.Background())
		return err == nil
	})
	if n := sink.writes.Load(); n != 4 {
		t.Errorf("writes: got %d, want 4 (three failed, one good)", n)
	}
	eventually(t, "the recovery logged", func() bool { return lg.count(slog.LevelInfo, "cache fill pass recovered") == 1 })
	if n := lg.count(slog.LevelError, "cache fill pass failed; retrying with backoff"); n != 1 {
		t.Errorf("error lines: got %d, want 1 for the episode:\n%s", n, lg.String())
	}
}

// TestRun_RefillsAFlushedCacheWithinSecondsNotAnInterval: with an interval
// of an hour, the leader notices Redis lost its listings between passes
// and writes them again at once.
func TestRun_RefillsAFlushedCacheWithinSecondsNotAnInterval(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	l, sink := f.newLoop(t, f.pool, never)
	stop := run(t, l)
	defer stop()
	listings := redis.NewListings(f.rdb)
	filled := func() bool { _, err := listings.Heartbeat(context.Background()); return err == nil }
	eventually(t, "the first pass has written", filled)
	if err := f.rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the listings written again after FLUSHDB", filled)
	if n := sink.writes.Load(); n != 2 {
		t.Errorf("writes: got %d, want 2 (the first pass, the one after the loss)", n)
	}
}
