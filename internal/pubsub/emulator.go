package pubsub

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Emulator is a standalone local Pub/Sub (`vaxbook pubsub`): pstest served
// on an address the real client reaches through PUBSUB_EMULATOR_HOST, whose
// push subscriptions are played by Relay. It keeps messages in memory only:
// unlike Pub/Sub, which holds an acknowledged publish on disk in several
// zones until a subscriber acknowledges it (or its retention, 7 days by
// default, passes), a killed emulator loses its backlog. Publish failures
// are injected with FailPublishes instead.
type Emulator struct {
	srv       *pstest.Server
	failUntil atomic.Int64 // unix nanoseconds; publishes before it fail
}

// Push is one push subscription: what arrives on Topic is POSTed to URL.
type Push struct {
	Topic, Subscription, URL string
}

// NewEmulator serves pstest on addr (host:port; port 0 picks one).
func NewEmulator(addr string) (e *Emulator, err error) {
	e = &Emulator{}
	// pstest panics when it cannot listen.
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("serve pubsub emulator on %s: %v", addr, r)
		}
	}()
	e.srv = pstest.NewServerWithAddress(addr, pstest.ServerReactorOption{FuncName: "Publish", Reactor: publishFault{e}})
	return e, nil
}

// Addr is where the emulator listens, the PUBSUB_EMULATOR_HOST of its clients.
func (e *Emulator) Addr() string { return e.srv.Addr }

// Close stops serving; every message it held is gone.
func (e *Emulator) Close() error { return e.srv.Close() }

// FailPublishes answers every publish Unavailable for d from now, as
// Pub/Sub does when a region is in trouble; the client library retries
// that until its publish timeout.
func (e *Emulator) FailPublishes(d time.Duration) {
	e.failUntil.Store(time.Now().Add(d).UnixNano())
}

// publishFault is the reactor that refuses publishes while asked to.
type publishFault struct{ e *Emulator }

func (f publishFault) React(any) (bool, any, error) {
	if time.Now().UnixNano() < f.e.failUntil.Load() {
		return true, nil, status.Error(codes.Unavailable, "publish refused on purpose (fault injection)")
	}
	return false, nil, nil
}

// RelayPushes creates each push's topic and stand-in pull subscription on
// the emulator and relays them until ctx ends.
func (e *Emulator) RelayPushes(ctx context.Context, log *slog.Logger, project string, pushes []Push) error {
	c, err := NewClient(ctx, project, e.Addr())
	if err != nil {
		return err
	}
	defer c.Close()
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range pushes {
		if err := EnsureTopic(ctx, c, p.Topic); err != nil {
			return err
		}
		sub, err := EnsurePullSubscription(ctx, c, p.Topic, p.Subscription, relayAckDeadline)
		if err != nil {
			return err
		}
		g.Go(func() error { return Relay(gctx, log, c, sub, p.URL, NewRelayClient()) })
	}
	return g.Wait()
}
