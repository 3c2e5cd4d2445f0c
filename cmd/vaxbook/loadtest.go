package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/tsenart/vegeta/v12/lib/plot"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/devstack"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/invite"
	"github.com/vaxbook/vaxbook/internal/loadtest"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/redis"
)

const loadtestUsage = `usage: vaxbook loadtest listppv|submit|surge|register [flags]`

// The goals the issue sets, checked by --baseline.
const (
	goalListPPV = 0.85
	goalSubmit  = 0.80
)

type loadtestFlags struct {
	scenario    string
	url         string
	dev         bool
	allowRemote bool
	rate        float64
	duration    time.Duration
	maxRequests uint64
	workers     uint64
	people      int
	cancelShare float64
	drain       time.Duration
	baseline    bool
	out, plot   string
	cpuProfile  string
	databaseURL string
	seed        uint64
	quiet       bool
	rounds      int
	apiOnly     bool
	reg         registerFlags
}

// registerFlags shape `loadtest register`: the queue state, its places and
// opening, what the invited do, and the invitation loop the run drives.
type registerFlags struct {
	state                 string
	places                int
	earlyShare, bookShare float64
	repeat, reuse         float64
	inviteTTL, roundEvery time.Duration
	roundMax              int
}

func parseLoadtestFlags(args []string, getenv func(string) string, stdout io.Writer) (loadtestFlags, error) {
	var f loadtestFlags
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return f, errors.New(loadtestUsage)
	}
	f.scenario = args[0]
	switch f.scenario {
	case "listppv", "submit", "surge", "register":
	default:
		return f, fmt.Errorf("loadtest: unknown scenario %q\n%s", f.scenario, loadtestUsage)
	}
	fs := flag.NewFlagSet("loadtest "+f.scenario, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "base URL of the system under test")
	fs.BoolVar(&f.dev, "dev", false, "start `vaxbook dev` in this process on a free loopback port and attack it (Pub/Sub baseline on the same in-process server)")
	fs.BoolVar(&f.apiOnly, "api-only", false, "with --dev: run the api role and the cache-fill loop only, as a Cloud Run api instance, with no worker draining the topic (per-instance API figures)")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow a non-loopback --url (a real deployment you are allowed to load)")
	fs.Float64Var(&f.rate, "rate", 1000, "requests (surge: people) per second, open model; 0 = as fast as --workers go")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "how long each attack runs")
	fs.Uint64Var(&f.maxRequests, "max-requests", 0, "stop each attack after this many requests (surge: people); 0 = no cap")
	fs.Uint64Var(&f.workers, "workers", 0, "at --rate 0 the fixed concurrency (default 64); otherwise the most in flight (default 1000, Cloud Run's most per instance)")
	fs.IntVar(&f.people, "people", 2000, "surge: how many people arrive")
	fs.Float64Var(&f.cancelShare, "cancel-share", 0, "surge: share of the people confirmed who then cancel through the manage link (tokens signed with $MANAGE_SECRET, dev's by default)")
	fs.DurationVar(&f.drain, "drain", 2*time.Minute, "surge: how long people follow their status after the last arrival")
	fs.BoolVar(&f.baseline, "baseline", false, "also attack the same-run ceiling (bare bytes for listppv, bare publish for submit) and report the ratio")
	fs.StringVar(&f.out, "out", "", "write the report as JSON to this file (input of `vaxbook capacity`)")
	fs.StringVar(&f.plot, "plot", "", "write an HTML latency plot to this file")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (with --dev: the system too) to this file")
	fs.StringVar(&f.databaseURL, "database-url", getenv("DATABASE_URL"), "surge: Postgres to check tallies against, read-only (default $DATABASE_URL)")
	fs.Uint64Var(&f.seed, "seed", uint64(time.Now().UnixNano()), "random seed; also keeps this run's people apart from earlier runs'")
	fs.IntVar(&f.rounds, "rounds", 1, "with --baseline: interleaved rounds of system and ceiling (ABBA), each --duration long")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress lines on stderr")
	fs.StringVar(&f.reg.state, "state", "putrajaya", "register: the state made a queue state (it must have no registrations yet)")
	fs.IntVar(&f.reg.places, "places", 0, "register: the state's free places, spread over its slots (default 2/5 of --people)")
	fs.Float64Var(&f.reg.earlyShare, "early-share", 0.5, "register: share of the people who register before opens_at (shuffled at opening)")
	fs.Float64Var(&f.reg.bookShare, "book-share", 0.7, "register: share of the invited who book; the rest let the link expire")
	fs.Float64Var(&f.reg.repeat, "repeat", 0.02, "register: share of people who register twice with a new key (must end duplicate)")
	fs.Float64Var(&f.reg.reuse, "reuse", 0.05, "register: share of bookers who try their used link again (must be refused)")
	fs.DurationVar(&f.reg.inviteTTL, "invite-ttl", 30*time.Second, "register: INVITE_TTL of the run's invitation loop, short so links expire within the run")
	fs.DurationVar(&f.reg.roundEvery, "round-every", time.Second, "register: pause between invitation rounds")
	fs.IntVar(&f.reg.roundMax, "round-max", 10_000, "register: INVITE_ROUND_MAX, the most one round invites (0: the free places)")
	if err := fs.Parse(args[1:]); err != nil {
		return f, err
	}
	if f.cancelShare < 0 || f.cancelShare > 1 {
		return f, errors.New("loadtest: --cancel-share must be between 0 and 1")
	}
	if f.duration <= 0 && f.maxRequests == 0 {
		return f, errors.New("loadtest: bound the run with --duration or --max-requests")
	}
	if f.workers == 0 {
		// Cloud Run sends one instance at most 1000 requests at once; past
		// that its front end queues, so an open-model run against one
		// instance should not hold more either (thousands of connections
		// cost the shared cores more than the requests do).
		f.workers = 1000
		if f.rate <= 0 {
			f.workers = 64
		}
	}
	if f.scenario == "register" {
		if !f.dev {
			return f, errors.New("loadtest register: needs --dev: it makes a state of the system a queue state and drives the invitation rounds itself")
		}
		if f.reg.places <= 0 {
			f.reg.places = max(1, f.people*2/5)
		}
	}
	if (f.scenario == "surge" || f.scenario == "register") && f.maxRequests > 0 {
		f.people = min(f.people, int(f.maxRequests))
	}
	if !f.dev {
		if err := checkLoopback(f.url, f.allowRemote); err != nil {
			return f, err
		}
	}
	return f, nil
}

