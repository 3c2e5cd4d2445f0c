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

const stateUsage = `usage: vaxbook state set STATE [--mode open|queue [--opens-at RFC3339 | --opens-at ""]] [--closed | --open]
       vaxbook state set --all --closed | --open`

// runState changes a state's mode and opening time, or throws its
// maintenance switch, in Postgres; the cache-fill loop publishes the change
// at its next pass, so no process is restarted. Leaving --opens-at out keeps
// the time set; --opens-at "" clears it. --all throws the switch of every
// state in one statement.
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
	closed := fs.Bool("closed", false, "stop new bookings and registrations (the maintenance switch)")
	open := fs.Bool("open", false, "take bookings and registrations again")
	all := fs.Bool("all", false, "every state (with --closed or --open only)")
	if err := fs.Parse(rest); err != nil {
		return fmt.Errorf("state set: %w\n%s", err, stateUsage)
	}
	if code == "" && fs.NArg() == 1 && !*all {
		code = fs.Arg(0)
	} else if fs.NArg() > 0 || (code == "") != *all {
		return errors.New(stateUsage)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *closed && *open:
		return errors.New("state set: --closed and --open: give one")
	case *all && set["mode"] || *all && set["opens-at"]:
		return errors.New("state set: --all takes --closed or --open only")
	case *all && !*closed && !*open:
		return errors.New("state set: --all needs --closed or --open")
	case set["opens-at"] && !set["mode"]:
		return errors.New("state set: --opens-at needs --mode")
	case !set["mode"] && !*closed && !*open:
		return fmt.Errorf("state set: give --mode, --closed or --open\n%s", stateUsage)
	}
	var m queue.Mode
	var change postgres.OpensAtChange
	if set["mode"] {
		var err error
		if m, err = queue.ParseMode(*mode); err != nil {
			return fmt.Errorf("state set: --mode: %w", err)
		}
		change.Change = set["opens-at"]
		if change.Change && *opensAt != "" {
			if change.At, err = time.Parse(time.RFC3339, *opensAt); err != nil {
				return fmt.Errorf("state set: --opens-at: want RFC 3339 such as 2026-12-01T09:00:00+08:00, or \"\" to clear, got %q", *opensAt)
			}
		}
	}

	var cfg migrateConfig
	if err := config.Load(ctx, getenv, &cfg); err != nil {
		return err
	}
	code = strings.ToLower(strings.TrimSpace(code))
	return withPool(ctx, cfg.DatabaseURL, 1, func(pool *pgxpool.Pool) error {
		if set["mode"] {
			s, err := postgres.SetStateMode(ctx, pool, code, m, change)
			if err != nil {
				return fmt.Errorf("state set: %w", err)
			}
			opens := "not set"
			if s.OpensAt != nil {
				opens = s.OpensAt.Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "state %s: mode %s, opens_at %s (GET /states shows it after the next cache-fill pass)\n", s.Code, s.Mode, opens)
		}
		if !*closed && !*open {
			return nil
		}
		codes, err := postgres.SetStateClosed(ctx, pool, code, *closed)
		if err != nil {
			return fmt.Errorf("state set: %w", err)
		}
		what := "open: taking bookings and registrations"
		if *closed {
			what = "closed: new bookings and registrations answer 503 state_closed"
		}
		fmt.Fprintf(stdout, "state %s: %s (from the next cache-fill pass; lists and statuses keep working)\n", strings.Join(codes, ", "), what)
		return nil
	})
}
