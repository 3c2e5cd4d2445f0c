package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/vaxbook/vaxbook/migrations"
)

const (
	envDatabaseURL     = "TEST_DATABASE_URL"
	defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	// The same major version as the machines' Debian PostgreSQL, so a test
	// does not pass in a container and fail on the local server.
	postgresImage = "postgres:15-alpine"

	// templateLockKey serialises template creation across every test
	// process sharing a server; its value only has to be unlikely to clash
	// with another application's advisory locks.
	templateLockKey int64 = 0x7661_7862_746d_706c // "vaxbtmpl"

	templatePrefix = "vaxbook_tpl_"
	testDBPrefix   = "vaxbook_test_"
	// abandonedAfter is far longer than any test run (go test's timeout in
	// .ci/test is 30 minutes), so only a dead process's databases are
	// that old.
	abandonedAfter = 6 * time.Hour
)

// SQLSTATEs this package reacts to.
const (
	codeDuplicateDatabase = "42P04"
	codeObjectInUse       = "55006"
)

// pgState is the process's PostgreSQL server and template, found and built
// once however many tests ask.
var pgState pgEnv

type pgEnv struct {
	serverOnce sync.Once
	adminURL   string
	admin      *pgxpool.Pool
	serverErr  error

	templateOnce sync.Once
	template     string
	templateErr  error
}

// DatabaseURL returns the URL of a fresh database for this test alone, a
// clone of a template database that holds the migrated schema. Cloning takes
// milliseconds where migrating takes seconds, which is what makes a database
// per parallel test affordable. The database is dropped when the test ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	admin, adminURL, err := pgState.server()
	if err != nil {
		t.Fatal(err)
	}
	template, err := pgState.templateDB()
	if err != nil {
		t.Fatalf("testenv: prepare the template database: %v", err)
	}

	// The creation time in the name lets a later process recognise, and
	// drop, databases left behind by a test process that was killed.
	name := fmt.Sprintf("%s%d_%s", testDBPrefix, time.Now().Unix(), randomHex(6))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cloneDatabase(ctx, admin, template, name); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE because a test may leave connections open (a leaked pool,
		// a goroutine still running); the database must go regardless.
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop test database %s: %v", name, err)
		}
	})
	u, err := withDatabase(adminURL, name)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return u
}

// NewPool returns a connection pool on a fresh database of this test's own
// (see DatabaseURL), closed when the test ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	_, pool := NewDatabase(t)
	return pool
}

// NewDatabase is NewPool that also gives the database's URL, for a test
// that seeds or reads the database a process under test is given.
func NewDatabase(t testing.TB) (string, *pgxpool.Pool) {
	t.Helper()
	dbURL := DatabaseURL(t)
	return dbURL, OpenPool(t, dbURL)
}

// OpenPool opens a pool on dbURL (a test database's), closed when the test
// ends: a second pool is what a second process under test would hold.
func OpenPool(t testing.TB, dbURL string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("testenv: open pool on test database: %v", err)
	}
	// Registered after DatabaseURL's drop, so it runs before it.
	t.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("testenv: ping test database: %v", err)
	}
	return pool
}

