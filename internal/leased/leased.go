// Package leased runs a periodic job that only the holder of a Postgres
// lease does, so that any number of copies may run: the cache-fill loop and
// the invitation loop are two such jobs.
package leased

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/postgres"
)

// A Job is one pass's work under the lease. It returns the time the pass
// did its job at (when err is nil), and drop when the lease must be given
// up because its connection may be gone with the lock.
type Job func(ctx context.Context, lease *postgres.Lease) (at time.Time, drop bool, err error)

// Loop passes every Interval: it takes the lease named by Key if free and,
// holding it, runs Job. A standby pass does nothing and is not an error.
type Loop struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	key      postgres.LeaseKey
	interval time.Duration
	timeout  time.Duration
	job      Job
	name     string // for the logs: "<name> pass", "<name> standby: …"
	role     string // what the holder does: "this loop <role>"

	// Now is the loop's clock, which a job reads too.
	Now func() time.Time
	// Taken, when set, runs when this loop has just taken the lease.
	Taken func()
	// Lost, when set, is asked every watchEvery between the passes of a
	// leader whether what it writes is gone (a flushed Redis): then the
	// next pass runs at once instead of at the next tick.
	Lost func(ctx context.Context) bool

	lease    *postgres.Lease
	lastPass atomic.Int64 // unix ms of the last pass that did its job, as leader or standby
	leader   atomic.Bool
}

// New returns a loop named name in its logs, whose holder "role"s, that
// runs job every interval with at least minTimeout per pass.
func New(log *slog.Logger, pool *pgxpool.Pool, key postgres.LeaseKey, name, role string, interval, minTimeout time.Duration, job Job) *Loop {
	return &Loop{
		log: log, pool: pool, key: key, name: name, role: role,
		interval: interval, timeout: max(2*interval, minTimeout), job: job, Now: time.Now,
	}
}

// firstRetry is the wait before the first retry of a failed pass; each
// further failure doubles it, up to the interval. A pass fails when Redis
// or Postgres does, and both usually come back within seconds: waiting a
// whole interval would leave the API without a listing for that long.
const firstRetry = 100 * time.Millisecond

// Run passes once at once and then every interval until ctx is done,
// retrying a failed pass sooner, with backoff. Failures are logged once per
// episode (the first at error, the recovery at info). It gives the lease up
// on return so a standby can take over at its next tick.
func (l *Loop) Run(ctx context.Context) error {
	defer l.dropLease()
	t := time.NewTicker(l.interval)
	defer t.Stop()
	failing := logging.NewEpisode(l.log, slog.LevelError, l.name+" pass failed; retrying with backoff", l.name+" pass recovered")
	var backoff time.Duration
	for {
		var retry <-chan time.Time
		if err := l.Pass(ctx); err != nil && ctx.Err() == nil {
			failing.Fail(err)
			backoff = min(max(2*backoff, firstRetry), l.interval)
			l.log.Debug(l.name+" pass failed", "error", err, "retry_in", backoff.String())
			retry = time.After(backoff)
		} else if err == nil {
			failing.OK()
			backoff = 0
		}
		l.wait(ctx, t.C, retry)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// watchEvery is how often a leader asks Lost between passes: a few cheap
// reads a second make a loss last a fraction of a second, not an interval.
const watchEvery = 250 * time.Millisecond

// wait returns at the next tick or retry, when ctx is done, or as soon as
// a leader's Lost says its writes are gone.
func (l *Loop) wait(ctx context.Context, tick, retry <-chan time.Time) {
	var watch <-chan time.Time
	if l.Lost != nil && retry == nil {
		w := time.NewTicker(watchEvery)
		defer w.Stop()
		watch = w.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			return
		case <-retry:
			return
		case <-watch:
			if l.leader.Load() && l.Lost(ctx) {
				return
			}
		}
	}
}

// Pass takes the lease if free and, holding it, runs the job once.
func (l *Loop) Pass(ctx context.Context) error {
	// A hung connection must not hold the lease forever: cancelling the
	// query closes the connection, which frees the lock for a standby.
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	if l.lease == nil {
		lease, err := postgres.TryLease(ctx, l.pool, l.key)
		if err != nil {
			return err
		}
		if lease == nil {
			l.leader.Store(false)
			l.lastPass.Store(l.Now().UnixMilli())
			l.log.Debug(l.name + " standby: another loop holds the lease")
			return nil
		}
		l.log.Info(l.name + " lease taken: this loop " + l.role)
		l.lease = lease
		if l.Taken != nil {
			l.Taken()
		}
		l.leader.Store(true)
	}
	at, drop, err := l.job(ctx, l.lease)
	if drop {
		l.dropLease()
	}
	if err != nil {
		return err
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
// whether this loop holds the lease.
func (l *Loop) Healthy() (ok, leader bool, last time.Time) {
	last = time.UnixMilli(l.lastPass.Load())
	return l.Now().Sub(last) <= 3*l.interval, l.leader.Load(), last
}
