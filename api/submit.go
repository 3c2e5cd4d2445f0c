package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/captcha"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// maxSubmitBody is ten times a generous submission; anything larger is not
// a person filling in a form.
const maxSubmitBody = 16 << 10

// retryPublish is how long to wait before retrying when Pub/Sub is down.
const retryPublish = 5 * time.Second

type submitAnswer struct {
	Reference string         `json:"reference"`
	Status    booking.Status `json:"status"`
}

func handleSubmit(log *slog.Logger, cache *microCache, pub Publisher, statuses Statuses, limiter *ipLimiter, human Captcha, publishTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log := logging.FromContext(ctx, log)

		if !limiter.allow(clientIP(r)) {
			w.Header().Set("Retry-After", "1")
			respond.Fail(w, http.StatusTooManyRequests, respond.Error{Code: "rate_limited", Message: "Too many submissions from this address; please wait a moment and try again."})
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			respond.Fail(w, http.StatusUnsupportedMediaType, respond.Error{Code: "unsupported_media_type", Message: "Send the submission as application/json."})
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if _, sent := r.Header["Idempotency-Key"]; sent && !booking.ValidIdempotencyKey(key) {
			respond.Fail(w, http.StatusBadRequest, respond.Error{Code: "invalid", Field: "Idempotency-Key", Message: "Idempotency-Key must be 1 to 255 printable ASCII characters."})
			return
		}
		sub, err := booking.DecodeSubmission(http.MaxBytesReader(w, r.Body, maxSubmitBody))
		if err != nil {
			failInput(w, err)
			return
		}
		req, err := sub.Validate()
		if err != nil {
			failInput(w, err)
			return
		}

		ref := booking.NewReference()
		if key != "" {
			ref = booking.ReferenceFor(key, req.IDNumber)
			// A retry of an accepted submission is answered from its status
			// record: it was queued already and must not be queued again.
			if prior, err := statuses.GetRaw(ctx, ref); err == nil {
				var ans submitAnswer
				if json.Unmarshal(prior, &ans) == nil && ans.Reference == ref {
					respond.JSON(w, http.StatusAccepted, ans)
					return
				}
			}
		}

		if !checkAgainstListing(w, log, cache, ctx, req) {
			return
		}
		// Last before queuing: a token is good for one verification, so a
		// submission refused above keeps its token for the corrected retry,
		// and an accepted one's retry is answered above without asking again.
		if human.on() && !checkCaptcha(w, log, ctx, human.Verifier, sub.CaptchaToken, clientIP(r)) {
			return
		}

		req.Reference, req.SubmittedAt = ref, time.Now().UTC()
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		defer cancel()
		if err := pub.Publish(pctx, req); err != nil {
			log.Error("queue booking", "reference", ref, "error", err)
			respond.Unavailable(w, retryPublish, "queue_unavailable", "Your booking could not be queued; nothing was saved. Please try again shortly.")
			return
		}
		if err := statuses.SetPending(ctx, ref); err != nil {
			// The booking is queued and will be decided; only the interim
			// status is missing until the worker writes the final one.
			log.Warn("record pending status", "reference", ref, "error", err)
		}
		respond.JSON(w, http.StatusAccepted, submitAnswer{Reference: ref, Status: booking.StatusPending})
	})
}

// checkAgainstListing holds preferences to the state's current listing and
// refuses, before queuing, a submission whose every choice shows no room.
func checkAgainstListing(w http.ResponseWriter, log *slog.Logger, cache *microCache, ctx context.Context, req booking.Request) bool {
	states := cache.get(ctx, statesKey)
	if states.err != nil {
		cacheUnavailable(w, log, states.err)
		return false
	}
	if !states.stateCodes[req.State] {
		respond.Fail(w, http.StatusBadRequest, respond.Error{Code: "unknown_state", Field: "state", Message: "There is no state with this code; GET /states lists them."})
		return false
	}
	doc := cache.get(ctx, req.State)
	if doc.err != nil {
		cacheUnavailable(w, log, doc.err)
		return false
	}
	room := false
	for _, id := range req.Preferences {
		available, ok := doc.avail[id]
		if !ok {
			respond.Fail(w, http.StatusBadRequest, respond.Error{Code: "unknown_slot", Field: "preferences",
				Message: fmt.Sprintf("preferences: %q is not a slot in %s.", id, req.State)})
			return false
		}
		room = room || available > 0
	}
	if !room {
		respond.Fail(w, http.StatusConflict, respond.Error{Code: "slots_full", Field: "preferences", Message: "Every slot you chose is already full; please choose others."})
		return false
	}
	return true
}

// failInput maps the decoder's and validator's errors to the contract's
// answers: one table for every input error.
func failInput(w http.ResponseWriter, err error) {
	var (
		tooLarge *http.MaxBytesError
		field    *booking.FieldError
		invalid  *booking.ValidationError
	)
	switch {
	case errors.As(err, &tooLarge):
		respond.Fail(w, http.StatusRequestEntityTooLarge, respond.Error{Code: "too_large", Message: fmt.Sprintf("The submission is larger than %d bytes.", maxSubmitBody)})
	case errors.As(err, &invalid) && len(invalid.Fields) > 0:
		e := respond.Error{Code: invalid.Fields[0].Code, Field: invalid.Fields[0].Field, Message: invalid.Fields[0].Message}
		for _, f := range invalid.Fields {
			e.Fields = append(e.Fields, respond.FieldError{Field: f.Field, Code: f.Code, Message: f.Message})
		}
		respond.Fail(w, http.StatusBadRequest, e)
	case errors.As(err, &field):
		respond.Fail(w, http.StatusBadRequest, respond.Error{Code: field.Code, Field: field.Field, Message: field.Message})
	default:
		respond.Fail(w, http.StatusBadRequest, respond.Error{Code: "invalid_json", Message: "The body is not a valid submission."})
	}
}

// retryCaptcha is how long to wait when the captcha provider cannot answer.
const retryCaptcha = 5 * time.Second

// maxCaptchaToken is above both providers' token sizes (Turnstile documents
// 2048 characters); anything longer is not worth a call to the provider.
const maxCaptchaToken = 4096

// checkCaptcha asks the provider about the person's token and answers the
// request itself when the answer is not yes.
func checkCaptcha(w http.ResponseWriter, log *slog.Logger, ctx context.Context, v CaptchaVerifier, token, remoteIP string) bool {
	if token == "" {
		respond.Fail(w, http.StatusBadRequest, respond.Error{Code: booking.CodeRequired, Field: "captcha_token",
			Message: "captcha_token is required: complete the human check and submit again."})
		return false
	}
	err := errors.New("token too long")
	if len(token) <= maxCaptchaToken {
		err = v.Verify(ctx, token, remoteIP)
	}
	switch {
	case err == nil:
		return true
	case errors.Is(err, captcha.ErrUnavailable):
		log.Error("verify captcha", "error", err)
		respond.Unavailable(w, retryCaptcha, "captcha_unavailable", "The human check cannot be verified right now; nothing was saved. Please try again shortly.")
	default:
		respond.Fail(w, http.StatusBadRequest, respond.Error{Code: "captcha_failed", Field: "captcha_token",
			Message: "captcha_token was not accepted: complete the human check again and submit."})
	}
	return false
}
