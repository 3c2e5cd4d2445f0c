package invite

import (
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/queue"
)

// Config is the loop's own settings, read by `invite` and `dev`; its
// stores and Pub/Sub are configured by their adapters. The link in an
// invitation is made by the e-mail worker's composer from its own
// PUBLIC_BASE_URL: the loop only carries the token.
type Config struct {
	Interval time.Duration `env:"INVITE_INTERVAL, default=1m"`
	TTL      time.Duration `env:"INVITE_TTL, default=48h"`
	// Secret signs the tokens; the API checks them with the same secret.
	Secret string `env:"INVITATION_SECRET, required" json:"-"`
	// Batch is how many invitations one transaction issues: small enough
	// to hold row locks briefly, large enough that a round of thousands
	// is a few transactions.
	Batch int `env:"INVITE_BATCH, default=500"`
	// RoundMax caps the invitations of one round in one state (0: no cap
	// beyond the free places), for an operator who wants the first rounds
	// of a surge smaller than the places allow (deploy/README.md).
	RoundMax int `env:"INVITE_ROUND_MAX, default=0"`
	// EmailTopic is where the invitation and expired messages are asked
	// for (email-topic).
	EmailTopic string `env:"EMAIL_TOPIC, required"`
	// RecordTTL is how long Redis keeps a registration's record, as
	// STATUS_TTL does a booking's status.
	RecordTTL time.Duration `env:"STATUS_TTL, default=720h"`
}

// Check returns the token signer, or one line naming the variable at
// fault.
func (c Config) Check() (*queue.Signer, error) {
	switch {
	case c.Interval <= 0:
		return nil, fmt.Errorf("configuration: INVITE_INTERVAL: must be a positive duration, got %s", c.Interval)
	case c.TTL < time.Minute:
		return nil, fmt.Errorf("configuration: INVITE_TTL: must be at least 1m, got %s", c.TTL)
	case c.Batch <= 0:
		return nil, fmt.Errorf("configuration: INVITE_BATCH: must be positive, got %d", c.Batch)
	case c.RecordTTL <= 0:
		return nil, fmt.Errorf("configuration: STATUS_TTL: must be a positive duration, got %s", c.RecordTTL)
	case c.RoundMax < 0:
		return nil, fmt.Errorf("configuration: INVITE_ROUND_MAX: must be 0 (no cap) or positive, got %d", c.RoundMax)
	}
	s, err := queue.NewSigner(c.Secret)
	if err != nil {
		return nil, fmt.Errorf("configuration: INVITATION_SECRET: %w", err)
	}
	return s, nil
}
