// Package cachefill is the single loop that turns the slots' counter rows
// into the rendered /listppv and /states documents in Redis, every interval.
// Any number of copies may run; only the holder of the Postgres lease writes.
package cachefill

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/leased"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// Sink stores rendered documents and the heartbeat in one step.
type Sink interface {
	Write(ctx context.Context, docs listing.Documents, at time.Time) error
}

// Loop is the cache-fill loop. Each pass takes the lease if free and,
// holding it, writes what changed and the heartbeat.
type Loop struct {
	*leased.Loop
	sink Sink

	// What this leader rendered last. Every pass writes all of it again, so
	// a flushed or failed-over Redis is whole within one interval, but only
	// changed states are rendered anew (listing.RenderAll).
	rendered listing.Documents
}

// New returns a loop that runs every interval.
func New(log *slog.Logger, pool *pgxpool.Pool, sink Sink, interval time.Duration) *Loop {
	l := &Loop{sink: sink}
	l.Loop = leased.New(log, pool, postgres.CacheFillLease, "cache fill", "writes", interval, 5*time.Second, l.pass)
	l.Taken = func() { l.rendered = listing.Documents{} }
	return l
}

func (l *Loop) pass(ctx context.Context, lease *postgres.Lease) (_ time.Time, _ bool, err error) {
	start := time.Now()
	var written []string
	defer func() { telemetry.CacheFilled(ctx, start, written, err) }()
	rows, err := lease.Snapshot(ctx)
	if err != nil {
		// The lease's connection may be gone with the lock: start over.
		return time.Time{}, true, err
	}
	at := l.Now()
	docs, err := listing.RenderAll(rows, at, l.rendered)
	if err != nil {
		return time.Time{}, false, err
	}
	l.rendered = docs
	if err := l.sink.Write(ctx, docs, at); err != nil {
		telemetry.StoreError(ctx, "redis")
		return time.Time{}, false, fmt.Errorf("write listings: %w", err)
	}
	written = slices.Collect(maps.Keys(docs.ByState))
	return at, false, nil
}