// checkLoopback refuses a remote target unless asked: a load test is an
// attack, and the default should not be able to hit someone else's service.
func checkLoopback(raw string, allow bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("loadtest: --url must be http(s)://host[:port], got %q", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) || allow {
		return nil
	}
	return fmt.Errorf("loadtest: %s is not a loopback address; pass --allow-remote to load a deployment you are allowed to", host)
}

func runLoadtest(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	f, err := parseLoadtestFlags(args, getenv, stdout)
	if err != nil {
		return err
	}
	var progress io.Writer = os.Stderr
	if f.quiet {
		progress = nil
	}
	// The Pub/Sub names default exactly as `vaxbook dev`'s, which the
	// baseline publishes beside.
	var dc devstack.Config
	if err := config.Load(ctx, devstack.Lookup(getenv), &dc); err != nil {
		return err
	}
	env := loadtestEnv{base: strings.TrimRight(f.url, "/"), dbURL: f.databaseURL,
		psHost: dc.PubSub.EmulatorHost, project: dc.PubSub.Project, topic: dc.PubSub.Topic,
		emailTopic: dc.Email.Topic, invite: dc.Invite, manageSecret: dc.API.ManageSecret}
	if f.dev {
		// register runs the invitation loop itself, to time its rounds.
		stop, err := startDevStack(ctx, getenv, &env, f.apiOnly, f.scenario == "register", progress)
		if err != nil {
			return err
		}
		defer stop()
	}
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return fmt.Errorf("loadtest: %w", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("loadtest: start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	rep := &loadtest.Report{Scenario: f.scenario, Target: env.base, Started: time.Now().UTC(), Machine: loadtest.ThisMachine(),
		Settings: loadtest.Settings{Rate: f.rate, Duration: f.duration, MaxRequests: f.maxRequests, Workers: f.workers, Baseline: f.baseline, Dev: f.dev}}
	var pl *plot.Plot
	if f.plot != "" {
		pl = plot.New(plot.Title("vaxbook loadtest "+f.scenario), plot.Downsample(4000), plot.Label(func(r *vegeta.Result) string { return r.Attack }))
	}
	opts := loadtest.Options{Rate: f.rate, Duration: f.duration, MaxRequests: f.maxRequests, Workers: f.workers, Progress: progress, Plot: pl}
	client := loadtestClient(int(f.workers))

	switch f.scenario {
	case "listppv":
		err = loadListPPV(ctx, f, env, opts, client, rep)
	case "submit":
		err = loadSubmit(ctx, f, env, opts, client, rep)
	case "surge":
		err = loadSurge(ctx, f, env, client, pl, progress, rep)
	case "register":
		err = loadRegister(ctx, f, env, client, pl, progress, rep)
	}
	if err != nil {
		return err
	}
	rep.WriteText(stdout)
	if f.out != "" {
		if err := rep.WriteJSON(f.out); err != nil {
			return err
		}
	}
	if pl != nil {
		if err := writePlot(pl, f.plot); err != nil {
			return err
		}
	}
	if rep.Surge != nil && !rep.Surge.Clean() {
		return errors.New("loadtest: surge tallies show overbooking or loss (see above)")
	}
	if rep.Register != nil && !rep.Register.Clean() {
		return errors.New("loadtest: register tallies that must be 0 are not (see above)")
	}
	return nil
}

func writePlot(pl *plot.Plot, path string) error {
	pl.Close()
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("loadtest: plot: %w", err)
	}
	defer fh.Close()
	if _, err := pl.WriteTo(fh); err != nil {
		return fmt.Errorf("loadtest: write plot: %w", err)
	}
	return nil
}