func cloneDatabase(ctx context.Context, admin *pgxpool.Pool, template, name string) error {
	stmt := "CREATE DATABASE " + ident(name) + " TEMPLATE " + ident(template)
	for attempt := 1; ; attempt++ {
		_, err := admin.Exec(ctx, stmt)
		if err == nil {
			return nil
		}
		// A backend that just finished migrating the template may take a
		// moment to exit; PostgreSQL's own 5 s wait is usually enough, but a
		// loaded CI machine is allowed a few more tries.
		if sqlState(err) != codeObjectInUse || attempt == 5 {
			return fmt.Errorf("create test database %s from template %s: %w", name, template, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create test database %s from template %s: %w", name, template, ctx.Err())
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

func (e *pgEnv) server() (*pgxpool.Pool, string, error) {
	e.serverOnce.Do(func() {
		e.adminURL, e.admin, e.serverErr = discoverPostgres()
		if e.serverErr == nil {
			dropAbandoned(e.admin, time.Now().Add(-abandonedAfter))
		}
	})
	return e.admin, e.adminURL, e.serverErr
}

func (e *pgEnv) templateDB() (string, error) {
	e.templateOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		// Named after the schema: unchanged migrations share one template
		// across every test process; changed ones get a fresh one.
		e.template = templatePrefix + migrations.Hash()[:16]
		e.templateErr = ensureTemplate(ctx, e.admin, e.adminURL, e.template)
	})
	return e.template, e.templateErr
}

func (e *pgEnv) close() {
	if e.admin == nil {
		return
	}
	e.admin.Close()
}

// dropAbandoned removes test databases created before cutoff. Best effort:
// a leftover costs disk space, not correctness.
func dropAbandoned(admin *pgxpool.Pool, cutoff time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, testDBPrefix)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		stamp, _, ok := strings.Cut(strings.TrimPrefix(name, testDBPrefix), "_")
		if !ok {
			continue
		}
		sec, err := strconv.ParseInt(stamp, 10, 64)
		if err != nil || !time.Unix(sec, 0).Before(cutoff) {
			continue
		}
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)")
	}
}

// discoverPostgres finds the server tests use and returns its admin URL (a
// database on it where CREATE DATABASE may run) with a small pool on it.
func discoverPostgres() (string, *pgxpool.Pool, error) {
	return discover("PostgreSQL", envDatabaseURL, defaultDatabaseURL, startPostgresContainer, openAdmin)
}

func startPostgresContainer(ctx context.Context) (string, error) {
	ctr, err := tcpostgres.Run(ctx, postgresImage,
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword("postgres"),
		tcpostgres.WithDatabase("postgres"),
		tcpostgres.BasicWaitStrategies(),
	)
	return containerURL(ctr, err, postgresImage, func() (string, error) { return ctr.ConnectionString(ctx, "sslmode=disable") })
}

func openAdmin(ctx context.Context, dbURL string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("parse URL: %w", err)
	}
	// CREATE/DROP DATABASE are quick and rare; a few connections serve any
	// number of parallel tests without crowding max_connections.
	cfg.MaxConns = 4
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return pool, nil
}

// ensureTemplate makes sure a fully migrated template database called name
// exists. Test processes of several packages run at once and share the
// server, so they take turns under an advisory lock; a template is marked
// complete (IS_TEMPLATE) only after migrating, so a half-built one left by a
// killed process is recognised and rebuilt.
func ensureTemplate(ctx context.Context, admin *pgxpool.Pool, adminURL, name string) (err error) {
	conn, err := admin.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire admin connection: %w", err)
	}
	defer conn.Release()
	// Session-level lock: it belongs to this one connection, which must
	// therefore be the one that unlocks it.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return fmt.Errorf("lock template creation: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", templateLockKey); uerr != nil {
			// A connection still holding the lock must not go back to the pool.
			_ = conn.Conn().Close(uctx)
			if err == nil {
				err = fmt.Errorf("unlock template creation: %w", uerr)
			}
		}
	}()

	var complete bool
	err = conn.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&complete)
	switch {
	case err == nil && complete:
		return nil
	case err == nil:
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident(name)+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop half-built template %s: %w", name, err)
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("look up template %s: %w", name, err)
	}

	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(name)); err != nil && sqlState(err) != codeDuplicateDatabase {
		return fmt.Errorf("create template %s: %w", name, err)
	}
	tplURL, err := withDatabase(adminURL, name)
	if err != nil {
		return err
	}
	if err := migrations.Up(tplURL); err != nil {
		return fmt.Errorf("migrate template %s: %w", name, err)
	}
	// ALLOW_CONNECTIONS false keeps stray sessions out: CREATE DATABASE ...
	// TEMPLATE fails while anyone is connected to the template.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("mark template %s complete: %w", name, err)
	}
	return nil
}

func withDatabase(serverURL, name string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
