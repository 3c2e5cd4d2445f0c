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

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/retention"
)

// retentionConfig is `vaxbook retention`'s: the policy and the database.
type retentionConfig struct {
	config.Base
	Retention   retention.Config
	DatabaseURL string `env:"DATABASE_URL, required" json:"-"`
}

// peppered is what the commands that look people up by ID number need.
type pepperedConfig struct {
	DatabaseURL string `env:"DATABASE_URL, required" json:"-"`
	IDPepper    string `env:"ID_PEPPER" json:"-"`
}

func (c pepperedConfig) pepper() (*pii.Pepper, error) { return pii.Configured(c.IDPepper) }

// runRetention applies the retention policy once and exits: a Cloud Run
// job that Cloud Scheduler starts daily (deploy/README.md). It takes no
// lease of its own beyond the transaction's lock, so a second run started
// by hand is harmless.
func runRetention(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	var cfg retentionConfig
	log, err := configure(ctx, getenv, stdout, &cfg)
	if err != nil {
		return err
	}
	policy, err := cfg.Retention.Policy()
	if err != nil {
		return err
	}
	return withPool(ctx, cfg.DatabaseURL, 2, func(pool *pgxpool.Pool) error {
		_, err := retention.Run(ctx, log, pool, policy, time.Now())
		return err
	})
}

const eraseUsage = "usage: vaxbook erase --id-number IC_OR_PASSPORT | --reference REF"

// runErase removes one person's details everywhere, found by their ID
// number (hashed with ID_PEPPER, as the worker stores it) or a reference of
// theirs, and prints what it changed. Their confirmed place stays booked.
func runErase(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("erase", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	idNumber := fs.String("id-number", "", "the person's IC or passport number")
	reference := fs.String("reference", "", "a booking or registration reference of theirs")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || (*idNumber == "") == (*reference == "") {
		return errors.New(eraseUsage)
	}
	var cfg pepperedConfig
	if err := config.Load(ctx, getenv, &cfg); err != nil {
		return err
	}
	var idHash string
	if *idNumber != "" {
		ids, err := cfg.pepper()
		if err != nil {
			return err
		}
		n, err := booking.NormalizeIDNumber(*idNumber)
		if err != nil {
			// The number is not echoed: it is the personal data itself.
			return fmt.Errorf("erase: --id-number: not an IC or passport number")
		}
		idHash = ids.Hash(n)
	}
	ref := strings.ToUpper(strings.TrimSpace(*reference))
	if ref != "" && !booking.ValidReference(ref) {
		return fmt.Errorf("erase: --reference: want 16 characters of A-Z and 2-7, got %q", ref)
	}
	return withPool(ctx, cfg.DatabaseURL, 1, func(pool *pgxpool.Pool) error {
		e, err := postgres.Erase(ctx, pool, idHash, ref, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "erased: %d bookings %v, %d registrations %v (ended while live: %v), %d invitations, %d sent-message records\n",
			len(e.BookingRefs), e.BookingRefs, len(e.RegistrationRefs), e.RegistrationRefs, e.EndedRefs, e.Removed.Invitations, e.Removed.SentEmails)
		fmt.Fprintln(stdout, "kept: statuses, slots and counters (a confirmed place stays booked); Redis status records name no person and expire with STATUS_TTL")
		return nil
	})
}

// runPII runs `vaxbook pii backfill`: hash the ID numbers stored before
// migration 7 (see postgres.Backfill for when).
func runPII(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "backfill" {
		return errors.New("usage: vaxbook pii backfill")
	}
	var cfg pepperedConfig
	if err := config.Load(ctx, getenv, &cfg); err != nil {
		return err
	}
	ids, err := cfg.pepper()
	if err != nil {
		return err
	}
	return withPool(ctx, cfg.DatabaseURL, 1, func(pool *pgxpool.Pool) error {
		n, err := postgres.Backfill(ctx, pool, ids)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "hashed ID numbers: %d bookings, %d registrations, %d invitations\n", n["bookings"], n["registrations"], n["invitations"])
		return nil
	})
}
