package chaos

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/redis"
)

// fault is one thing that goes wrong mid-surge. inject returns once the
// fault is over (the process is back), with a line saying what it did;
// undo, if set, runs when the fault's surge has ended.
type fault struct {
	name   string
	inject func(ctx context.Context, s *system, o Options) (string, error)
	undo   func(s *system)
}

// faults are every fault `vaxbook chaos` knows, in the order it injects
// them; "none" is the control row.
var faults = []fault{
	{name: "none", inject: func(context.Context, *system, Options) (string, error) {
		return "nothing injected (the control row)", nil
	}},
	{name: "worker-kill", inject: killWorkerMidTransaction},
	{name: "api-kill", inject: func(ctx context.Context, s *system, _ Options) (string, error) {
		s.api.kill()
		return "SIGKILL of the API with submissions in flight, restarted at once", s.api.start(ctx)
	}},
	{name: "postgres-restart", inject: func(ctx context.Context, s *system, _ Options) (string, error) {
		s.pg.stop(os.Interrupt)
		return "PostgreSQL fast shutdown and start", s.pg.start(ctx)
	}},
	{name: "postgres-stop", inject: func(ctx context.Context, s *system, o Options) (string, error) {
		s.pg.stop(os.Interrupt)
		if err := sleep(ctx, o.PGStop); err != nil {
			return "", err
		}
		return fmt.Sprintf("PostgreSQL stopped for %s", o.PGStop), s.pg.start(ctx)
	}},
	{name: "redis-kill", inject: func(ctx context.Context, s *system, _ Options) (string, error) {
		s.redis.kill()
		return "SIGKILL of Redis, restarted empty at once", s.redis.start(ctx)
	}},
	{name: "redis-flushall", inject: func(ctx context.Context, s *system, _ Options) (string, error) {
		c, err := redis.Open(ctx, s.redisURL())
		if err != nil {
			return "", err
		}
		defer c.Close()
		return "FLUSHALL", c.FlushAll(ctx).Err()
	}},
	{name: "publish-fail", inject: func(ctx context.Context, s *system, o Options) (string, error) {
		if pubsub.FaultSignal == nil {
			return "", fmt.Errorf("publish faults need SIGUSR1, which this system lacks")
		}
		s.pubsub.send(pubsub.FaultSignal)
		// Over when the window is, which the API's publish timeout
		// (10 s) decides whether people saw as a wait or a 503.
		return fmt.Sprintf("the local Pub/Sub refused every publish for %s", o.PublishFailure), sleep(ctx, o.PublishFailure)
	}},
	{name: "two-cachefills", inject: func(ctx context.Context, s *system, _ Options) (string, error) {
		return "a second cache-fill loop started beside the first", s.cachefill2.start(ctx)
	}, undo: func(s *system) { s.cachefill2.stop(os.Interrupt) }},
}

// killWorkerMidTransaction waits (a few seconds at most) for a booking
// transaction to be open, then kills the worker and starts it again.
func killWorkerMidTransaction(ctx context.Context, s *system, _ Options) (string, error) {
	open := 0
	deadline := time.Now().Add(5 * time.Second)
	for open == 0 && time.Now().Before(deadline) {
		n, err := postgres.BookingTransactionsOpen(ctx, s.pool)
		if err != nil {
			return "", err
		}
		open = n
		if open == 0 && sleep(ctx, 2*time.Millisecond) != nil {
			return "", ctx.Err()
		}
	}
	s.worker.kill()
	what := fmt.Sprintf("SIGKILL of the worker with %d booking transactions open, restarted at once", open)
	return what, s.worker.start(ctx)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
