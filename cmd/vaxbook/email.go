package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	gpubsub "cloud.google.com/go/pubsub/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/postgres"
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
	if cfg.Email.SendGrid.APIKey != "" {
		comp, err := cfg.Email.composer()
		if err != nil {
			return nil, nil, err
		}
		sg, err := sendgrid.New(cfg.Email.SendGrid)
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

// devMailSubscription stands in for email-push in `vaxbook dev`.
const devMailSubscription = "email-dev-relay"

// devMail is `vaxbook dev`'s e-mail: email-topic in the in-process Pub/Sub,
// relayed to /push/email, which "sends" into an outbox shown at /dev/mail.
type devMail struct {
	pub    *pubsub.Publisher[email.Request]
	sub    string
	outbox *email.Outbox
}

func newDevMail(ctx context.Context, psc *gpubsub.Client, topic string) (*devMail, error) {
	if err := pubsub.EnsureTopic(ctx, psc, topic); err != nil {
		return nil, err
	}
	sub, err := pubsub.EnsurePullSubscription(ctx, psc, topic, devMailSubscription, 60*time.Second)
	if err != nil {
		return nil, err
	}
	return &devMail{pub: pubsub.NewRequestPublisher[email.Request](psc, topic), sub: sub, outbox: email.NewOutbox(200)}, nil
}

// mount adds /push/email and the outbox pages; base is the page's own
// address, the e-mails' link unless PUBLIC_BASE_URL says otherwise.
func (d *devMail) mount(mux *http.ServeMux, log *slog.Logger, pool *pgxpool.Pool, cfg devConfig, base string) error {
	ec := EmailConfig{From: cfg.EmailFrom, PublicBaseURL: cmp.Or(cfg.PublicBaseURL, base)}
	comp, err := ec.composer()
	if err != nil {
		return err
	}
	mux.Handle("POST "+worker.EmailPushPath, worker.HandleEmail(log, postgres.NewEmails(pool), comp, d.outbox))
	for _, p := range []string{"GET /dev/mail", "GET /dev/mail.json", "GET /dev/mail/"} {
		mux.Handle(p, d.outbox)
	}
	return nil
}

// relay pushes email-topic to /push/email on base until ctx ends.
func (d *devMail) relay(ctx context.Context, log *slog.Logger, psc *gpubsub.Client, base string) error {
	return pubsub.Relay(ctx, log, psc, d.sub, base+worker.EmailPushPath, pubsub.NewRelayClient())
}
