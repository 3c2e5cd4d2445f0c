// Package cachefill is the single loop that turns the slots' counter rows
// into the rendered /listppv and /states documents in Redis, every interval,
// and that writes every decided booking's status record back from Postgres
// when Redis lost them. Any number of copies may run; only the holder of the
// Postgres lease writes.
package cachefill

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/leased"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// Sink stores rendered documents and the heartbeat in one step.
type Sink interface {
	Write(ctx context.Context, docs listing.Documents, at time.Time) error
	// Heartbeat is listing.ErrNotFilled when Redis lost what was written.
	Heartbeat(ctx context.Context) (time.Time, error)
}

// Statuses is where GET /status reads the booking status records
// (redis.Statuses), as far as a rebuild of them needs.
type Statuses interface {
	// ClaimRestore returns the token of the rebuild to do: "" when Redis
	// holds every record, held to go on, another to start over.
	ClaimRestore(ctx context.Context, held string, ttl time.Duration) (string, error)
	// Restore writes the records Redis lacks, or shows pending.
	Restore(ctx context.Context, decided []booking.Decided, now time.Time) (int, error)
	// FinishRestore marks the records whole unless Redis lost data since
	// the token was given.
	FinishRestore(ctx context.Context, token string) (bool, error)
}

// rebuildPage is how many bookings one read of a rebuild brings from
// Postgres, and one Redis pipeline writes back.
const rebuildPage = 2000

// Loop is the cache-fill loop. Each pass takes the lease if free and,
// holding it, writes what changed and the heartbeat, then goes on with a
// rebuild of the status records if Redis lost them.
type Loop struct {
	*leased.Loop
	log      *slog.Logger
	sink     Sink
	statuses Statuses
	// statusTTL is how long the worker's status records live: older
	// bookings have none to write back.
	statusTTL time.Duration
	// budget bounds the rebuild's share of one pass, so the listings are
	// rewritten at least every interval + budget while a big one runs.
	budget time.Duration
	// claimTTL outlives the wait between two passes of a rebuild.
	claimTTL time.Duration

	// What this leader rendered last. Every pass writes all of it again, so
	// a flushed or failed-over Redis is whole within one interval, but only
	// changed states are rendered anew (listing.RenderAll).
	rendered listing.Documents
	restore  rebuild
}

// rebuild is a rebuild of the status records under way.
type rebuild struct {
	token         string
	after         string // the last reference written back
	began         time.Time
	read, written int
}

// New returns a loop that runs every cfg.Interval.
func New(log *slog.Logger, pool *pgxpool.Pool, sink Sink, statuses Statuses, cfg Config) *Loop {
	l := &Loop{log: log, sink: sink, statuses: statuses, statusTTL: cfg.StatusTTL,
		budget: max(cfg.Interval, time.Second), claimTTL: max(time.Minute, 4*cfg.Interval)}
	l.Loop = leased.New(log, pool, postgres.CacheFillLease, "cache fill", "writes", cfg.Interval, 5*time.Second, l.pass)
	l.Taken = func() { l.rendered, l.restore = listing.Documents{}, rebuild{} }
	l.Lost = func(ctx context.Context) bool {
		_, err := sink.Heartbeat(ctx)
		return errors.Is(err, listing.ErrNotFilled)
	}
	return l
}

func (l *Loop) pass(ctx context.Context, lease *postgres.Lease) (_ time.Time, _ bool, err error) {
	start := time.Now()
	var written []string
	defer func() { telemetry.CacheFilled(ctx, start, written, err) }()
	// Before the listings: GET /status takes a missing heartbeat, or a
	// rebuild's token, to mean that a record it lacks may be on its way, so
	// the token must be there before the heartbeat is written again.
	if err := l.claim(ctx); err != nil {
		return time.Time{}, false, err
	}
	rows, err := lease.Snapshot(ctx)
	if err != nil {
		telemetry.StoreError(ctx, "postgres")
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
	// Redis may have lost everything between the claim and the write: the
	// heartbeat's write then left a stand-in token (redis.Listings.Write),
	// so GET /status says "restoring"; claiming again starts the rebuild
	// that replaces it.
	if l.restore.token == "" {
		if err := l.claim(ctx); err != nil {
			return time.Time{}, false, err
		}
	}
	if l.restore.token != "" {
		if err := l.rebuild(ctx, lease); err != nil {
			return time.Time{}, lease.Lost(), err
		}
	}
	return at, false, nil
}

// claim learns whether the status records need writing back, and starts a
// rebuild from the first booking when Redis lost them (again).
func (l *Loop) claim(ctx context.Context) error {
	token, err := l.statuses.ClaimRestore(ctx, l.restore.token, l.claimTTL)
	if err != nil || token == l.restore.token {
		return err
	}
	if token != "" {
		l.log.Warn("booking status records missing in Redis (lost, or never written): writing them back from Postgres",
			"restarted", l.restore.token != "")
	}
	l.restore = rebuild{token: token, began: l.Now()}
	return nil
}

// rebuild writes back page after page of decided bookings' records until
// none is left or the pass's budget is spent; the next pass goes on from
// the last reference written.
func (l *Loop) rebuild(ctx context.Context, lease *postgres.Lease) error {
	stop := time.Now().Add(l.budget)
	for {
		now := l.Now()
		page, err := lease.Decided(ctx, l.restore.after, now.Add(-l.statusTTL), rebuildPage)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return l.finish(ctx)
		}
		n, err := l.statuses.Restore(ctx, page, now)
		if err != nil {
			return err
		}
		l.restore.after = page[len(page)-1].Record.Reference
		l.restore.read += len(page)
		l.restore.written += n
		if time.Now().After(stop) {
			l.log.Info("booking status records: rebuild goes on next pass", "read", l.restore.read, "written", l.restore.written)
			return nil
		}
	}
}

func (l *Loop) finish(ctx context.Context) error {
	r := l.restore
	l.restore = rebuild{}
	done, err := l.statuses.FinishRestore(ctx, r.token)
	switch {
	case err != nil:
		return err
	case done:
		l.log.Info("booking status records written back from Postgres", "bookings", r.read, "written", r.written,
			"took", l.Now().Sub(r.began).Round(time.Millisecond).String())
	default:
		l.log.Warn("Redis lost data again while booking status records were written back; the next pass starts over")
	}
	return nil
}
