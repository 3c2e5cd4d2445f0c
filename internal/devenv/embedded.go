package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/alicebob/miniredis/v2"
	embeddedpostgres "github.com/fergusstrange/embedded-postgres"
)

// The last resorts, for a machine with no Docker and no PostgreSQL or Redis
// installed. Both are slower than the real servers and keep nothing.

// embeddedPostgresVersion is the major version the container and CI run, so
// the migrations meet the same server everywhere.
const embeddedPostgresVersion = embeddedpostgres.V15

// EmbeddedRedis starts the Redis `vaxbook dev` falls back to on a bare
// machine, so tests can run the whole stack on it.
func EmbeddedRedis(ctx context.Context) (redisURL, how string, cleanup func(), err error) {
	return embeddedRedis(ctx, options{})
}

// embeddedRedis serves Redis from miniredis inside this process. Every
// command, script and pipeline vaxbook sends works on it: the devstack and
// Redis adapter suites pass against it (embedded_test.go in devstack keeps
// the main flows on it in CI).
func embeddedRedis(ctx context.Context, _ options) (string, string, func(), error) {
	m := miniredis.NewMiniRedis()
	// Keys expire by the wall clock, as on a server; miniredis's default,
	// a clock that only tests move, would keep status marks and rate
	// limits forever.
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return "", "", nil, fmt.Errorf("embedded miniredis: %w", err)
	}
	how := "redis: embedded miniredis in this process on " + m.Addr() + " (keeps nothing; nothing installed was found)"
	return "redis://" + m.Addr() + "/0", how, stopOnDone(ctx, m.Close), nil
}

// embeddedPostgres runs PostgreSQL through embedded-postgres: binaries it
// downloads once from Maven Central into ~/.embedded-postgres-go and
// unpacks for each run (or o.embeddedBinaries), a cluster in a temporary
// directory removed on exit, on a free loopback port.
func embeddedPostgres(ctx context.Context, o options) (string, string, func(), error) {
	if os.Geteuid() == 0 {
		// The library starts initdb and pg_ctl as this process's user and
		// offers no way to step down, which startPostgres does.
		return "", "", nil, errors.New("embedded-postgres: running as root, which PostgreSQL refuses: run vaxbook dev as an ordinary user, or install PostgreSQL (then it runs as user postgres)")
	}
	dir, err := os.MkdirTemp("", "vaxbook-embedded-pg-")
	if err != nil {
		return "", "", nil, fmt.Errorf("embedded-postgres: create data directory: %w", err)
	}
	removeDir := func() { _ = os.RemoveAll(dir) }
	from := "its " + string(embeddedPostgresVersion) + " binaries (downloaded once into ~/.embedded-postgres-go)"
	binaries := ""
	if o.embeddedBinaries != "" {
		if binaries, err = binariesLayout(o.embeddedBinaries, dir); err != nil {
			removeDir()
			return "", "", nil, fmt.Errorf("embedded-postgres: %w", err)
		}
		from = "binaries in " + o.embeddedBinaries
	}
	logFile, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		removeDir()
		return "", "", nil, fmt.Errorf("embedded-postgres: create log: %w", err)
	}

	var (
		db   *embeddedpostgres.EmbeddedPostgres
		port int
	)
	// The free port can be taken before PostgreSQL binds it, seconds later
	// after initdb; the library then fails to start, and a new port helps.
	for range 3 {
		if port, err = freePort(); err != nil {
			break
		}
		db = embeddedpostgres.NewDatabase(embeddedpostgres.DefaultConfig().
			Version(embeddedPostgresVersion).
			Port(uint32(port)).
			Database(devDatabase).
			RuntimePath(filepath.Join(dir, "run")).
			BinariesPath(binaries).
			StartTimeout(postgresStartTimeout).
			Logger(logFile).
			StartParameters(map[string]string{
				"listen_addresses":        "127.0.0.1",
				"unix_socket_directories": filepath.Join(dir, "run"),
				// A throwaway cluster for one developer: speed, not durability.
				"fsync":              "off",
				"synchronous_commit": "off",
				"full_page_writes":   "off",
			}))
		err = db.Start()
		if err == nil || !strings.Contains(err.Error(), "could not start postgres") && !strings.Contains(err.Error(), "already listening") {
			break
		}
	}
	if err != nil {
		_ = logFile.Close()
		removeDir()
		return "", "", nil, fmt.Errorf("embedded-postgres (%s): %w", from, err)
	}
	addr := "127.0.0.1:" + itoa(port)
	stop := stopOnDone(ctx, func() {
		// pg_ctl stop waits for the fast shutdown to finish.
		_ = db.Stop()
		_ = logFile.Close()
		removeDir()
	})
	how := fmt.Sprintf("postgres: embedded-postgres from %s, on %s, data in %s (removed on exit), database %s",
		from, addr, dir, devDatabase)
	return "postgres://postgres:postgres@" + addr + "/" + devDatabase + "?sslmode=disable", how, stop, nil
}

// binariesLayout makes the layout embedded-postgres expects, a directory
// with bin/initdb and bin/pg_ctl, out of a directory holding them such as
// /usr/lib/postgresql/15/bin: a bin link to it inside dir. PostgreSQL
// resolves the links to its own executable, so it still finds its share
// and lib directories beside the real one.
func binariesLayout(binDir, dir string) (string, error) {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if !isExecutable(filepath.Join(binDir, name)) {
			return "", fmt.Errorf("no %s in %s", name, binDir)
		}
	}
	abs, err := filepath.Abs(binDir)
	if err != nil {
		return "", fmt.Errorf("binaries %s: %w", binDir, err)
	}
	layout := filepath.Join(dir, "binaries")
	if err := os.Mkdir(layout, 0o755); err != nil {
		return "", fmt.Errorf("binaries layout: %w", err)
	}
	if err := os.Symlink(abs, filepath.Join(layout, "bin")); err != nil {
		return "", fmt.Errorf("binaries layout: %w", err)
	}
	return layout, nil
}
