package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/respond"
	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// Push bodies are capped near the largest message we publish, not at the
// 1 MiB Pub/Sub allows: a larger body is not ours, and reading, decoding and
// recording it is work an attacker chooses.
const (
	// MaxBookingPush caps /push/appointments. The largest legal booking
	// request (booking.Submission's limits, JSON-escaped at worst: a name
	// of 100 '<' is 600 bytes as \u003c, an e-mail of 254 '&'-heavy bytes
	// 1,524, three 64-byte slot ids, a 40-byte state, phone, IC, reference,
	// lang, contact, RFC 3339 time and the keys) is under 2,700 bytes;
	// base64 makes that 3,600, and the envelope (ids, publish times twice,
	// a subscription name of up to ~300 bytes, the reference attribute)
	// adds under 600. 8 KiB is about twice that, room for a field added
	// to the request later (an invitation token) without retuning.
	// TestPush_LargestLegalBookingFitsTheCap builds that request.
	MaxBookingPush = 8 << 10
	// maxPushBody caps every other push route. An e-mail request carries
	// centre names and addresses from the seed CSV, which bounds neither;
	// 64 KiB holds four slots with 4 KiB of name and address each many
	// times over and is still a sixteenth of what a forged body could be.
	maxPushBody = 64 << 10
)

// Rejecter keeps a message that cannot be used, for a human.
type Rejecter interface {
	Reject(ctx context.Context, m postgres.RejectedMessage) error
}

// pushed is one push whose envelope and message decoded.
type pushed[T any] struct {
	msg T
	env pubsub.PushEnvelope
	raw []byte // the body, so a message found unusable later is still recorded
}

// pushHandler is what every push route shares: it reads the body, decodes
// the envelope and the message in it with decode, records and acknowledges
// a push that can never be handled, and hands the rest to handle, which
// answers. handle may still refuse the message with rejectMalformed.
func pushHandler[T any](log *slog.Logger, rej Rejecter, decode func(data []byte) (T, error),
	handle func(w http.ResponseWriter, r *http.Request, log *slog.Logger, p pushed[T])) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBody))
		if err != nil {
			respond.Fail(w, http.StatusRequestEntityTooLarge, respond.Error{Code: "too_large", Message: "The push body is too large."})
			return
		}
		env, reason := decodeEnvelope(raw)
		// The handling joins the trace of the request that published the
		// message (its traceparent attribute), and so do its log lines.
		ctx, span := telemetry.StartPush(r.Context(), "push "+r.URL.Path, env.Message.Attributes)
		defer span.End()
		r = r.WithContext(ctx)
		log := logging.WithSpan(ctx, logging.FromContext(ctx, log))
		var msg T
		if reason == "" {
			if msg, err = decode(env.Message.Data); err != nil {
				reason = err.Error()
			}
		}
		if reason != "" {
			if r.URL.Path == PushPath {
				telemetry.Booked(ctx, "", "rejected", time.Time{})
			}
			rejectMalformed(ctx, w, log, rej, raw, env, reason)
			return
		}
		handle(w, r, log, pushed[T]{msg: msg, env: env, raw: raw})
	})
}

// decodeJSON reads message data as JSON (what names it in the reason a
// push is refused) and holds it to check.
func decodeJSON[T any](what string, check func(T) error) func([]byte) (T, error) {
	return func(data []byte) (T, error) {
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return v, fmt.Errorf("message data is not %s: %w", what, err)
		}
		return v, check(v)
	}
}

// decodeEnvelope reads a push envelope that must carry an id and data.
func decodeEnvelope(raw []byte) (pubsub.PushEnvelope, string) {
	env, err := pubsub.DecodePush(raw)
	switch {
	case err != nil:
		return env, err.Error()
	case env.Message.ID() == "":
		return env, "push envelope has no message id"
	case len(env.Message.Data) == 0:
		return env, "message has no data"
	}
	return env, ""
}

// rejectMalformed records a push that can never be handled and acknowledges
// it: redelivering a message we cannot read would fail the same way forever.
// Only if the record cannot be written is the push answered 503.
func rejectMalformed(ctx context.Context, w http.ResponseWriter, log *slog.Logger, rej Rejecter, raw []byte, env pubsub.PushEnvelope, reason string) {
	rm := postgres.RejectedMessage{
		MessageID: env.Message.ID(), Subscription: env.Subscription,
		Data: env.Message.Data, Attributes: env.Message.Attributes, Reason: reason,
	}
	if rm.MessageID == "" {
		sum := sha256.Sum256(raw)
		rm.MessageID, rm.Data = "body-sha256:"+hex.EncodeToString(sum[:]), raw
	}
	if err := rej.Reject(ctx, rm); err != nil {
		telemetry.StoreError(ctx, "postgres")
		log.Error("record rejected message", "message_id", rm.MessageID, "error", err)
		respond.Unavailable(w, 0, "retry", "The message could not be recorded; deliver it again.")
		return
	}
	log.Warn("rejected malformed message", "message_id", rm.MessageID, "subscription", rm.Subscription, "reason", reason)
	w.WriteHeader(http.StatusNoContent)
}
