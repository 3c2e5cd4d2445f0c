package main

import (
	"context"
	"fmt"
	"log/slog"

	gpubsub "cloud.google.com/go/pubsub/v2"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/sendgrid"
	"github.com/vaxbook/vaxbook/internal/sms"
	"github.com/vaxbook/vaxbook/internal/twilio"
	"github.com/vaxbook/vaxbook/worker"
)

// emailMaxConns bounds the message sends in flight per worker instance
// (each holds a Postgres connection while SendGrid or Twilio answers);
// pushes beyond it wait for a connection. The pool opens none until a
// message push arrives.
const emailMaxConns = 4

// workerEmail wires the worker role's messages, e-mail and SMS. Every half
// is opt-in, so a worker started with only DATABASE_URL and REDIS_URL books
// exactly as before:
//   - EMAIL_TOPIC set: every final booking publishes its message requests
//     before its push is acknowledged (needs GOOGLE_CLOUD_PROJECT), on
//     email-topic, and on SMS_TOPIC too for people who chose SMS when that
//     is set;
//   - SENDGRID_API_KEY set: /push/email sends (needs EMAIL_FROM and
//     PUBLIC_BASE_URL); TWILIO_ACCOUNT_SID set: /push/sms sends (needs
//     TWILIO_AUTH_TOKEN, SMS_FROM and PUBLIC_BASE_URL). Without its sender a
//     route answers 503, so requests wait in their push subscription and
//     then its dead-letter topic: never dropped, and a deployment may split
//     requesting and sending across two services.
//
// It checks the configuration before any store is opened; the returned
// options func takes the record of sent messages, and the close func
// releases the publishers.
func workerEmail(ctx context.Context, log *slog.Logger, cfg workerConfig) (func(worker.SentLog) []worker.Option, func(), error) {
	if err := cfg.CheckMessages(); err != nil {
		return nil, nil, err
	}
	var (
		sender      email.Sender
		composer    worker.Composer
		smsSender   sms.Sender
		smsComposer worker.TextComposer
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
	if cfg.Twilio.Set() {
		tw, err := twilio.New(cfg.Twilio)
		if err != nil {
			return nil, nil, fmt.Errorf("configuration: %w", err)
		}
		comp, err := sms.NewComposer(cfg.Email.PublicBaseURL)
		if err != nil {
			return nil, nil, fmt.Errorf("configuration: PUBLIC_BASE_URL: %w", err)
		}
		smsSender, smsComposer = tw, comp
	}

	var (
		psc             *gpubsub.Client
		mailPub, smsPub *pubsub.Publisher[email.Request]
	)
	closeAll := func() {
		for _, p := range []*pubsub.Publisher[email.Request]{mailPub, smsPub} {
			if p != nil {
				p.Stop()
			}
		}
		if psc != nil {
			_ = psc.Close()
		}
	}
	if cfg.Email.Topic != "" {
		if cfg.Project == "" {
			return nil, nil, fmt.Errorf("configuration: GOOGLE_CLOUD_PROJECT: required when EMAIL_TOPIC is set")
		}
		var err error
		if psc, err = pubsub.NewClient(ctx, cfg.Project, cfg.EmulatorHost); err != nil {
			return nil, nil, err
		}
		mailPub = pubsub.NewRequestPublisher[email.Request](psc, cfg.Email.Topic)
		if cfg.SMSTopic != "" {
			smsPub = pubsub.NewRequestPublisher[email.Request](psc, cfg.SMSTopic)
		}
	}
	switch {
	case mailPub == nil:
		log.Warn("EMAIL_TOPIC is empty: bookings request no messages", "sendgrid", sender != nil, "twilio", smsSender != nil)
	case smsPub == nil:
		log.Warn("SMS_TOPIC is empty: every message goes by e-mail, whatever the person chose", "topic", cfg.Email.Topic)
	}
	if mailPub != nil && sender == nil {
		log.Warn("SENDGRID_API_KEY is not set: /push/email answers 503 and e-mail requests wait in their subscription", "topic", cfg.Email.Topic)
	}
	if smsPub != nil && smsSender == nil {
		log.Warn("TWILIO_ACCOUNT_SID is not set: /push/sms answers 503 and SMS requests wait in their subscription", "topic", cfg.SMSTopic)
	}

	opts := func(sent worker.SentLog) []worker.Option {
		// Each channel's fallback is the other's topic, when it has one.
		var toSMS, toMail []email.Publisher
		if smsPub != nil {
			toSMS = append(toSMS, smsPub)
		}
		if mailPub != nil {
			toMail = append(toMail, mailPub)
		}
		o := []worker.Option{
			worker.WithEmailPush(worker.HandleEmail(log, sent, composer, sender, toSMS...)),
			worker.WithSMSPush(worker.HandleSMS(log, sent, smsComposer, smsSender, toMail...)),
		}
		if mailPub != nil {
			reqs := email.Channels{Email: mailPub}
			if smsPub != nil {
				reqs.SMS = smsPub
			}
			o = append(o, worker.WithEmailRequests(reqs))
		}
		return o
	}
	return opts, closeAll, nil
}
