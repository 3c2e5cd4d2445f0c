// Package postgres is vaxbook's adapter to PostgreSQL: the connection pool,
// the one transaction helper, and the queries the worker, the cache-fill loop
// and the seeder run.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/redact"
)

// Config is the database part of a role's configuration.
type Config struct {
	URL      string `env:"DATABASE_URL, required" json:"-"`
	MaxConns int32  `env:"DATABASE_MAX_CONNS, default=8"`
	// IAMAuth: see iam.go. Off for a URL with a password (dev, tests, the
	// schema owner's migrate job).
	IAMAuth IAMAuth `env:"DATABASE_IAM_AUTH, default=off"`
}

// New builds a pool without connecting: a serving process starts, answers
// its probes and 503s, and connects once the database is there.
func New(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgx masks the password itself today; this keeps it so whatever
		// a later pgx or a wrapped url.Error prints.
		return nil, redact.ParseError("DATABASE_URL", cfg.URL, func(s string) error { _, err := pgxpool.ParseConfig(s); return err }, err)
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	if cfg.IAMAuth {
		ts, err := defaultTokenSource(ctx)
		if err != nil {
			return nil, err
		}
		pc.BeforeConnect = iamLogin(ts)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	return pool, nil
}

// Open builds a pool and checks the server answers, for commands that are
// of no use without it.
func Open(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pool, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping postgres: %w", err)
	}
	return pool, nil
}

// Beginner is what InTx needs: a pool or a single connection.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// RowQuerier is what a one-row read needs: a pool, a connection or a
// transaction.
type RowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Querier is what a read of many rows needs: a pool, a connection or a
// transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// InTx runs fn in a transaction: it commits when fn returns nil and rolls back
// otherwise, reporting both errors if the rollback fails too.
func InTx(ctx context.Context, db Beginner, fn func(pgx.Tx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(ctx); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// IsPermanent reports whether err is a database error that retrying cannot
// fix (bad data rather than a server or network problem).
func IsPermanent(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23": // data exception, integrity constraint violation
		return pgErr.Code != "23505" // unique violation: a concurrent twin, retry
	}
	return false
}
