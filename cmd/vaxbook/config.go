package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/admin"
	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/cachefill"
	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/invite"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/sendgrid"
	"github.com/vaxbook/vaxbook/internal/telemetry"
	"github.com/vaxbook/vaxbook/internal/twilio"
	"github.com/vaxbook/vaxbook/worker"
)

// Each role's configuration: the role package's own settings beside those
// of the adapters it is wired to.

type apiConfig struct {
	config.Serving
	API    api.Config
	Redis  redis.Config
	PubSub pubsub.Config
}

type workerConfig struct {
	config.Serving
	worker.Config
	Database postgres.Config
	Redis    redis.Config
	SendGrid sendgrid.Config
	Twilio   twilio.Config
}

// hooksConfig is the delivery hooks' role: each provider's hook is served
// when its verification setting is given.
type hooksConfig struct {
	config.Serving
	Database postgres.Config
	Project  string `env:"GOOGLE_CLOUD_PROJECT"`
	// TwilioToken signs Twilio's status callbacks, over TwilioCallback,
	// the URL Twilio calls (the worker gives it with every message).
	TwilioToken    string `env:"TWILIO_AUTH_TOKEN" json:"-"`
	TwilioCallback string `env:"TWILIO_STATUS_CALLBACK"`
	// SendGridKey is the Event Webhook's verification key (base64), from
	// SendGrid's mail settings; kept in Secret Manager so a new one needs
	// no change of the pipeline.
	SendGridKey string `env:"SENDGRID_WEBHOOK_PUBLIC_KEY" json:"-"`
}

type cacheFillConfig struct {
	config.Serving
	CacheFill cachefill.Config
	Database  postgres.Config
	Redis     redis.Config
}

type inviteConfig struct {
	config.Serving
	Invite   invite.Config
	Database postgres.Config
	Redis    redis.Config
	Project  string `env:"GOOGLE_CLOUD_PROJECT, required"`
	// EmulatorHost is honoured as the client library does (dev and tests).
	EmulatorHost string `env:"PUBSUB_EMULATOR_HOST"`
	// SMSTopic, when set, carries the invitations of people who chose SMS
	// (sms-topic).
	SMSTopic string `env:"SMS_TOPIC"`
}

type migrateConfig struct {
	DatabaseURL string `env:"DATABASE_URL, required" json:"-"`
}

// withPool runs f over a pool of maxConns on url, closed after: the
// database scaffolding of the one-shot commands (seed, state, pii, erase,
// retention).
func withPool(ctx context.Context, url string, maxConns int32, f func(*pgxpool.Pool) error) error {
	pool, err := postgres.Open(ctx, postgres.Config{URL: url, MaxConns: maxConns})
	if err != nil {
		return err
	}
	defer pool.Close()
	return f(pool)
}

// withTelemetry builds a serving role's telemetry (TELEMETRY_EXPORTER) and
// returns ctx carrying it, for the role's server and loops to be built on,
// and the flush to defer: it has two seconds of Cloud Run's ten after
// SIGTERM, after the server's drain.
func withTelemetry(ctx context.Context, log *slog.Logger, cfg telemetry.Config, role string) (context.Context, func(), error) {
	tel, err := telemetry.New(ctx, cfg, role, version)
	if err != nil {
		return ctx, nil, err
	}
	return telemetry.NewContext(ctx, tel), func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("telemetry not flushed", "error", err)
		}
	}, nil
}

// configure loads a serving role's configuration and builds its logger.
func configure(ctx context.Context, getenv func(string) string, stdout io.Writer, cfg interface {
	Logger(io.Writer) (*slog.Logger, error)
}) (*slog.Logger, error) {
	if err := config.Load(ctx, getenv, cfg); err != nil {
		return nil, err
	}
	return cfg.Logger(stdout)
}

type adminConfig struct {
	config.Base
	Admin    admin.Config
	Database postgres.Config
	Redis    redis.Config
	Project  string `env:"GOOGLE_CLOUD_PROJECT, required"`
	// EmulatorHost is honoured as the client library does (dev and tests).
	EmulatorHost string `env:"PUBSUB_EMULATOR_HOST"`
	// SMSTopic, when set, carries the messages of a closed session to
	// people who chose SMS (sms-topic).
	SMSTopic string `env:"SMS_TOPIC"`
}
