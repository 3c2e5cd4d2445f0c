// Package devstack is the whole of vaxbook in one process, on one port: the
// booking page, the API, the worker with its e-mail outbox, the cache-fill
// loop and an in-process Pub/Sub whose push subscriptions are relayed, over
// a Postgres and a Redis it is given or finds (internal/devenv), migrated
// and seeded. `vaxbook dev`, `vaxbook loadtest --dev` and the tests that
// need the real system run it; no deployment does.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/vaxbook/vaxbook/admin"
	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/cachefill"
	"github.com/vaxbook/vaxbook/frontend"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/closing"
	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/devenv"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/invite"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/seed"
	"github.com/vaxbook/vaxbook/internal/serve"
	"github.com/vaxbook/vaxbook/internal/telemetry"
	"github.com/vaxbook/vaxbook/migrations"
	"github.com/vaxbook/vaxbook/worker"
)

// Config is what `vaxbook dev` reads: the roles' own settings, with the
// stores optional. Load it through Lookup, which supplies the defaults a
// deployment has to state but a laptop may assume.
type Config struct {
	config.Serving
	API       api.Config
	CacheFill cachefill.Config
	// PubSub.EmulatorHost, when set, replaces the in-process pstest server
	// (an emulator of the developer's, or a test's own pstest).
	PubSub pubsub.Config
	// E-mail always goes to the local outbox at /dev/mail; PUBLIC_BASE_URL
	// defaults to the stack's own address.
	Email worker.EmailConfig
	// SMSTopic is where SMS are asked for; they land in the same outbox.
	SMSTopic string `env:"SMS_TOPIC, default=sms-topic"`
	// The invitation loop, asking for its e-mails on Email.Topic.
	Invite invite.Config
	// Empty: found or started by internal/devenv.
	DatabaseURL string `env:"DATABASE_URL" json:"-"`
	RedisURL    string `env:"REDIS_URL" json:"-"`
	// ListenAddr is the interface dev listens on: loopback unless a
	// developer opens it deliberately (DEV_LISTEN_ADDR=0.0.0.0), because
	// dev serves /dev/mail (everyone's messages) and /push/* without
	// Pub/Sub's token, which nobody else on the network should reach.
	ListenAddr string `env:"DEV_LISTEN_ADDR, default=127.0.0.1"`

	// APIOnly (not read from the environment) runs the API and the
	// cache-fill loop alone, as one Cloud Run api instance does: the topic
	// exists but nothing subscribes, so nothing drains it on the same cores.
	APIOnly bool
	// NoInviteLoop (not read from the environment) leaves the invitation
	// loop out, for a caller that runs the rounds itself (`vaxbook loadtest
	// register` times each one); a loop here would hold the lease.
	NoInviteLoop bool
}

// defaults are dev's answers where a deployment must say.
var defaults = map[string]string{
	"GOOGLE_CLOUD_PROJECT": "vaxbook-dev",
	// Metrics on the dev port's /metrics, in Prometheus's text format.
	"TELEMETRY_EXPORTER": "prometheus",
	"EMAIL_TOPIC":        "email-topic",
	"EMAIL_FROM":         "vaxbook dev <no-reply@vaxbook.localhost>",
	// Short, so a round follows a registration while one watches.
	"INVITE_INTERVAL": "5s",
	// A fixed key, so links in /dev/mail survive a restart; never deployed
	// (deploy/ takes the secret from Secret Manager).
	"INVITATION_SECRET": "vaxbook-dev-invitation-secret-not-for-production",
	// The worker here hashes ID numbers with pii.Dev; the API checks
	// invitation tokens against the same hashes.
	"ID_PEPPER": pii.DevPepper,
	// Cloud Run's most per instance: the page, the API, the worker's
	// pushes and a developer's load test share this one process, and a
	// load test against a laptop should find where it bends before the
	// cap a deployed instance sheds at (deploy/api.yaml's 250) trims it.
	"API_MAX_IN_FLIGHT": "1000",
	// The abuse limits are on, as deployed, so the page and its headers
	// are tried with them; the key is fixed and public because a laptop's
	// counters hide nothing. On a laptop every client is one address and
	// a tester books many people with one mailbox, so the limits and caps
	// are wide enough never to stand in a test's way: deploy/api.yaml sets
	// the real ones. Load tests from one host turn RATE_LIMIT off.
	"RATE_LIMIT":              "on",
	"RATE_LIMIT_KEY":          "vaxbook-dev-rate-limit-key-not-secret",
	"RATE_LIMIT_SUBMIT":       "100000/m:10000",
	"RATE_LIMIT_REGISTER":     "100000/m:10000",
	"RATE_LIMIT_STATUS":       "1000000/m:100000",
	"RATE_LIMIT_REGISTRATION": "1000000/m:100000",
	"CONTACT_CAP_EMAIL":       "0",
	"CONTACT_CAP_PHONE":       "0",
	// Contact proof stays off unless CONTACT_PROOF=on is given (the
	// contract's plain bodies must book on a laptop); when it is on, the
	// codes arrive in /dev/mail, signed with this fixed, public key.
	"CONTACT_PROOF_SECRET": "vaxbook-dev-contact-proof-secret-not-for-production",
	"RATE_LIMIT_PROOF":     "100000/m:10000",
	// Manage links work on a laptop, signed with this fixed, public key.
	"MANAGE_SECRET":     "vaxbook-dev-manage-secret-not-for-production",
	"RATE_LIMIT_MANAGE": "1000000/m:100000",
	"RATE_LIMIT_RESEND": "100000/m:10000",
	"CONTACT_CAP_PROOF": "0",
}

