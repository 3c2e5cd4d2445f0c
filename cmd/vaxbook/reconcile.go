package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/postgres"
)

// reconcileConfig is `vaxbook reconcile`'s: the log level and the schema
// owner's database (it runs as the migrate job's identity; deploy/README.md).
type reconcileConfig struct {
	config.Base
	DatabaseURL string `env:"DATABASE_URL, required" json:"-"`
}

// reconcileDrift is the message of the log line per drifted slot: a
// log-based metric counts it, and the runbook's alert fires on it, so it
// does not change.
const reconcileDrift = "reconcile drift"

// runReconcile holds every slot's booked counter against its confirmed
// bookings, logs one line per difference, and with --fix sets the counters
// in one transaction. It fails when --fix leaves a slot with more bookings
// than places: a person decides who moves.
func runReconcile(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fix := fs.Bool("fix", false, "set each drifted counter to its confirmed bookings, in one transaction")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("usage: vaxbook reconcile [--fix]")
	}
	var cfg reconcileConfig
	log, err := configure(ctx, getenv, stdout, &cfg)
	if err != nil {
		return err
	}
	return withPool(ctx, cfg.DatabaseURL, 1, func(pool *pgxpool.Pool) error {
		var drift []postgres.Drift
		if *fix {
			drift, err = postgres.FixDrift(ctx, pool)
		} else {
			drift, err = postgres.FindDrift(ctx, pool)
		}
		if err != nil {
			return fmt.Errorf("reconcile: %w", err)
		}
		fixed, stuck := 0, 0
		for _, d := range drift {
			done := *fix && d.Fixable()
			if done {
				fixed++
			}
			if !d.Fixable() {
				stuck++
			}
			log.Warn(reconcileDrift, "slot", d.Slot, "capacity", d.Capacity, "booked", d.Booked,
				"confirmed_bookings", d.Bookings, "fixed", done, "over_capacity", !d.Fixable())
		}
		log.Info("reconcile done", "drifted", len(drift), "fixed", fixed, "over_capacity", stuck)
		if *fix && stuck > 0 {
			return fmt.Errorf("reconcile: %d slots hold more confirmed bookings than places; their counters are left as they are", stuck)
		}
		return nil
	})
}
