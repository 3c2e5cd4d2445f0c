package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/golang-migrate/migrate/v4"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/cachefill"
	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/invite"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/respond"
	"github.com/vaxbook/vaxbook/internal/seed"
	"github.com/vaxbook/vaxbook/internal/serve"
	"github.com/vaxbook/vaxbook/migrations"
	"github.com/vaxbook/vaxbook/worker"
)

func runAPI(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	var cfg apiConfig
	log, err := configure(ctx, getenv, stdout, &cfg)
	if err != nil {
		return err
	}
	ctx, flush, err := withTelemetry(ctx, log, cfg.Telemetry, "api")
	if err != nil {
		return err
	}
	defer flush()
	opts, err := cfg.API.Options(cfg.PubSub.Project)
	if err != nil {
		return err
	}

	rdb, err := redis.New(cfg.Redis.URL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	warnIfDown(ctx, log, "redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	if opts.Abuse.Store, err = cfg.API.AbuseStore(rdb); err != nil {
		return err
	}
	psc, err := pubsub.NewClient(ctx, cfg.PubSub.Project, cfg.PubSub.EmulatorHost)
	if err != nil {
		return err
	}
	defer psc.Close()
	pub := pubsub.NewPublisher(psc, cfg.PubSub.Topic)
	defer pub.Stop()
	regs := pubsub.NewRegistrationPublisher(psc, cfg.API.RegistrationsTopic)
	defer regs.Stop()
	opts.Queue = api.Queue{Publisher: regs, Records: redis.NewRegistrations(rdb, cfg.API.StatusTTL)}
	if opts.Manage.Signer != nil {
		manage := pubsub.NewManagePublisher(psc, cfg.API.ManageTopic)
		defer manage.Stop()
		opts.Manage.Publisher = manage
	}
	if opts.Proof.On() {
		// The code e-mails go on the worker's email-topic, sent through
		// the same send-once record and provider as every other e-mail.
		codes := pubsub.NewRequestPublisher[email.Request](psc, cfg.API.Proof.EmailTopic)
		defer codes.Stop()
		opts.Proof.Mail, opts.Proof.Tries = codes, redis.NewProofTries(rdb)
	}

	h := api.NewServer(log, redis.NewListings(rdb), pub, redis.NewStatuses(rdb, cfg.API.StatusTTL), opts)
	ln, err := serve.Listen(cfg.Port)
	if err != nil {
		return err
	}
	return serve.Serve(ctx, log, ln, h)
}

func runWorker(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	var cfg workerConfig
	log, err := configure(ctx, getenv, stdout, &cfg)
	if err != nil {
		return err
	}
	ctx, flush, err := withTelemetry(ctx, log, cfg.Telemetry, "worker")
	if err != nil {
		return err
	}
	defer flush()
	emailOpts, closeEmail, err := workerEmail(ctx, log, cfg)
	if err != nil {
		return err
	}
	defer closeEmail()
	authOpt, err := workerPushAuth(ctx, log, cfg.Push)
	if err != nil {
		return err
	}
	ids, devPepper, err := cfg.Pepper()
	if err != nil {
		return err
	}
	manageSigner, err := cfg.ManageSigner()
	if err != nil {
		return err
	}
	if devPepper {
		log.Warn("ID_PEPPER unset: ID numbers are hashed with the public dev pepper (PUSH_AUTH=off only)")
	}
	pool, rdb, closeStores, err := openStores(ctx, log, cfg.Database, cfg.Redis)
	if err != nil {
		return err
	}
	defer closeStores()
	// E-mail holds a connection across each SendGrid call: its own small
	// pool keeps a slow SendGrid from taking the bookings' connections.
	mailDB := cfg.Database // the same login, its own size
	mailDB.MaxConns = emailMaxConns
	mailPool, err := postgres.New(ctx, mailDB)
	if err != nil {
		return err
	}
	defer mailPool.Close()

	records := redis.NewRegistrations(rdb, cfg.StatusTTL)
	registrations := worker.HandleRegistrations(log, postgres.NewRegistrar(pool, ids), records)
	books, statuses := postgres.NewBookings(pool, ids), redis.NewStatuses(rdb, cfg.StatusTTL)
	opts := append(emailOpts(postgres.NewEmails(mailPool).Guarded(ids, cfg.DailyCap)), worker.WithRegistrationsPush(registrations), worker.WithRegistrations(records), authOpt)
	if manageSigner != nil {
		books = books.WithManage(manageSigner)
		opts = append(opts, worker.WithManage(books, statuses, manageSigner))
	} else {
		log.Warn("MANAGE_SECRET unset: confirmations carry no manage link, and /push/manage is not served")
	}
	h := worker.NewHandler(log, cfg.Project, books, statuses, opts...)
	ln, err := serve.Listen(cfg.Port)
	if err != nil {
		return err
	}
	return serve.Serve(ctx, log, ln, h)
}

func runCacheFill(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	var cfg cacheFillConfig
	log, err := configure(ctx, getenv, stdout, &cfg)
	if err != nil {
		return err
	}
	ctx, flush, err := withTelemetry(ctx, log, cfg.Telemetry, "cachefill")
	if err != nil {
		return err
	}
	defer flush()
	if err := cfg.CacheFill.Check(); err != nil {
		return err
	}
	cfg.Database.MaxConns = cacheFillMaxConns
	pool, rdb, closeStores, err := openStores(ctx, log, cfg.Database, cfg.Redis)
	if err != nil {
		return err
	}
	defer closeStores()

	return runLoop(ctx, log, cfg.Port, cachefill.New(log, pool, redis.NewListings(rdb).GuardingStatuses(), redis.NewStatuses(rdb, cfg.CacheFill.StatusTTL), cfg.CacheFill))
}

func runInvite(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	var cfg inviteConfig
	log, err := configure(ctx, getenv, stdout, &cfg)
	if err != nil {
		return err
	}
	ctx, flush, err := withTelemetry(ctx, log, cfg.Telemetry, "invite")
	if err != nil {
		return err
	}
	defer flush()
	signer, err := cfg.Invite.Check()
	if err != nil {
		return err
	}
	cfg.Database.MaxConns = inviteMaxConns
	pool, rdb, closeStores, err := openStores(ctx, log, cfg.Database, cfg.Redis)
	if err != nil {
		return err
	}
	defer closeStores()
	reqs, stop, err := channelPublishers(ctx, cfg.Project, cfg.EmulatorHost, cfg.Invite.EmailTopic, cfg.SMSTopic)
	if err != nil {
		return err
	}
	defer stop()

	return runLoop(ctx, log, cfg.Port, invite.New(log, pool, redis.NewRegistrations(rdb, cfg.Invite.RecordTTL), reqs, signer, cfg.Invite))
}

// channelPublishers asks for messages on emailTopic and, when smsTopic is
// set, on it too for people who chose SMS (email.Channels), through a
// Pub/Sub client of its own: the roles that tell people things without
// sending them (invite, admin, closings). stop flushes both and closes the
// client.
func channelPublishers(ctx context.Context, project, emulatorHost, emailTopic, smsTopic string) (email.Channels, func(), error) {
	psc, err := pubsub.NewClient(ctx, project, emulatorHost)
	if err != nil {
		return email.Channels{}, nil, err
	}
	mail := pubsub.NewRequestPublisher[email.Request](psc, emailTopic)
	reqs := email.Channels{Email: mail}
	if smsTopic == "" {
		return reqs, func() { mail.Stop(); _ = psc.Close() }, nil
	}
	sms := pubsub.NewRequestPublisher[email.Request](psc, smsTopic)
	reqs.SMS = sms
	return reqs, func() { sms.Stop(); mail.Stop(); _ = psc.Close() }, nil
}

// loop is a role that works on a timer and answers only probes.
type loop interface {
	Run(ctx context.Context) error
	Healthy() (ok, leader bool, last time.Time)
}

// runLoop runs a loop beside the probes Cloud Run needs, until ctx ends.
func runLoop(ctx context.Context, log *slog.Logger, port string, l loop) error {
	ln, err := serve.Listen(port)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return l.Run(gctx) })
	g.Go(func() error { return serve.Serve(gctx, log, ln, loopHandler(l)) })
	return g.Wait()
}

