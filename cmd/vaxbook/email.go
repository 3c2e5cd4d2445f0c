package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/sendgrid"
	"github.com/vaxbook/vaxbook/worker"
)

// emailMaxConns bounds the e-mail sends in flight per worker instance (each
// holds a Postgres connection while SendGrid answers); pushes beyond it wait
// for a connection. The pool opens none until an e-mail push arrives.
const emailMaxConns = 4

// workerEmail wires the worker role's e-mail. Both halves are opt-in, so a
// worker started with only DATABASE_URL and REDIS_URL books exactly as
// before:
//   - EMAIL_TOPIC set: every final booking publishes an e-mail request there
//     before its push is acknowledged (needs GOOGLE_CLOUD_PROJECT);
//   - SENDGRID_API_KEY set: /push/email sends (needs EMAIL_FROM and
//     PUBLIC_BASE_URL). Without a key /push/email answers 503, so requests
//     wait in email-push and then its dead-letter topic: never dropped, and a
//     deployment may split requesting and sending across two services.
//
// It checks the configuration before any store is opened; the returned
// options func takes the record of sent e-mails, and the close func releases
// the publisher.
func workerEmail(ctx context.Context, log *slog.Logger, cfg workerConfig) (func(worker.SentLog) []worker.Option, func(), error) {
	var (
		sender   email.Sender
		composer worker.Composer
	)
	if cfg.SendGrid.APIKey != "" {
		comp, err := cfg.Email.Composer()
		if err != nil {
			return nil, nil, err
		}
		sg, err := sendgrid.New(cfg.SendGrid)
		if err != nil {
			return nil, nil, fmt.Errorf("configuration: %w", err)
		}
		sender, composer = sg, comp
	}
	push := func(sent worker.SentLog) []worker.Option {
		return []worker.Option{worker.WithEmailPush(worker.HandleEmail(log, sent, composer, sender))}
	}
	if cfg.Email.Topic == "" {
		log.Warn("EMAIL_TOPIC is empty: bookings request no confirmation e-mails", "sendgrid", sender != nil)
		return push, func() {}, nil
	}
	if cfg.Project == "" {
		return nil, nil, fmt.Errorf("configuration: GOOGLE_CLOUD_PROJECT: required when EMAIL_TOPIC is set")
	}
	psc, err := pubsub.NewClient(ctx, cfg.Project, cfg.EmulatorHost)
	if err != nil {
		return nil, nil, err
	}
	pub := pubsub.NewRequestPublisher[email.Request](psc, cfg.Email.Topic)
	if sender == nil {
		log.Warn("SENDGRID_API_KEY is not set: /push/email answers 503 and e-mail requests wait in their subscription", "topic", cfg.Email.Topic)
	}
	opts := func(sent worker.SentLog) []worker.Option {
		return append(push(sent), worker.WithEmailRequests(pub))
	}
	return opts, func() { pub.Stop(); _ = psc.Close() }, nil
}