// Lookup is getenv with dev's defaults for what getenv leaves unset.
func Lookup(getenv func(string) string) func(string) string {
	return config.WithDefaults(getenv, defaults)
}

// relaySubscription is the pull subscription that stands in for the push
// subscription pstest cannot deliver.
const relaySubscription = "appointments-dev-relay"

// registrationsRelaySubscription stands in for registrations-topic's push
// subscription in the same way.
const registrationsRelaySubscription = "registrations-dev-relay"

// manageRelaySubscription stands in for manage-topic's push subscription.
const manageRelaySubscription = "manage-dev-relay"

// Stack is a running whole system.
type Stack struct {
	url, dbURL, psHost string
	redisURL           string
	addr               string

	done chan struct{}
	err  error // set before done closes
}

// Start checks cfg, finds or starts what is missing, migrates, loads the
// demo data into an empty database, listens, and serves in the background
// until ctx ends; Wait then returns once everything has stopped.
func Start(ctx context.Context, log *slog.Logger, cfg Config) (_ *Stack, err error) {
	if err := cfg.CacheFill.Check(); err != nil {
		return nil, err
	}
	host, err := listenHost(cfg.ListenAddr)
	if err != nil {
		return nil, err
	}
	opts, err := cfg.API.Options(cfg.PubSub.Project)
	if err != nil {
		return nil, err
	}
	signer, err := cfg.Invite.Check()
	if err != nil {
		return nil, err
	}
	// Released last first, once serving has drained, or at once on failure.
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()

	// A caller's own telemetry (a test's in-memory readers) wins over
	// TELEMETRY_EXPORTER; either way every role below finds it in ctx.
	tel := telemetry.From(ctx)
	if tel == nil {
		if tel, err = telemetry.New(ctx, cfg.Telemetry, "dev", "dev"); err != nil {
			return nil, err
		}
		closers = append(closers, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = tel.Shutdown(sctx)
		})
		ctx = telemetry.NewContext(ctx, tel)
	}

	dbURL, err := given(ctx, log, cfg.DatabaseURL, "postgres: DATABASE_URL", devenv.Postgres, &closers)
	if err != nil {
		return nil, err
	}
	redisURL, err := given(ctx, log, cfg.RedisURL, "redis: REDIS_URL", devenv.Redis, &closers)
	if err != nil {
		return nil, err
	}

	if err := migrations.Up(dbURL); err != nil {
		return nil, err
	}
	pool, err := postgres.Open(ctx, postgres.Config{URL: dbURL, MaxConns: 16})
	if err != nil {
		return nil, err
	}
	closers = append(closers, pool.Close)
	if err := seedDemoIfEmpty(ctx, pool, log.Info); err != nil {
		return nil, err
	}
	rdb, err := redis.Open(ctx, redisURL)
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { _ = rdb.Close() })
	if opts.Abuse.Store, err = cfg.API.AbuseStore(rdb); err != nil {
		return nil, err
	}

	psHost, psHow := cfg.PubSub.EmulatorHost, "emulator at PUBSUB_EMULATOR_HOST"
	if psHost == "" {
		pss := pstest.NewServer()
		closers = append(closers, func() { _ = pss.Close() })
		psHost, psHow = pss.Addr, "in-process pstest server"
	}
	psc, err := pubsub.NewClient(ctx, cfg.PubSub.Project, psHost)
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { _ = psc.Close() })
	topic := cfg.PubSub.Topic
	if err := pubsub.EnsureTopic(ctx, psc, topic); err != nil {
		return nil, err
	}
	pub := pubsub.NewPublisher(psc, topic)
	closers = append(closers, pub.Stop)
	regTopic := cfg.API.RegistrationsTopic
	if err := pubsub.EnsureTopic(ctx, psc, regTopic); err != nil {
		return nil, err
	}
	regPub := pubsub.NewRegistrationPublisher(psc, regTopic)
	closers = append(closers, regPub.Stop)
	manageTopic := cfg.API.ManageTopic
	if opts.Manage.Signer != nil {
		if err := pubsub.EnsureTopic(ctx, psc, manageTopic); err != nil {
			return nil, err
		}
		managePub := pubsub.NewManagePublisher(psc, manageTopic)
		closers = append(closers, managePub.Stop)
		opts.Manage.Publisher = managePub
	}

	if opts.Proof.On() {
		// Before the API: its code e-mails go on email-topic, which the
		// mail relay below delivers to /push/email and the outbox.
		if err := pubsub.EnsureTopic(ctx, psc, cfg.API.Proof.EmailTopic); err != nil {
			return nil, err
		}
		codes := pubsub.NewRequestPublisher[email.Request](psc, cfg.API.Proof.EmailTopic)
		closers = append(closers, codes.Stop)
		opts.Proof.Mail, opts.Proof.Tries = codes, redis.NewProofTries(rdb)
		log.Info("contact proof on: bookings and registrations need the code /dev/mail shows")
	}

	listings := redis.NewListings(rdb)
	statuses := redis.NewStatuses(rdb, cfg.API.StatusTTL)
	registrations := redis.NewRegistrations(rdb, cfg.API.StatusTTL)
	opts.Queue = api.Queue{Publisher: regPub, Records: registrations}
	apiHandler := api.NewServer(log, listings, pub, statuses, opts)
	ln, err := listen(log, host, cfg.Port)
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { _ = ln.Close() })
	base := "http://" + loopback(ln.Addr())
	loop := cachefill.New(log, pool, listings.GuardingStatuses(), statuses, cfg.CacheFill)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return loop.Run(gctx) })

	if cfg.APIOnly {
		log.Info("pubsub: "+psHow+", nothing subscribed", "topic", topic)
		g.Go(func() error { return serve.Serve(gctx, log, ln, apiHandler) })
	} else {
		subName, err := pubsub.EnsurePullSubscription(ctx, psc, topic, relaySubscription, 60*time.Second)
		if err != nil {
			return nil, err
		}
		regSubName, err := pubsub.EnsurePullSubscription(ctx, psc, regTopic, registrationsRelaySubscription, 60*time.Second)
		if err != nil {
			return nil, err
		}
		var manageSubName string
		if opts.Manage.Signer != nil {
			if manageSubName, err = pubsub.EnsurePullSubscription(ctx, psc, manageTopic, manageRelaySubscription, 60*time.Second); err != nil {
				return nil, err
			}
		}
		log.Info("pubsub: "+psHow+" with push relays", "topics", []string{topic, regTopic})
		mail, err := newDevMail(ctx, psc, cfg.Email.Topic, cfg.SMSTopic)
		if err != nil {
			return nil, err
		}
		closers = append(closers, mail.stop)
		if !cfg.NoInviteLoop {
			inviter := invite.New(log, pool, redis.NewRegistrations(rdb, cfg.Invite.RecordTTL), mail.requests(), signer, cfg.Invite)
			g.Go(func() error { return inviter.Run(gctx) })
		}

		// One pepper for the worker's hashes and the API's token checks.
		ids := opts.Invitations.IDs
		if ids == nil {
			ids = pii.Dev()
		}
		mux := http.NewServeMux()
		books := postgres.NewBookings(pool, ids)
		if s := opts.Manage.Signer; s != nil {
			books = books.WithManage(s)
			mux.Handle("POST "+worker.ManagePushPath, worker.Counted(worker.HandleManage(log, books, statuses, mail.requests(), s)))
			g.Go(func() error {
				return pubsub.Relay(gctx, log, psc, manageSubName, base+worker.ManagePushPath, pubsub.NewRelayClient())
			})
		}
		mux.Handle("POST "+worker.PushPath, worker.Counted(worker.HandlePush(log, books, statuses, worker.WithEmailRequests(mail.requests()), worker.WithRegistrations(registrations))))
		mux.Handle("POST "+worker.RegistrationsPushPath, worker.Counted(worker.HandleRegistrations(log, postgres.NewRegistrar(pool, ids), registrations)))
		if tel != nil && tel.MetricsHandler != nil {
			mux.Handle("GET /metrics", tel.MetricsHandler)
		}
		if err := mail.mount(mux, log, pool, cfg.Email, base); err != nil {
			return nil, err
		}
		if err := mountAdmin(ctx, log, mux, pool, ids, mail.requests(), statuses, opts.Manage.Signer); err != nil {
			return nil, err
		}
		closer := closing.Closer{Store: postgres.NewAdmin(pool), Statuses: statuses, Mail: mail.requests()}
		g.Go(func() error { return closer.Every(gctx, log, devClosingsEvery) })
		if err := mountPage(mux); err != nil {
			return nil, err
		}
		// The API answers everything else, its own 404s included, so its
		// routes are listed in one place: api/routes.go.
		mux.Handle("/", apiHandler)
		log.Info("vaxbook dev is up", "url", base+"/", "outbox", base+"/dev/mail")

		g.Go(func() error {
			return pubsub.Relay(gctx, log, psc, subName, base+worker.PushPath, pubsub.NewRelayClient())
		})
		g.Go(func() error {
			return pubsub.Relay(gctx, log, psc, regSubName, base+worker.RegistrationsPushPath, pubsub.NewRelayClient())
		})
		g.Go(func() error { return mail.relay(gctx, log, psc, base) })
		g.Go(func() error { return serve.Serve(gctx, log, ln, mux) })
	}

	s := &Stack{url: base, dbURL: dbURL, redisURL: redisURL, psHost: psHost, addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		s.err = g.Wait()
		closeAll()
		close(s.done)
	}()
	return s, nil
}

