package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/respond"
	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// sendTimeout bounds one send and its record. It runs detached from the
// push request: once the provider may have the message, the record must be
// written even if Pub/Sub has stopped waiting, or the next delivery sends
// again.
const sendTimeout = 30 * time.Second

// SentLog is the record of messages sent (postgres.Emails).
type SentLog interface {
	Rejecter
	SendOnce(ctx context.Context, k notify.Key, d notify.Delivery, send func(context.Context) (notify.Outcome, error)) (notify.Outcome, bool, error)
}

// channel is what the send handler knows of one channel: its request R,
// rendered into its message M and handed to its sender.
type channel[R notify.Request, M any] struct {
	what    string // the channel's messages in logs and answers: "e-mail"
	request string // its requests in a refusal: "an e-mail request"
	setting string // the configuration that gives it a sender
	compose func(R) (M, error)
	sender  notify.Sender[M] // nil: nothing is sent and requests wait
	// address is where a request goes on this channel, which the record
	// checks against bounces and the daily cap.
	address func(R) string
	// fallback asks for the message on the person's other channel when
	// this one's address is undeliverable, reporting whether it did; nil:
	// no other channel is set up.
	fallback func(context.Context, R) (bool, error)
}

// handleSend is the push handler for a channel's topic: it renders each
// request and sends it at most once per notify.Key as far as the record can
// tell. A malformed request is recorded and acknowledged; a send that may
// succeed later (429, 5xx, a network error, another delivery sending the
// same message right now) answers 503 so Pub/Sub retries with backoff; a
// permanent refusal is recorded and acknowledged. Without a sender every
// push answers 503, so requests wait in the subscription, and in its
// dead-letter topic after the last attempt, rather than vanish.
func handleSend[R notify.Request, M any](log *slog.Logger, sent SentLog, ch channel[R, M]) http.Handler {
	decode := decodeJSON(ch.request, func(r R) error {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("%s request: %w", ch.what, err)
		}
		return nil
	})
	return pushHandler(log, sent, decode, func(w http.ResponseWriter, r *http.Request, log *slog.Logger, p pushed[R]) {
		ctx, key := r.Context(), p.msg.Key()
		if ch.sender == nil {
			telemetry.Sent(ctx, string(key.Channel), "off")
			log.Warn(ch.what+" not sent: no sender configured ("+ch.setting+")", "reference", key.Reference, "kind", string(key.Kind))
			respond.Unavailable(w, time.Minute, string(key.Channel)+"_off", "No "+ch.what+" sender is configured; deliver it again later.")
			return
		}
		msg, err := ch.compose(p.msg)
		if err != nil {
			rejectMalformed(ctx, w, log, sent, p.raw, p.env, "render: "+err.Error())
			return
		}

		d := notify.Delivery{MessageID: p.env.Message.ID(), Attempt: p.env.DeliveryAttempt, Recipient: ch.address(p.msg)}
		if t, err := time.Parse(time.RFC3339Nano, p.env.Message.PublishTime); err == nil {
			d.RequestedAt = t
		}
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		defer cancel()
		out, already, err := sent.SendOnce(sendCtx, key, d, func(ctx context.Context) (notify.Outcome, error) {
			return notify.Send(ctx, ch.sender, msg)
		})
		log = log.With("reference", key.Reference, "kind", string(key.Kind), "channel", string(key.Channel))
		switch {
		case errors.Is(err, notify.ErrBusy):
			telemetry.Sent(ctx, string(key.Channel), "busy")
			log.Info(ch.what + " is being sent by another delivery; asking for redelivery")
			respond.Unavailable(w, 0, "in_progress", "This "+ch.what+" is being sent; deliver it again.")
			return
		case err != nil:
			telemetry.Sent(ctx, string(key.Channel), "retry")
			log.Warn(ch.what+" not sent; asking for redelivery", "delivery_attempt", d.Attempt, "error", err)
			respond.Unavailable(w, 0, "retry", "The "+ch.what+" could not be sent; deliver it again.")
			return
		}
		// Asked again on every delivery that finds the outcome, so a
		// publish lost before the ack is asked for by the redelivery; the
		// other channel's record sends it once.
		if out.Result == notify.Undeliverable && ch.fallback != nil {
			diverted, err := ch.fallback(ctx, p.msg)
			if err != nil {
				log.Warn(ch.what+" undeliverable and its fallback not requested; asking for redelivery", "error", err)
				respond.Unavailable(w, 0, "retry", "The other channel could not be asked; deliver it again.")
				return
			}
			log = log.With("fallback", diverted)
		}
		// The address is personal data and stays out of the logs; the
		// reference leads to it.
		telemetry.Sent(ctx, string(key.Channel), sendOutcome(out, already))
		switch {
		case already:
			log.Info(ch.what+" already finished; acknowledging", "outcome", string(out.Result))
		case out.Result == notify.Undeliverable, out.Result == notify.Capped:
			log.Warn(ch.what+" not sent", "outcome", string(out.Result), "detail", out.Detail)
		case out.Result == notify.Rejected:
			log.Warn(ch.what+" refused by the provider for good", "provider_status", out.ProviderStatus, "detail", out.Detail)
		default:
			log.Info(ch.what+" sent", "provider_id", out.ProviderID)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// sendOutcome is a finished send's outcome label in telemetry.MessagesSent.
func sendOutcome(out notify.Outcome, already bool) string {
	switch {
	case already:
		return "already"
	case out.Result == notify.Rejected:
		return "rejected"
	default:
		return "sent"
	}
}
