// Package cachefill is the single loop that turns the slots' counter rows
// into the rendered /listppv and /states documents in Redis, every interval.
// Any number of copies may run; only the holder of the Postgres lease writes.
package cachefill

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/postgres"
)

// Sink stores rendered documents and the heartbeat in one step.
type Sink interface {
	Write(ctx context.Context, docs listing.Documents, at time.Time) error
}

// Loop is the cache-fill loop.
type Loop struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	sink     Sink
	interval time.Duration
	now      func() time.Time

	lease *postgres.Lease
	// What this leader rendered last. Every pass writes all of it again, so
	// a flushed or failed-over Redis is whole within one interval, but only
	// changed states are rendered anew (listing.RenderAll).
	rendered listing.Documents

	lastPass atomic.Int64 // unix ms of the last pass that did its job, as leader or standby
	leader   atomic.Bool
}

// New returns a loop that runs every interval.
func New(log *slog.Logger, pool *pgxpool.Pool, sink Sink, interval time.Duration) *Loop {
	return &Loop{log: log, pool: pool, sink: sink, interval: interval, now: time.Now}
}

// Run passes once at once and then every interval until ctx is done; it
// gives the lease up on return so a standby can take over at its next tick.
func (l *Loop) Run(ctx context.Context) error {
	defer l.dropLease()
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		if err := l.Pass(ctx); err != nil && ctx.Err() == nil {
			l.log.Error("cache fill pass", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass takes the lease if free and, holding it, writes what changed and the
// heartbeat. A standby pass does nothing and is not an error.
func (l *Loop) Pass(ctx context.Context) error {
	// A hung connection must not hold the lease forever: cancelling the
	// query closes the connection, which frees the lock for a standby.
	ctx, cancel := context.WithTimeout(ctx, max(2*l.interval, 5*time.Second))
	defer cancel()
	if l.lease == nil {
		lease, err := postgres.TryLease(ctx, l.pool, postgres.CacheFillLease)
		if err != nil {
			return err
		}
		if lease == nil {
			l.leader.Store(false)
			l.lastPass.Store(l.now().UnixMilli())
			l.log.Debug("cache fill standby: another loop holds the lease")
			return nil
		}
		l.log.Info("cache fill lease taken: this loop writes")
		l.lease, l.rendered = lease, listing.Documents{}
		l.leader.Store(true)
	}
	rows, err := l.lease.Snapshot(ctx)
	if err != nil {
		// The lease's connection may be gone with the lock: start over.
		l.dropLease()
		return err
	}
	at := l.now()
	docs, err := listing.RenderAll(rows, at, l.rendered)
	if err != nil {
		return err
	}
	l.rendered = docs
	if err := l.sink.Write(ctx, docs, at); err != nil {
		return fmt.Errorf("write listings: %w", err)
	}
	l.lastPass.Store(at.UnixMilli())
	return nil
}

// Close gives the lease up; Run does it on return, callers of Pass must.
func (l *Loop) Close() { l.dropLease() }

func (l *Loop) dropLease() {
	if l.lease != nil {
		l.lease.Release()
		l.lease = nil
		l.leader.Store(false)
	}
}

// Healthy reports whether a pass completed within three intervals, and
// whether this loop is the writer.
func (l *Loop) Healthy() (ok, leader bool, last time.Time) {
	last = time.UnixMilli(l.lastPass.Load())
	return l.now().Sub(last) <= 3*l.interval, l.leader.Load(), last
}