// loadtestEnv is where the system under test and its dependencies are.
type loadtestEnv struct {
	base, dbURL            string
	psHost, project, topic string
	// For register: where the stack keeps its records and asks for its
	// e-mails, and its invitation settings (the secret above all).
	redisURL, emailTopic string
	invite               invite.Config
	// For surge's cancellations: the secret the worker signs manage links
	// with, so the run can make the token a confirmation carries.
	manageSecret string
}

// loadtestClient keeps a connection per request in flight, so the run
// measures the system and not TCP handshakes.
func loadtestClient(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 0, min(conns, 4096)
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

func loadListPPV(ctx context.Context, f loadtestFlags, env loadtestEnv, opts loadtest.Options, client *http.Client, rep *loadtest.Report) error {
	snap, err := loadtest.FetchSnapshot(ctx, client, env.base)
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	sysTargets := loadtest.ListTargeter(env.base, snap, loadtest.DefaultListMix, f.seed)
	if !f.baseline {
		rep.Phases = append(rep.Phases, loadtest.Attack(ctx, "listppv", sysTargets, opts, vegeta.MaxBody(0)))
		return nil
	}
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bareURL, stopBare, err := loadtest.ServeLoopback(bctx, loadtest.BareListHandler(snap))
	if err != nil {
		return err
	}
	defer stopBare()
	bareTargets := loadtest.ListTargeter(bareURL, snap, loadtest.DefaultListMix, f.seed)
	var sys, bare loadtest.Accumulated
	interleave(f.rounds,
		func() { sys.Attack(ctx, "listppv", sysTargets, opts, vegeta.MaxBody(0)) },
		func() { bare.Attack(ctx, "bare-bytes", bareTargets, opts, vegeta.MaxBody(0)) })
	sp, bp := sys.Phase("listppv"), bare.Phase("bare-bytes")
	rep.Phases = append(rep.Phases, sp, bp)
	rep.Ratios = append(rep.Ratios, loadtest.NewRatio("listppv / bare bytes", sp.Throughput, bp.Throughput, goalListPPV))
	if f.rate <= 0 && sp.Throughput > 0 {
		// The latency goal is at half the maximum rate just measured.
		half := opts
		half.Rate = sp.Throughput / 2
		half.Workers = 1000
		rep.Phases = append(rep.Phases, loadtest.Attack(ctx, "listppv@half", sysTargets, half, vegeta.MaxBody(0)))
	}
	return nil
}

// interleave runs rounds of the system and its ceiling in ABBA order, so a
// busy neighbour or a warming cache burdens both sides alike.
func interleave(rounds int, system, ceiling func()) {
	for i := range max(rounds, 1) {
		if i%2 == 0 {
			system()
			ceiling()
		} else {
			ceiling()
			system()
		}
	}
}

func loadSubmit(ctx context.Context, f loadtestFlags, env loadtestEnv, opts loadtest.Options, client *http.Client, rep *loadtest.Report) error {
	snap, err := loadtest.FetchSnapshot(ctx, client, env.base)
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	var db *pgxpool.Pool
	if env.dbURL != "" {
		if db, err = postgres.Open(ctx, postgres.Config{URL: env.dbURL, MaxConns: 2}); err != nil {
			return err
		}
		defer db.Close()
	}
	sysTargets := loadtest.SubmitTargeter(env.base, snap, loadtest.NewPeople(f.seed), loadtest.DefaultSubmitMix, f.seed)
	if !f.baseline {
		rep.Phases = append(rep.Phases, loadtest.Attack(ctx, "submit", sysTargets, opts))
		return nil
	}
	if env.psHost == "" {
		return errors.New("loadtest: the submit baseline publishes to the system's Pub/Sub server: use --dev, or set PUBSUB_EMULATOR_HOST (and GOOGLE_CLOUD_PROJECT, APPOINTMENTS_TOPIC) to the system's")
	}
	psc, err := pubsub.NewClient(ctx, env.project, env.psHost)
	if err != nil {
		return err
	}
	defer psc.Close()
	// The same publisher settings as the API's, to the same topic, so the
	// worker drains both sides' messages alike.
	pub := pubsub.NewPublisher(psc, env.topic)
	defer pub.Stop()
	// The same generator (other people, same mix) against a transport that
	// publishes instead of calling the API.
	bareTargets := loadtest.SubmitTargeter(env.base, snap, loadtest.NewPeople(f.seed+1), loadtest.DefaultSubmitMix, f.seed)
	bareClient := vegeta.Client(&http.Client{Transport: loadtest.PublishTransport{Pub: pub}})
	var sys, bare loadtest.Accumulated
	// Each side starts once the worker has booked what the other queued.
	interleave(f.rounds,
		func() { settle(ctx, db); sys.Attack(ctx, "submit", sysTargets, opts) },
		func() { settle(ctx, db); bare.Attack(ctx, "bare-publish", bareTargets, opts, bareClient) })
	settle(ctx, db)
	sp, bp := sys.Phase("submit"), bare.Phase("bare-publish")
	rep.Phases = append(rep.Phases, sp, bp)
	rep.Ratios = append(rep.Ratios, loadtest.NewRatio("submit / bare publish", sp.Throughput, bp.Throughput, goalSubmit))
	return nil
}

// settle waits until the worker has stopped booking (the bookings count
// holds still for a second), for at most two minutes.
func settle(ctx context.Context, db *pgxpool.Pool) {
	if db == nil {
		time.Sleep(2 * time.Second)
		return
	}
	prev, still := -1, 0
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n, err := postgres.CountBookings(ctx, db)
		if err != nil {
			return
		}
		if n == prev {
			if still++; still >= 2 {
				return
			}
		} else {
			still = 0
		}
		prev = n
		time.Sleep(500 * time.Millisecond)
	}
}

