package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/devenv"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/seed"
	"github.com/vaxbook/vaxbook/migrations"
)

// project is the local Pub/Sub's project, the same in every process.
const project = "vaxbook-chaos"

// system is vaxbook as separate processes on one machine, over a
// PostgreSQL and a Redis of its own, each on a port it keeps across
// restarts so a killed process comes back where its clients look for it.
type system struct {
	dir   string
	exe   string // this binary, which runs every role
	ports map[string]int

	pg, redis, pubsub, worker, cachefill, cachefill2, api *proc
	pool                                                  *pgxpool.Pool
}

func (s *system) addr(name string) string { return "127.0.0.1:" + strconv.Itoa(s.ports[name]) }
func (s *system) url(name string) string  { return "http://" + s.addr(name) }

func (s *system) dbURL() string {
	return "postgres://postgres@" + s.addr("postgres") + "/vaxbook?sslmode=disable"
}
func (s *system) redisURL() string { return "redis://" + s.addr("redis") + "/0" }

// startSystem initialises PostgreSQL in a new directory under dir's parent,
// migrates and seeds it with rows, then starts Redis, the worker, the
// local Pub/Sub, the cache-fill loop and the API, each ready before the
// next. stop ends them all and removes the directory.
func startSystem(ctx context.Context, exe string, rows []seed.Row, cfInterval time.Duration, publishFault time.Duration, out io.Writer) (*system, error) {
	dir, err := os.MkdirTemp("", "vaxbook-chaos-")
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	s := &system{dir: dir, exe: exe, ports: map[string]int{}}
	ok := false
	defer func() {
		if !ok {
			s.stop()
		}
	}()
	for _, name := range []string{"postgres", "redis", "pubsub", "worker", "cachefill", "cachefill2", "api"} {
		if s.ports[name], err = devenv.FreePort(); err != nil {
			return nil, err
		}
	}
	if err := s.initPostgres(ctx); err != nil {
		return nil, err
	}
	if err := s.pg.start(ctx); err != nil {
		return nil, err
	}
	if err := createDatabase(ctx, s.addr("postgres")); err != nil {
		return nil, err
	}
	if err := migrations.Up(s.dbURL()); err != nil {
		return nil, err
	}
	if s.pool, err = postgres.Open(ctx, postgres.Config{URL: s.dbURL(), MaxConns: 4}); err != nil {
		return nil, err
	}
	if _, err := seed.Load(ctx, s.pool, rows); err != nil {
		return nil, fmt.Errorf("chaos: seed: %w", err)
	}

	redisBin, err := devenv.RedisServer()
	if err != nil {
		return nil, err
	}
	s.redis = &proc{name: "redis", logPath: s.log("redis"), ready: pingRedis(s.redisURL()), command: func() *exec.Cmd {
		c := exec.Command(redisBin, "--port", strconv.Itoa(s.ports["redis"]), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", s.dir)
		c.SysProcAttr = devenv.ChildAttr()
		return c
	}}

	common := []string{"LOG_LEVEL=warn", "GOOGLE_CLOUD_PROJECT=" + project}
	stores := []string{"DATABASE_URL=" + s.dbURL(), "REDIS_URL=" + s.redisURL()}
	s.worker = s.role("worker", "worker", "/healthz", append(stores, "PUSH_AUTH=off")...)
	s.pubsub = s.role("pubsub", "pubsub", "", "PUSH_ENDPOINT="+s.url("worker"),
		"PUBSUB_FAULT_DURATION="+publishFault.String())
	s.pubsub.ready = topicExists(s.addr("pubsub"))
	cf := append(stores, "CACHEFILL_INTERVAL="+cfInterval.String())
	s.cachefill = s.role("cachefill", "cachefill", "/healthz", cf...)
	s.cachefill2 = s.role("cachefill2", "cachefill", "/healthz", cf...)
	s.api = s.role("api", "api", "/readyz", "REDIS_URL="+s.redisURL(), "PUBSUB_EMULATOR_HOST="+s.addr("pubsub"))
	for _, p := range []*proc{s.worker, s.pubsub, s.cachefill, s.cachefill2, s.api} {
		p.command = withEnv(p.command, common)
	}
	for _, p := range []*proc{s.redis, s.worker, s.pubsub, s.cachefill, s.api} {
		if err := p.start(ctx); err != nil {
			return nil, err
		}
	}
	// An API restarted later needs only to answer: readiness also wants
	// a fresh cache, which a Redis fault may have taken away.
	s.api.ready = httpOK(s.url("api") + "/healthz")
	ok = true
	fmt.Fprintf(out, "chaos: system up in %s: postgres %s, redis %s, pubsub %s, worker %s, cachefill %s, api %s\n",
		s.dir, s.addr("postgres"), s.addr("redis"), s.addr("pubsub"), s.addr("worker"), s.addr("cachefill"), s.addr("api"))
	return s, nil
}

func (s *system) log(name string) string { return filepath.Join(s.dir, name+".log") }

// role is `vaxbook <command>` as its own process on its port, ready when
// path answers 200.
func (s *system) role(name, command, path string, env ...string) *proc {
	p := &proc{name: name, logPath: s.log(name)}
	if path != "" {
		p.ready = httpOK(s.url(name) + path)
	}
	env = append([]string{"PORT=" + strconv.Itoa(s.ports[name])}, env...)
	p.command = func() *exec.Cmd {
		c := exec.Command(s.exe, command)
		c.Env = append(os.Environ(), env...)
		c.SysProcAttr = devenv.ChildAttr()
		return c
	}
	return p
}

func withEnv(command func() *exec.Cmd, env []string) func() *exec.Cmd {
	return func() *exec.Cmd {
		c := command()
		c.Env = append(c.Env, env...)
		return c
	}
}

// initPostgres runs initdb into the system's directory, as user postgres
// when we are root.
func (s *system) initPostgres(ctx context.Context) error {
	bin, err := devenv.PostgresBinaries()
	if err != nil {
		return err
	}
	if _, err := devenv.PostgresAttr(s.dir); err != nil {
		return err
	}
	data := filepath.Join(s.dir, "pgdata")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Dir = s.dir
	if initdb.SysProcAttr, err = devenv.PostgresAttr(s.dir); err != nil {
		return err
	}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}
	addr := s.addr("postgres")
	s.pg = &proc{name: "postgres", logPath: filepath.Join(s.dir, "postgres.log"), command: func() *exec.Cmd {
		// fsync stays on: a restart and a stop must find every commit.
		c := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(s.ports["postgres"]),
			"-k", s.dir, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100")
		c.Dir = s.dir
		c.SysProcAttr, _ = devenv.PostgresAttr(s.dir)
		return c
	}, ready: func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, "postgres://postgres@"+addr+"/postgres?sslmode=disable")
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	}}
	return nil
}

