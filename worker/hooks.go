package worker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/respond"
	"github.com/vaxbook/vaxbook/internal/sendgrid"
	"github.com/vaxbook/vaxbook/internal/telemetry"
	"github.com/vaxbook/vaxbook/internal/twilio"
)

// The delivery hooks: public endpoints the providers call after accepting
// a message (`vaxbook hooks`, the Cloud Run service `hooks`).
const (
	TwilioHookPath   = "/hooks/twilio"
	SendGridHookPath = "/hooks/sendgrid"
)

// hookRoutes are the hooks' route labels in metrics (role hooks).
var hookRoutes = telemetry.NewRoutes("hooks", TwilioHookPath, SendGridHookPath, "/healthz", "/readyz")

// The hooks are public, so their bodies are capped near what the providers
// send: a Twilio status callback is a form of some 20 short fields (well
// under 2 KiB); SendGrid posts its events in batches, which its docs put
// well under 1 MiB.
const (
	maxTwilioHook   = 16 << 10
	maxSendGridHook = 1 << 20
)

// DeliveryLog records what a provider reported (postgres.Deliveries).
type DeliveryLog interface {
	Record(ctx context.Context, ch notify.Channel, providerID string, e notify.Event, detail string) (known bool, err error)
	Ping(ctx context.Context) error
}

// FormVerifier checks Twilio's signature of a callback (twilio.Validator).
type FormVerifier interface {
	Valid(body []byte, signature string) bool
}

// EventVerifier checks SendGrid's signature of a webhook POST
// (sendgrid.EventVerifier).
type EventVerifier interface {
	Valid(body []byte, signature, timestamp string) bool
}

// NewHooksHandler serves the delivery hooks and nothing else but health:
// no push route, so the public service exposes only these. A nil verifier
// leaves its hook out (404).
func NewHooksHandler(log *slog.Logger, project string, deliveries DeliveryLog, tw FormVerifier, sg EventVerifier) http.Handler {
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler { return hookRoutes.Count(next, "") })
	r.Use(logging.Middleware(log, project))
	if tw != nil {
		r.Method(http.MethodPost, TwilioHookPath, HandleTwilioHook(log, deliveries, tw))
	}
	if sg != nil {
		r.Method(http.MethodPost, SendGridHookPath, HandleSendGridHook(log, deliveries, sg))
	}
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := deliveries.Ping(r.Context()); err != nil {
			logging.FromContext(r.Context(), log).Warn("not ready: postgres", "error", err)
			respond.Unavailable(w, 0, "postgres_unreachable", "The database cannot be reached.")
			return
		}
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return r
}

// HandleTwilioHook records Twilio's status callbacks. Every request must
// carry X-Twilio-Signature over the configured callback URL and its form;
// anything else is refused (403) before it is parsed. A callback recorded
// before changes nothing, so a replay is harmless.
func HandleTwilioHook(log *slog.Logger, deliveries DeliveryLog, v FormVerifier) http.Handler {
	return hook(log, maxTwilioHook, func(r *http.Request, body []byte) bool {
		return v.Valid(body, r.Header.Get("X-Twilio-Signature"))
	}, func(ctx context.Context, log *slog.Logger, body []byte) (int, error) {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("MessageSid") == "" {
			return http.StatusBadRequest, errors.New("not a status callback")
		}
		e, ok := twilio.Meaning(form.Get("MessageStatus"), form.Get("ErrorCode"))
		if !ok {
			return http.StatusOK, nil
		}
		return record(ctx, log, deliveries, notify.ChannelSMS, form.Get("MessageSid"), e, form.Get("ErrorCode"))
	})
}

// HandleSendGridHook records SendGrid's Event Webhook posts, each signed
// with the account's ECDSA key (X-Twilio-Email-Event-Webhook-Signature over
// its timestamp and the body); anything else is refused (403) before it is
// parsed. An event recorded before changes nothing.
func HandleSendGridHook(log *slog.Logger, deliveries DeliveryLog, v EventVerifier) http.Handler {
	return hook(log, maxSendGridHook, func(r *http.Request, body []byte) bool {
		return v.Valid(body, r.Header.Get(sendgrid.SignatureHeader), r.Header.Get(sendgrid.TimestampHeader))
	}, func(ctx context.Context, log *slog.Logger, body []byte) (int, error) {
		var events []sendgrid.Event
		if err := json.Unmarshal(body, &events); err != nil {
			return http.StatusBadRequest, errors.New("not a JSON array of events")
		}
		for _, ev := range events {
			e, ok := ev.Meaning()
			if !ok || ev.ProviderID() == "" {
				continue
			}
			if status, err := record(ctx, log, deliveries, notify.ChannelEmail, ev.ProviderID(), e, ev.Reason); err != nil {
				return status, err
			}
		}
		return http.StatusOK, nil
	})
}

// hook reads a capped body, refuses it unless signed, and answers what
// handle reports: 2xx done, 4xx never to be sent again, 5xx try later.
func hook(log *slog.Logger, max int64, signed func(*http.Request, []byte) bool,
	handle func(ctx context.Context, log *slog.Logger, body []byte) (int, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log := logging.FromContext(ctx, log)
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			log.Warn("delivery hook body over its cap", "path", r.URL.Path)
			respond.Fail(w, http.StatusRequestEntityTooLarge, respond.Error{Code: "too_large", Message: "The body is larger than any callback."})
			return
		}
		if err != nil {
			respond.Fail(w, http.StatusBadRequest, respond.Error{Code: "unreadable", Message: "The body could not be read."})
			return
		}
		if !signed(r, body) {
			log.Warn("delivery hook refused: signature missing or wrong", "path", r.URL.Path)
			respond.Fail(w, http.StatusForbidden, respond.Error{Code: "bad_signature", Message: "The request is not signed by the provider."})
			return
		}
		status, err := handle(ctx, log, body)
		switch {
		case err != nil && status >= 500:
			respond.Unavailable(w, 0, "retry", "The event could not be recorded; send it again.")
		case err != nil:
			log.Warn("delivery hook: signed but unusable", "path", r.URL.Path, "error", err)
			respond.Fail(w, status, respond.Error{Code: "malformed", Message: err.Error()})
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
}

func record(ctx context.Context, log *slog.Logger, deliveries DeliveryLog, ch notify.Channel, id string, e notify.Event, detail string) (int, error) {
	known, err := deliveries.Record(ctx, ch, id, e, detail)
	if err != nil {
		log.Error("record delivery event", "channel", string(ch), "provider_id", id, "event", string(e), "error", err)
		return http.StatusServiceUnavailable, err
	}
	log.Info("delivery event", "channel", string(ch), "provider_id", id, "event", string(e), "known", known)
	return http.StatusOK, nil
}
