package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/queue"
)

const stateUsage = `usage: vaxbook state set STATE --mode open|queue [--opens-at RFC3339 | --opens-at ""]`

// runState changes a state's mode and opening time in Postgres; the
// cache-fill loop publishes the change at its next pass, so no process is
// restarted. Leaving --opens-at out keeps the time set; --opens-at ""
// clears it.
func runState(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "set" {
		return errors.New(stateUsage)
	}
	rest, code := args[1:], ""
	if !strings.HasPrefix(rest[0], "-") {
		code, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("state set", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	mode := fs.String("mode", "", "open or queue")
	opensAt := fs.String("opens-at", "", `when a queue state starts inviting (RFC 3339); "" clears it`)
	if err := fs.Parse(rest); err != nil {
		return fmt.Errorf("state set: %w\n%s", err, stateUsage)
	}
	if code == "" && fs.NArg() == 1 {
		code = fs.Arg(0)
	} else if fs.NArg() > 0 || code == "" {
		return errors.New(stateUsage)
	}
	m, err := queue.ParseMode(*mode)
	if err != nil {
		return fmt.Errorf("state set: --mode: %w", err)
	}
	var change postgres.OpensAtChange
	fs.Visit(func(f *flag.Flag) { change.Change = change.Change || f.Name == "opens-at" })
	if change.Change && *opensAt != "" {
		if change.At, err = time.Parse(time.RFC3339, *opensAt); err != nil {
			return fmt.Errorf("state set: --opens-at: want RFC 3339 such as 2026-12-01T09:00:00+08:00, or \"\" to clear, got %q", *opensAt)
		}
	}

	var cfg migrateConfig
	if err := config.Load(ctx, getenv, &cfg); err != nil {
		return err
	}
	return withPool(ctx, cfg.DatabaseURL, 1, func(pool *pgxpool.Pool) error {
		s, err := postgres.SetStateMode(ctx, pool, strings.ToLower(strings.TrimSpace(code)), m, change)
		if err != nil {
			return fmt.Errorf("state set: %w", err)
		}
		opens := "not set"
		if s.OpensAt != nil {
			opens = s.OpensAt.Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "state %s: mode %s, opens_at %s (GET /states shows it after the next cache-fill pass)\n", s.Code, s.Mode, opens)
		return nil
	})
}
