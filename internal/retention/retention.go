// Package retention is the policy on how long vaxbook keeps personal data
// and the pass that applies it (`vaxbook retention`, a scheduled Cloud Run
// job). Seed 000 asked to "drop certain fields once the vaccination is
// complete": a person's name, phone, e-mail and ID hash go a set time after
// a centre checks them in as attended (or, with no such check-in, after
// their appointment's day); counts, slots and statuses stay for the
// statistics.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/postgres"
)

// Config is the retention policy, from the environment.
type Config struct {
	// After is how long after the check-in as attended (else after the
	// appointment's day; for a cancelled booking after its cancellation;
	// for a submission that got no place and a final registration after it
	// was decided) the person's details are kept: long enough for a
	// centre's follow-up questions and a complaint, and no longer.
	After time.Duration `env:"RETENTION_AFTER, default=720h"`
	// Rejected is how long a rejected push message's redacted excerpt is
	// kept for a human to look at.
	Rejected time.Duration `env:"REJECTED_RETENTION, default=336h"`
}

// Policy checks the settings; the error names the variable.
func (c Config) Policy() (postgres.RetentionPolicy, error) {
	switch {
	case c.After < 24*time.Hour:
		return postgres.RetentionPolicy{}, fmt.Errorf("configuration: RETENTION_AFTER: at least 24h (a centre checks people in on the day), got %s", c.After)
	case c.Rejected < time.Hour:
		return postgres.RetentionPolicy{}, fmt.Errorf("configuration: REJECTED_RETENTION: at least 1h, got %s", c.Rejected)
	}
	return postgres.RetentionPolicy{After: c.After, Rejected: c.Rejected}, nil
}

// Run applies the policy once at now and logs what it removed. Another
// pass running at the same time is not an error: it is doing the work.
func Run(ctx context.Context, log *slog.Logger, pool *pgxpool.Pool, policy postgres.RetentionPolicy, now time.Time) (postgres.Removed, error) {
	r, err := postgres.Retain(ctx, pool, policy, now)
	if errors.Is(err, postgres.ErrRetentionBusy) {
		log.Info("retention: another pass is running; nothing done")
		return postgres.Removed{}, nil
	}
	if err != nil {
		return postgres.Removed{}, err
	}
	log.Info("retention pass",
		"bookings", r.Bookings, "registrations", r.Registrations, "invitations", r.Invitations,
		"sent_emails", r.SentEmails, "rejected_messages", r.RejectedMessages,
		"after", policy.After.String(), "rejected_after", policy.Rejected.String())
	return r, nil
}