// inviteMaxConns is the invitation loop's pool: it works over its lease's
// connection alone; one spare. deploy/worker.yaml's Cloud SQL connection
// budget counts it.
const inviteMaxConns = 2

// cacheFillMaxConns is the cache-fill pool: the lease's connection and a
// spare. deploy/worker.yaml's Cloud SQL connection budget counts it.
const cacheFillMaxConns = 2

// openStores connects the Postgres pool and the Redis client the worker and
// the cache-fill loop both need; the returned func closes both.
func openStores(ctx context.Context, log *slog.Logger, db postgres.Config, rc redis.Config) (*pgxpool.Pool, *goredis.Client, func(), error) {
	pool, err := postgres.New(ctx, db)
	if err != nil {
		return nil, nil, nil, err
	}
	rdb, err := redis.New(rc.URL)
	if err != nil {
		pool.Close()
		return nil, nil, nil, err
	}
	warnIfDown(ctx, log, "postgres", pool.Ping)
	warnIfDown(ctx, log, "redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	return pool, rdb, func() { _ = rdb.Close(); pool.Close() }, nil
}

// warnIfDown reports a dependency that does not answer at start. The process
// serves anyway: its probes and 503s say what is wrong, and it recovers by
// itself when the dependency returns, where exiting would only crash-loop.
func warnIfDown(ctx context.Context, log *slog.Logger, name string, ping func(context.Context) error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := ping(ctx); err != nil {
		log.Warn(name+" is not reachable yet; serving 503 until it is", "error", err)
	}
}

// loopHandler gives a loop's service (cachefill, invite) the probes Cloud
// Run needs.
func loopHandler(loop loop) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ok, leader, last := loop.Healthy()
		body := map[string]any{"leader": leader, "last_pass": last.UTC().Format(time.RFC3339)}
		if !ok {
			body["status"] = "stale"
			respond.JSON(w, http.StatusServiceUnavailable, body)
			return
		}
		body["status"] = "ready"
		respond.JSON(w, http.StatusOK, body)
	})
	return r
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var cfg migrateConfig
	if err := config.Load(ctx, getenv, &cfg); err != nil {
		return err
	}
	if len(args) == 0 {
		return errors.New("usage: vaxbook migrate up | down N | version")
	}
	m, err := migrations.New(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer m.Close()
	switch {
	case args[0] == "up" && len(args) == 1:
		if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
			return fmt.Errorf("migrate up: %w", err)
		}
	case args[0] == "down" && len(args) == 2:
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			return fmt.Errorf("migrate down: N must be a positive whole number, got %q", args[1])
		}
		if err := m.Steps(-n); err != nil {
			return fmt.Errorf("migrate down %d: %w", n, err)
		}
	case args[0] == "version" && len(args) == 1:
	default:
		return errors.New("usage: vaxbook migrate up | down N | version")
	}
	v, dirty, err := m.Version()
	switch {
	case errors.Is(err, migrate.ErrNilVersion):
		fmt.Fprintln(stdout, "version: none (no migration applied)")
	case err != nil:
		return fmt.Errorf("read migration version: %w", err)
	default:
		fmt.Fprintf(stdout, "version: %d dirty: %t\n", v, dirty)
	}
	return nil
}

func runSeed(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stdout)
	csvPath := fs.String("csv", "", "load centres and slots from this CSV file")
	demo := fs.Bool("demo", false, "load the demo data: 16 states, 14 days")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*csvPath == "") == !*demo {
		return errors.New("usage: vaxbook seed --csv FILE | --demo")
	}
	var cfg migrateConfig
	if err := config.Load(ctx, getenv, &cfg); err != nil {
		return err
	}
	var rows []seed.Row
	if *demo {
		rows = seed.Demo(time.Now())
	} else {
		f, err := os.Open(*csvPath)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		defer f.Close()
		if rows, err = seed.ParseCSV(f); err != nil {
			return fmt.Errorf("seed %s: %w", *csvPath, err)
		}
	}
	return withPool(ctx, cfg.DatabaseURL, 2, func(pool *pgxpool.Pool) error {
		res, err := seed.Load(ctx, pool, rows)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		fmt.Fprintf(stdout, "seed: %d rows read; changed %d states, %d centres, %d slots\n", len(rows), res.States, res.Centers, res.Slots)
		return nil
	})
}