// given returns url, or when it is empty what find finds or starts, whose
// cleanup joins closers; either way it logs which.
func given(ctx context.Context, log *slog.Logger, url, setting string, find func(context.Context) (string, string, func(), error), closers *[]func()) (string, error) {
	if url != "" {
		log.Info(setting)
		return url, nil
	}
	// Detached: the server must outlive the HTTP drain; its cleanup runs
	// last.
	url, how, cleanup, err := find(context.WithoutCancel(ctx))
	if err != nil {
		return "", err
	}
	*closers = append(*closers, cleanup)
	log.Info(how)
	return url, nil
}

// mountPage serves the booking page at / and its files by name.
func mountPage(mux *http.ServeMux) error {
	files, err := fs.ReadDir(frontend.Files, ".")
	if err != nil {
		return fmt.Errorf("booking page: %w", err)
	}
	page := frontend.Handler()
	mux.Handle("/{$}", page)
	for _, f := range files {
		mux.Handle("/"+f.Name(), page)
	}
	return nil
}

// Wait returns once the stack has stopped and released everything, with
// the error that stopped it (nil when its context ended).
func (s *Stack) Wait() error {
	<-s.done
	return s.err
}

// WaitReady waits until /readyz answers 200, which it does once the first
// cache fill is in Redis.
func (s *Stack) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("vaxbook dev stopped: %w", s.err)
		default:
		}
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.New("vaxbook dev was not ready within " + timeout.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// URL is the stack's own base address, http://127.0.0.1:PORT.
func (s *Stack) URL() string { return s.url }

// Addr is the address the stack listens on.
func (s *Stack) Addr() string { return s.addr }

// DatabaseURL is the database the stack books into, found or given.
func (s *Stack) DatabaseURL() string { return s.dbURL }

// RedisURL is the Redis the stack keeps its records in, found or given.
func (s *Stack) RedisURL() string { return s.redisURL }

// PubSubHost is the Pub/Sub server the API publishes to.
func (s *Stack) PubSubHost() string { return s.psHost }

// DemoQueueState is the demo state `vaxbook dev` puts in queue mode, opened
// an hour before the demo data was loaded, so that the registration queue
// can be tried at once: register there, and INVITE_INTERVAL later the
// invitation is in /dev/mail. Putrajaya, because tests and load runs book
// first come, first served in the big states.
const DemoQueueState = "putrajaya"

// seedDemoIfEmpty loads the demo centres into a database with no slots, so
// a first `vaxbook dev` shows something to book, and something to register
// for (DemoQueueState).
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
	opens := postgres.OpensAtChange{Change: true, At: time.Now().Add(-time.Hour).Truncate(time.Minute)}
	if _, err := postgres.SetStateMode(ctx, pool, DemoQueueState, queue.ModeQueue, opens); err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	info("empty database: loaded the demo data", "states", res.States, "centres", res.Centers, "slots", res.Slots,
		"queue_state", DemoQueueState)
	return nil
}

