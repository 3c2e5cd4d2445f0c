// Package migrations holds the numbered schema files and applies them with
// golang-migrate. Serving processes never migrate implicitly in production;
// `vaxbook migrate` (a Cloud Run job) and `vaxbook dev` do.
package migrations

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // registers pgx5://
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/vaxbook/vaxbook/internal/redact"
)

//go:embed *.sql
var files embed.FS

// Hash identifies the embedded schema files, so a cache of migrated
// databases (the tests' templates) is rebuilt exactly when they change.
func Hash() string {
	h := sha256.New()
	names, _ := fs.Glob(files, "*.sql") // sorted; the pattern is valid
	for _, name := range names {
		b, _ := files.ReadFile(name) // embedded: cannot fail
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// New opens a migrator on databaseURL (postgres:// or postgresql://).
// Close it when done.
func New(databaseURL string) (*migrate.Migrate, error) {
	src, err := iofs.New(files, ".")
	if err != nil {
		return nil, fmt.Errorf("open embedded migrations: %w", err)
	}
	u, err := pgx5URL(databaseURL)
	if err != nil {
		return nil, err
	}
	m, err := migrate.NewWithSourceInstance("iofs", src, u)
	if err != nil {
		return nil, fmt.Errorf("open migrator: %w", err)
	}
	return m, nil
}

// Up applies every pending migration; an up-to-date schema is not an error.
func Up(databaseURL string) error {
	m, err := New(databaseURL)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}

// golang-migrate's pgx v5 driver only answers to the pgx5 scheme.
func pgx5URL(databaseURL string) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		// url.Error quotes the whole URL, password included.
		return "", redact.ParseError("DATABASE_URL", databaseURL, func(s string) error { _, err := url.Parse(s); return err }, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "postgres", "postgresql", "pgx5":
		u.Scheme = "pgx5"
	default:
		return "", fmt.Errorf("database URL scheme %q: want postgres://", u.Scheme)
	}
	return u.String(), nil
}
