package devenv

import (
	"context"
	"errors"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// The binary paths are what a laptop without Docker or a running server
// gets; they are forced here because this machine has local servers.
var forceBinaries = options{noDocker: true, noLocal: true}

// finder is postgresWith or redisWith.
type finder = func(context.Context, options) (string, string, func(), error)

func TestPostgres_StartsThrowawayServerFromLocalBinaries(t *testing.T) {
	t.Parallel()
	dbURL, how, cleanup := startThrowaway(t, t.Context(), postgresWith)
	usePostgresThenClean(t, dbURL, how, cleanup)
}

// usePostgresThenClean checks that the started server's database is
// vaxbook_dev and takes a table, and that cleanup stops the server and
// removes its data directory, and may be called again.
func usePostgresThenClean(t *testing.T, dbURL, how string, cleanup func()) {
	t.Helper()
	ctx := t.Context()
	dir := dataDir(t, how)
	addr := hostOf(t, dbURL)

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		cleanup()
		t.Fatalf("connect to %s: %v", dbURL, err)
	}
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Errorf("query: %v", err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
		t.Errorf("create table: %v", err)
	}
	_ = conn.Close(ctx)
	if db != devDatabase {
		t.Errorf("current_database() = %q, want %q", db, devDatabase)
	}

	cleanup()
	if listening(addr) {
		t.Errorf("after cleanup: something still listens on %s", addr)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after cleanup: %s still there (stat: %v)", dir, err)
	}
	cleanup() // a second call must be harmless
}

func TestThrowawayServerStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	for name, with := range map[string]finder{"postgres": postgresWith, "redis": redisWith} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			u, _, cleanup := startThrowaway(t, ctx, with)
			defer cleanup()

			cancel()
			waitNotListening(t, hostOf(t, u))
		})
	}
}

func TestPostgres_UsesLocalServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dbURL, err := localPostgresDB(ctx, localPostgres)
	if err != nil {
		t.Fatalf("localPostgresDB(%s): %v (bash .ci/test starts that server)", localPostgres, err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect to %s: %v", dbURL, err)
	}
	defer conn.Close(ctx)
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatalf("query: %v", err)
	}
	if db != devDatabase {
		t.Errorf("current_database() = %q, want %q", db, devDatabase)
	}
}

func TestRedis_StartsThrowawayServerFromLocalBinary(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	u, _, cleanup := startThrowaway(t, ctx, redisWith)
	addr := hostOf(t, u)

	opts, err := redis.ParseURL(u)
	if err != nil {
		cleanup()
		t.Fatalf("parse %s: %v", u, err)
	}
	c := redis.NewClient(opts)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Errorf("SET: %v", err)
	}
	_ = c.Close()

	cleanup()
	if listening(addr) {
		t.Errorf("after cleanup: something still listens on %s", addr)
	}
	cleanup()
}

func TestRedis_UsesLocalServer(t *testing.T) {
	t.Parallel()
	u, how, cleanup, err := redisWith(t.Context(), options{noDocker: true})
	defer cleanup()
	if err != nil {
		t.Fatalf("redisWith: %v", err)
	}
	if want := "redis://" + localRedis + "/0"; u != want || !strings.Contains(how, "local server") {
		t.Errorf("redisWith = %q, %q; want %q from the local server (bash .ci/test starts it)", u, how, want)
	}
}

func TestNothingFoundSaysWhatToInstall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		with     finder
		notFound string // what the search for local binaries reports
		want     []string
	}{
		{"postgres", postgresWith, "initdb not found", []string{"no PostgreSQL found", "install Docker", "apt-get install postgresql", "DATABASE_URL", "initdb not found"}},
		{"redis", redisWith, "redis-server not found", []string{"no Redis found", "install Docker", "apt-get install redis-server", "REDIS_URL", "redis-server not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := forceBinaries
			o.noEmbedded = true
			o.findBinaries = func() (string, error) { return "", errors.New(tt.notFound) }
			_, _, cleanup, err := tt.with(t.Context(), o)
			cleanup()
			if err == nil {
				t.Fatal("with nothing available: got nil error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q: want it to mention %q", err, want)
				}
			}
		})
	}
}

func TestFindPostgresBinaries_PrefersNewestVersion(t *testing.T) {
	tests := []struct {
		path string
		want int
	}{
		{"/usr/lib/postgresql/15/bin", 15},
		{"/opt/homebrew/opt/postgresql@16/bin", 16},
		{"/usr/local/bin", 0},
	}
	for _, tt := range tests {
		if got := versionOf(tt.path); got != tt.want {
			t.Errorf("versionOf(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}
}

// startThrowaway starts a server as with does when only local binaries are
// left, and returns its URL, the line saying how, and its cleanup.
func startThrowaway(t *testing.T, ctx context.Context, with finder) (u, how string, cleanup func()) {
	t.Helper()
	u, how, cleanup, err := with(ctx, forceBinaries)
	if err != nil {
		t.Fatalf("throwaway server: %v", err)
	}
	t.Logf("%s", how)
	return u, how, cleanup
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u.Host
}

var dataDirRE = regexp.MustCompile(`data in (\S+) `)

func dataDir(t *testing.T, how string) string {
	t.Helper()
	m := dataDirRE.FindStringSubmatch(how)
	if m == nil {
		t.Fatalf("how %q: names no data directory", how)
	}
	return m[1]
}

func waitNotListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(stopGrace + 5*time.Second)
	for listening(addr) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still listening %s after its context ended", addr, stopGrace+5*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The exported functions as `vaxbook dev` calls them: whichever way they
// choose on this machine, the result must answer.
func TestPostgresAndRedis_DefaultChoiceAnswers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	dbURL, how, cleanup, err := Postgres(ctx)
	if err != nil {
		t.Fatalf("Postgres: %v", err)
	}
	defer cleanup()
	t.Logf("%s", how)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect to %s (%s): %v", dbURL, how, err)
	}
	_ = conn.Close(ctx)

	redisURL, how, cleanup, err := Redis(ctx)
	if err != nil {
		t.Fatalf("Redis: %v", err)
	}
	defer cleanup()
	t.Logf("%s", how)
	if err := pingRedis(ctx, redisURL); err != nil {
		t.Fatalf("ping %s (%s): %v", redisURL, how, err)
	}
}