func loadSurge(ctx context.Context, f loadtestFlags, env loadtestEnv, client *http.Client, pl *plot.Plot, progress io.Writer, rep *loadtest.Report) error {
	var db *pgxpool.Pool
	if env.dbURL != "" {
		var err error
		if db, err = postgres.Open(ctx, postgres.Config{URL: env.dbURL, MaxConns: 2}); err != nil {
			return err
		}
		defer db.Close()
	}
	var manage *booking.ManageSigner
	if f.cancelShare > 0 {
		var err error
		if manage, err = booking.NewManageSigner(env.manageSecret); err != nil {
			return fmt.Errorf("loadtest surge --cancel-share: MANAGE_SECRET: %w", err)
		}
	}
	rep.Settings.People = f.people
	t, phases, err := loadtest.Surge(ctx, loadtest.SurgeOptions{
		Base: env.base, People: f.people, Rate: f.rate, Duration: f.duration, Workers: int(f.workers),
		Drain: f.drain, Mix: loadtest.DefaultSubmitMix, CancelShare: f.cancelShare, Manage: manage,
		Seed: f.seed, Client: client, DB: db, Progress: progress, Plot: pl,
	})
	rep.Phases, rep.Surge = phases, t
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	return nil
}

// startDevStack runs `vaxbook dev` inside this process on a free loopback
// port, with a Pub/Sub server of its own, so the submit baseline publishes to
// the very server the API does. It fills env with where everything is; the
// returned func stops the stack.
func startDevStack(ctx context.Context, getenv func(string) string, env *loadtestEnv, apiOnly, noInviteLoop bool, progress io.Writer) (func(), error) {
	// Only these of the caller's settings reach the stack; it is quiet
	// unless LOG_LEVEL says otherwise.
	// RATE_LIMIT off: every request comes from this one host.
	vars := map[string]string{"PORT": "0", "LOG_LEVEL": "error", "RATE_LIMIT": "off"}
	for _, k := range []string{"DATABASE_URL", "REDIS_URL", "CACHEFILL_INTERVAL", "LISTPPV_MICROCACHE_TTL", "GOOGLE_CLOUD_PROJECT", "APPOINTMENTS_TOPIC", "LOG_LEVEL", "MANAGE_SECRET"} {
		if v := getenv(k); v != "" {
			vars[k] = v
		}
	}
	if env.dbURL != "" {
		vars["DATABASE_URL"] = env.dbURL
	}
	var cfg devstack.Config
	log, err := configure(ctx, devstack.Lookup(func(k string) string { return vars[k] }), os.Stderr, &cfg)
	if err != nil {
		return nil, err
	}
	cfg.APIOnly, cfg.NoInviteLoop = apiOnly, noInviteLoop

	devCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s, err := devstack.Start(devCtx, log, cfg)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("loadtest --dev: %w", err)
	}
	stop := func() { cancel(); _ = s.Wait() }
	if err := s.WaitReady(ctx, 90*time.Second); err != nil {
		stop()
		return nil, fmt.Errorf("loadtest --dev: %w", err)
	}
	// The surge's read-only checks ask the database the stack books into.
	env.base, env.dbURL, env.psHost, env.redisURL = s.URL(), s.DatabaseURL(), s.PubSubHost(), s.RedisURL()
	if progress != nil {
		fmt.Fprintf(progress, "loadtest --dev: vaxbook dev is ready at %s\n", env.base)
	}
	return stop, nil
}