func createDatabase(ctx context.Context, addr string) error {
	conn, err := pgx.Connect(ctx, "postgres://postgres@"+addr+"/postgres?sslmode=disable")
	if err != nil {
		return fmt.Errorf("chaos: connect to postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE vaxbook"); err != nil {
		return fmt.Errorf("chaos: create database: %w", err)
	}
	return nil
}

// stop ends every process, the roles before the stores, and removes the
// directory.
func (s *system) stop() {
	if s.pool != nil {
		s.pool.Close()
	}
	for _, p := range []*proc{s.api, s.cachefill2, s.cachefill, s.pubsub, s.worker, s.redis} {
		if p != nil {
			p.stop(os.Interrupt)
		}
	}
	if s.pg != nil {
		s.pg.stop(os.Interrupt)
	}
	_ = os.RemoveAll(s.dir)
}

func pingRedis(u string) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := redis.Open(ctx, u)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

func httpOK(u string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", u, resp.StatusCode)
		}
		return nil
	}
}

// topicExists is the local Pub/Sub's readiness: its relays have created
// the appointments topic.
func topicExists(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := pubsub.NewClient(ctx, project, addr)
		if err != nil {
			return err
		}
		defer c.Close()
		exists, err := pubsub.SubscriptionExists(ctx, c, "appointments-push")
		if err == nil && !exists {
			err = errors.New("no push subscription yet")
		}
		return err
	}
}
