package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/sendgrid"
	"github.com/vaxbook/vaxbook/internal/serve"
	"github.com/vaxbook/vaxbook/internal/twilio"
	"github.com/vaxbook/vaxbook/worker"
)

// hooksMaxConns: each callback is one short transaction, and the providers
// send a few per message; deploy/hooks.yaml's concurrency matches it.
const hooksMaxConns = 4

// runHooks serves the delivery hooks, the only public routes that reach
// Postgres: Twilio's status callbacks when TWILIO_AUTH_TOKEN and
// TWILIO_STATUS_CALLBACK are set, SendGrid's Event Webhook when
// SENDGRID_WEBHOOK_PUBLIC_KEY is. At least one must be.
func runHooks(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	var cfg hooksConfig
	log, err := configure(ctx, getenv, stdout, &cfg)
	if err != nil {
		return err
	}
	ctx, flush, err := withTelemetry(ctx, log, cfg.Telemetry, "hooks")
	if err != nil {
		return err
	}
	defer flush()
	var (
		tw worker.FormVerifier
		sg worker.EventVerifier
	)
	if cfg.TwilioToken != "" || cfg.TwilioCallback != "" {
		v, err := twilio.NewValidator(twilio.Config{AuthToken: cfg.TwilioToken, StatusCallback: cfg.TwilioCallback})
		if err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		tw = v
	}
	if cfg.SendGridKey != "" {
		v, err := sendgrid.NewEventVerifier(cfg.SendGridKey)
		if err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		sg = v
	}
	if tw == nil && sg == nil {
		return errors.New("configuration: TWILIO_AUTH_TOKEN or SENDGRID_WEBHOOK_PUBLIC_KEY: set at least one, or there is no hook to serve")
	}
	log.Info("delivery hooks", "twilio", tw != nil, "sendgrid", sg != nil)

	cfg.Database.MaxConns = hooksMaxConns
	pool, err := postgres.New(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer pool.Close()
	warnIfDown(ctx, log, "postgres", pool.Ping)

	h := worker.NewHooksHandler(log, cfg.Project, postgres.NewDeliveries(pool), tw, sg)
	ln, err := serve.Listen(cfg.Port)
	if err != nil {
		return err
	}
	return serve.Serve(ctx, log, ln, h)
}
