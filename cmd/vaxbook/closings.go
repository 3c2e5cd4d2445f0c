package main

import (
	"context"
	"io"
	"time"

	"github.com/vaxbook/vaxbook/internal/closing"
	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/redis"
)

// closingsConfig is `vaxbook closings`'s: the admin role's database user
// (the job runs as its account), Redis for the status records, and the
// topics of the messages.
type closingsConfig struct {
	config.Base
	Database     postgres.Config
	Redis        redis.Config
	Project      string `env:"GOOGLE_CLOUD_PROJECT, required"`
	EmulatorHost string `env:"PUBSUB_EMULATOR_HOST"`
	EmailTopic   string `env:"EMAIL_TOPIC, default=email-topic"`
	SMSTopic     string `env:"SMS_TOPIC"`
	// StatusTTL is how long the booking records it rewrites live, as the
	// worker's.
	StatusTTL time.Duration `env:"STATUS_TTL, default=720h"`
}

// closingsMaxConns: one transaction at a time. Counted in worker.yaml's
// Cloud SQL connection budget.
const closingsMaxConns = 2

// runClosings finishes, once, every closing session whose time to move is
// up: cancels what stayed, tells each person, marks it done (a scheduled
// Cloud Run job; `vaxbook dev` does it every few seconds). It fails when a
// session could not be finished; the next run retries it.
func runClosings(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	var cfg closingsConfig
	log, err := configure(ctx, getenv, stdout, &cfg)
	if err != nil {
		return err
	}
	cfg.Database.MaxConns = closingsMaxConns
	pool, rdb, closeStores, err := openStores(ctx, log, cfg.Database, cfg.Redis)
	if err != nil {
		return err
	}
	defer closeStores()
	mail, stop, err := channelPublishers(ctx, cfg.Project, cfg.EmulatorHost, cfg.EmailTopic, cfg.SMSTopic)
	if err != nil {
		return err
	}
	defer stop()

	closer := closing.Closer{Store: postgres.NewAdmin(pool), Statuses: redis.NewStatuses(rdb, cfg.StatusTTL), Mail: mail}
	sessions, cancelled, err := closer.FinishDue(ctx, log, time.Now())
	log.Info("closings done", "sessions", sessions, "cancelled", cancelled)
	return err
}
