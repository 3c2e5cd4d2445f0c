package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/cachefill"
	"github.com/vaxbook/vaxbook/frontend"
	"github.com/vaxbook/vaxbook/internal/devenv"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/seed"
	"github.com/vaxbook/vaxbook/internal/serve"
	"github.com/vaxbook/vaxbook/migrations"
	"github.com/vaxbook/vaxbook/worker"
)

// relaySubscription is the pull subscription that stands in for the push
// subscription pstest cannot deliver.
const relaySubscription = "appointments-dev-relay"

// runDev runs every role in one process on one port with an in-process
// Pub/Sub, so a developer needs nothing but this binary.
func runDev(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	var cfg devConfig
	log, err := configure(ctx, getenv, stdout, &cfg)
	if err != nil {
		return err
	}
	if err := positive("CACHEFILL_INTERVAL", cfg.Interval); err != nil {
		return err
	}
	opts, err := cfg.options(cfg.Project)
	if err != nil {
		return err
	}

	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		// Detached: the servers must outlive the HTTP drain; the deferred
		// cleanup stops them last.
		url, how, cleanup, err := devenv.Postgres(context.WithoutCancel(ctx))
		if err != nil {
			return err
		}
		defer cleanup()
		dbURL = url
		log.Info(how)
	} else {
		log.Info("postgres: DATABASE_URL")
	}
	redisURL := cfg.RedisURL
	if redisURL == "" {
		url, how, cleanup, err := devenv.Redis(context.WithoutCancel(ctx))
		if err != nil {
			return err
		}
		defer cleanup()
		redisURL = url
		log.Info(how)
	} else {
		log.Info("redis: REDIS_URL")
	}

	if err := migrations.Up(dbURL); err != nil {
		return err
	}
	pool, err := postgres.Open(ctx, postgres.Config{URL: dbURL, MaxConns: 16})
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := seedDemoIfEmpty(ctx, pool, log.Info); err != nil {
		return err
	}
	rdb, err := redis.Open(ctx, redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()

	psHost, psHow := cfg.EmulatorHost, "emulator at PUBSUB_EMULATOR_HOST"
	if psHost == "" {
		pss := pstest.NewServer()
		defer pss.Close()
		psHost, psHow = pss.Addr, "in-process pstest server"
	}
	psc, err := pubsub.NewClient(ctx, cfg.Project, psHost)
	if err != nil {
		return err
	}
	defer psc.Close()
	if err := pubsub.EnsureTopic(ctx, psc, cfg.Topic); err != nil {
		return err
	}
	subName, err := pubsub.EnsurePullSubscription(ctx, psc, cfg.Topic, relaySubscription, 60*time.Second)
	if err != nil {
		return err
	}
	log.Info("pubsub: "+psHow+" with a push relay", "topic", cfg.Topic)
	pub := pubsub.NewPublisher(psc, cfg.Topic)
	defer pub.Stop()
	mail, err := newDevMail(ctx, psc, cfg.EmailTopic)
	if err != nil {
		return err
	}
	defer mail.pub.Stop()

	listings := redis.NewListings(rdb)
	statuses := redis.NewStatuses(rdb, cfg.StatusTTL)
	apiHandler := api.NewServer(log, listings, pub, statuses, opts)
	mux := http.NewServeMux()
	mux.Handle("/", frontend.Handler())
	for _, p := range []string{"/listppv", "/states", "/submit", "/status/", "/config", "/healthz", "/readyz"} {
		mux.Handle(p, apiHandler)
	}
	mux.Handle("POST "+worker.PushPath, worker.HandlePush(log, postgres.NewBookings(pool), statuses, worker.WithEmailRequests(mail.pub)))

	ln, err := serve.Listen(cfg.Port)
	if err != nil {
		return err
	}
	base := "http://" + loopback(ln.Addr())
	if err := mail.mount(mux, log, pool, cfg, base); err != nil {
		return err
	}
	log.Info("vaxbook dev is up", "url", base+"/", "outbox", base+"/dev/mail")

	loop := cachefill.New(log, pool, listings, cfg.Interval)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return loop.Run(gctx) })
	g.Go(func() error {
		return pubsub.Relay(gctx, log, psc, subName, base+worker.PushPath, pubsub.NewRelayClient())
	})
	g.Go(func() error { return mail.relay(gctx, log, psc, base) })
	g.Go(func() error { return serve.Serve(gctx, log, ln, mux) })
	return g.Wait()
}

// seedDemoIfEmpty loads the demo centres into a database with no slots, so
// a first `vaxbook dev` shows something to book.
func seedDemoIfEmpty(ctx context.Context, pool *pgxpool.Pool, info func(string, ...any)) error {
	n, err := postgres.CountSlots(ctx, pool)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	res, err := seed.Load(ctx, pool, seed.Demo(time.Now()))
	if err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	info("empty database: loaded the demo data", "states", res.States, "centres", res.Centers, "slots", res.Slots)
	return nil
}

// loopback turns a listener's address into one a local client can dial.
func loopback(a net.Addr) string {
	_, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return fmt.Sprintf("127.0.0.1:%s", port)
}