func loadRegister(ctx context.Context, f loadtestFlags, env loadtestEnv, client *http.Client, pl *plot.Plot, progress io.Writer, rep *loadtest.Report) error {
	db, err := postgres.Open(ctx, postgres.Config{URL: env.dbURL, MaxConns: 4})
	if err != nil {
		return err
	}
	defer db.Close()
	rdb, err := redis.Open(ctx, env.redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	psc, err := pubsub.NewClient(ctx, env.project, env.psHost)
	if err != nil {
		return err
	}
	defer psc.Close()
	mail := pubsub.NewRequestPublisher[email.Request](psc, env.emailTopic)
	defer mail.Stop()
	signer, err := queue.NewSigner(env.invite.Secret)
	if err != nil {
		return fmt.Errorf("loadtest register: INVITATION_SECRET: %w", err)
	}
	// The stack's own settings but a TTL short enough for links to expire
	// within the run (below the 1m a deployment may set, so not Check'ed),
	// and a long interval: a pass may take twice it before it is cut, and
	// a round of 10,000 on a busy machine must not be.
	cfg := env.invite
	cfg.TTL, cfg.RoundMax, cfg.Interval = f.reg.inviteTTL, f.reg.roundMax, 2*time.Minute
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	loop := invite.New(log, db, redis.NewRegistrations(rdb, cfg.RecordTTL), mail, signer, cfg)
	defer loop.Close()
	round := func(ctx context.Context) error {
		if err := loop.Pass(ctx); err != nil {
			return err
		}
		if _, leader, _ := loop.Healthy(); !leader {
			return errors.New("another invitation loop holds the lease: the run cannot drive the rounds")
		}
		return nil
	}

	rep.Settings.People = f.people
	t, phases, err := loadtest.Register(ctx, loadtest.RegisterOptions{
		Base: env.base, State: f.reg.state, People: f.people, Rate: f.rate, Workers: int(f.workers), Places: f.reg.places,
		EarlyShare: f.reg.earlyShare, BookShare: f.reg.bookShare, Repeat: f.reg.repeat, Reuse: f.reg.reuse,
		RoundEvery: f.reg.roundEvery, Drain: f.drain, Seed: f.seed, Round: round, Signer: signer,
		Client: client, DB: db, Progress: progress, Plot: pl,
	})
	rep.Phases, rep.Register = phases, t
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	return nil
}
