package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// EmailPushPath is where email-topic's push subscription (email-push) posts.
const EmailPushPath = "/push/email"

// emailTimeout bounds one send and its record. It runs detached from the
// push request: once SendGrid may have the message, the record must be
// written even if Pub/Sub has stopped waiting, or the next delivery sends
// again.
const emailTimeout = 30 * time.Second

// EmailLog is the record of e-mails sent (postgres.Emails).
type EmailLog interface {
	Rejecter
	SendOnce(ctx context.Context, k postgres.EmailKey, send func(context.Context) (postgres.EmailOutcome, error)) (postgres.EmailOutcome, bool, error)
}

// Composer renders an e-mail request (email.Composer).
type Composer interface {
	Compose(r email.Request) (email.Message, error)
}

// HandleEmail is the push handler for email-topic: it renders each request
// and sends it at most once per (reference, kind) as far as the record can
// tell. A malformed request is recorded and acknowledged; a send that may
// succeed later (429, 5xx, a network error, another delivery sending the same
// e-mail right now) answers 503 so Pub/Sub retries with backoff; a permanent
// refusal is recorded and acknowledged. With a nil sender (no SendGrid key)
// every push answers 503, so requests wait in the subscription, and in its
// dead-letter topic after the last attempt, rather than vanish.
func HandleEmail(log *slog.Logger, sent EmailLog, composer Composer, sender email.Sender) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log := logging.FromContext(ctx, log)

		raw, ok := readPush(w, r)
		if !ok {
			return
		}
		env, reason := decodeEnvelope(raw)
		var req email.Request
		if reason == "" {
			if err := json.Unmarshal(env.Message.Data, &req); err != nil {
				reason = fmt.Sprintf("message data is not an e-mail request: %v", err)
			} else if err := req.Validate(); err != nil {
				reason = "e-mail request: " + err.Error()
			}
		}
		if reason != "" {
			rejectMalformed(ctx, w, log, sent, raw, env, reason)
			return
		}
		if sender == nil {
			log.Warn("e-mail not sent: no sender configured (SENDGRID_API_KEY)", "reference", req.Reference, "kind", string(req.Kind))
			respond.Unavailable(w, time.Minute, "email_off", "No e-mail sender is configured; deliver it again later.")
			return
		}
		msg, err := composer.Compose(req)
		if err != nil {
			rejectMalformed(ctx, w, log, sent, raw, env, "render: "+err.Error())
			return
		}

		key := postgres.EmailKey{
			Reference: req.Reference, Kind: string(req.Kind), MessageID: env.Message.ID(),
			DeliveryAttempt: env.DeliveryAttempt,
		}
		if t, err := time.Parse(time.RFC3339Nano, env.Message.PublishTime); err == nil {
			key.RequestedAt = t
		}
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), emailTimeout)
		defer cancel()
		out, already, err := sent.SendOnce(sendCtx, key, func(ctx context.Context) (postgres.EmailOutcome, error) {
			return send(ctx, sender, msg)
		})
		switch {
		case errors.Is(err, postgres.ErrEmailBusy):
			log.Info("e-mail is being sent by another delivery; asking for redelivery", "reference", req.Reference, "kind", key.Kind)
			respond.Unavailable(w, 0, "in_progress", "This e-mail is being sent; deliver it again.")
			return
		case err != nil:
			log.Warn("e-mail not sent; asking for redelivery", "reference", req.Reference, "kind", key.Kind,
				"delivery_attempt", env.DeliveryAttempt, "error", err)
			respond.Unavailable(w, 0, "retry", "The e-mail could not be sent; deliver it again.")
			return
		}
		// The address is personal data and stays out of the logs; the
		// reference leads to it.
		switch {
		case already:
			log.Info("e-mail already finished; acknowledging", "reference", req.Reference, "kind", key.Kind, "outcome", out.Outcome)
		case out.Outcome == postgres.EmailRejected:
			log.Warn("e-mail refused by the provider for good", "reference", req.Reference, "kind", key.Kind,
				"provider_status", out.ProviderStatus, "detail", out.Detail)
		default:
			log.Info("e-mail sent", "reference", req.Reference, "kind", key.Kind, "provider_id", out.ProviderID)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// send turns the sender's answer into an outcome to record, or an error for
// a try that may succeed later.
func send(ctx context.Context, sender email.Sender, msg email.Message) (postgres.EmailOutcome, error) {
	rec, err := sender.Send(ctx, msg)
	if rej, ok := errors.AsType[*email.RejectedError](err); ok {
		return postgres.EmailOutcome{Outcome: postgres.EmailRejected, ProviderStatus: rej.Status, Detail: rej.Detail}, nil
	}
	if err != nil {
		return postgres.EmailOutcome{}, err
	}
	return postgres.EmailOutcome{Outcome: postgres.EmailSent, ProviderStatus: rec.Status, ProviderID: rec.ID}, nil
}