// listenHost checks DEV_LISTEN_ADDR; empty is loopback.
func listenHost(addr string) (string, error) {
	if addr == "" {
		return "127.0.0.1", nil
	}
	if _, _, err := net.SplitHostPort(addr); err == nil || strings.ContainsAny(addr, "/ []") {
		return "", fmt.Errorf("configuration: DEV_LISTEN_ADDR: want an interface address such as 127.0.0.1 or 0.0.0.0, without a port (PORT sets it), got %q", addr)
	}
	return addr, nil
}

// listen opens dev's port on host, and says so when that is reachable from
// other machines.
func listen(log *slog.Logger, host, port string) (net.Listener, error) {
	ln, err := serve.ListenOn(host, port)
	if err != nil {
		return nil, err
	}
	if ip, ok := ln.Addr().(*net.TCPAddr); ok && !ip.IP.IsLoopback() {
		log.Warn("vaxbook dev is reachable from the network: /dev/mail and /push/* have no authentication", "addr", ln.Addr().String())
	}
	return ln, nil
}

// loopback turns a listener's address into one a local client can dial:
// the address itself, or 127.0.0.1 for every interface.
func loopback(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// DevStaff is the staff member `vaxbook dev` signs in with the stand-in:
// administrator of every state, added when the staff list is empty.
const DevStaff = "admin@vaxbook.localhost"

// devClosingsEvery is how often `vaxbook dev` finishes the closings that
// are due, as the scheduled `vaxbook closings` job does in production.
const devClosingsEvery = 5 * time.Second

// mountAdmin serves the admin role at /admin with the dev sign-in
// stand-in (an address taken at its word; the staff list still applies).
func mountAdmin(ctx context.Context, log *slog.Logger, mux *http.ServeMux, pool *pgxpool.Pool, ids *pii.Pepper, mail admin.Mailer, statuses admin.Statuses, manage *booking.ManageSigner) error {
	var empty bool
	if err := pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM staff)`).Scan(&empty); err != nil {
		return fmt.Errorf("dev staff: %w", err)
	}
	if empty {
		var states []string
		if err := pool.QueryRow(ctx, `SELECT COALESCE(array_agg(code ORDER BY code), '{}') FROM states`).Scan(&states); err != nil {
			return fmt.Errorf("dev staff: %w", err)
		}
		if len(states) > 0 {
			s := postgres.Staff{Email: DevStaff, Role: postgres.RoleStateAdmin, States: states}
			if err := postgres.SetStaff(ctx, pool, "vaxbook dev", s); err != nil {
				return err
			}
		}
	}
	mux.Handle(admin.Prefix+"/", admin.NewServer(log, admin.Options{
		Store: postgres.NewAdmin(pool), Verifier: admin.DevSignIn{}, IDs: ids, Mail: mail, Statuses: statuses, Manage: manage, Dev: true,
	}))
	log.Info("staff pages at /admin/ (dev sign-in: " + DevStaff + ")")
	return nil
}
