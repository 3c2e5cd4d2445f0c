package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/captcha"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/ratelimit"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// maxSubmitBody is ten times a generous submission; anything larger is not
// a person filling in a form.
const maxSubmitBody = 16 << 10

type submitAnswer struct {
	Reference string         `json:"reference"`
	Status    booking.Status `json:"status"`
}

// handleSubmit checks a submission in this order: the request (media type,
// Idempotency-Key, body; the rate is limitRoutes's), the fields, a retry of
// an accepted submission (answered as before), the state and its mode, the
// invitation a queue state needs, the choices against the listing, the
// contact proof (when on, and the booking has no invitation), the captcha,
// the contact caps; then it queues the booking.
func handleSubmit(log *slog.Logger, cache *microCache, pub Publisher, statuses Statuses, abuse Abuse, human Captcha, invitations *invitationCheck, contact Proof, refs *booking.References, publishTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log := logging.FromContext(ctx, log)

		key, sub, req, err := readForm(w, r, booking.DecodeSubmission, booking.Submission.Validate)
		if err != nil {
			fail(w, r, log, err)
			return
		}

		ref := booking.NewReference()
		if key != "" {
			ref = refs.For(key, req.IDNumber)
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

		st, err := submittedState(ctx, cache, req.State)
		if err != nil {
			fail(w, r, log, err)
			return
		}
		// Before the listing: a person without a good invitation learns
		// that first, whatever is left in the slots.
		if req, err = invitations.check(ctx, log, st, sub, req); err != nil {
			fail(w, r, log, err)
			return
		}
		if err := checkAgainstListing(ctx, cache, req); err != nil {
			fail(w, r, log, err)
			return
		}
		// A booking with an invitation needs no proof: the invitation
		// reached the contact its registration proved.
		release, err := admitPerson(ctx, log, r, abuse, human, contact, req.Invitation == "", sub.Proof, sub.CaptchaToken, "submit", req)
		if err != nil {
			fail(w, r, log, err)
			return
		}

		req.Reference, req.SubmittedAt = ref, time.Now().UTC()
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		defer cancel()
		if err := pub.Publish(pctx, req); err != nil {
			release()
			fail(w, r, log, errQueueUnavailable.because(fmt.Errorf("queue booking %s: %w", ref, err)))
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

// submittedState is the /states entry of the state a submission names,
// which carries its mode. A state closed by the maintenance switch takes
// nothing new: its answer is 503 state_closed.
func submittedState(ctx context.Context, cache *microCache, code string) (listing.State, error) {
	states := cache.lastGood(ctx, statesKey)
	if states.err != nil {
		return listing.State{}, cacheError(states.err)
	}
	st, known := states.states[code]
	if !known {
		return listing.State{}, errSubmittedUnknownState
	}
	if st.Closed {
		return listing.State{}, errStateClosed
	}
	return st, nil
}

// admitForm is what POST /submit and POST /register check before reading
// the body (the client's rate is limitRoutes's): the media type, and the
// Idempotency-Key, which it returns ("" when none was sent).
func admitForm(r *http.Request) (string, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "", errNotJSON
	}
	key := r.Header.Get("Idempotency-Key")
	if _, sent := r.Header["Idempotency-Key"]; sent && !booking.ValidIdempotencyKey(key) {
		return "", errBadIdempotencyKey
	}
	return key, nil
}

// readForm reads a POST body the way /submit, /register and /proof do,
// after admitForm: within maxSubmitBody, then decode and validate. It
// returns the Idempotency-Key ("" when none was sent).
func readForm[F, V any](w http.ResponseWriter, r *http.Request, decode func(io.Reader) (F, error), validate func(F) (V, error)) (key string, form F, valid V, err error) {
	if key, err = admitForm(r); err != nil {
		return key, form, valid, err
	}
	if form, err = decode(http.MaxBytesReader(w, r.Body, maxSubmitBody)); err != nil {
		// The decoder's field errors and the size limit answer for
		// themselves; any other failure to read is the body's.
		return key, form, valid, errUnreadable.because(err)
	}
	valid, err = validate(form)
	return key, form, valid, err
}

// admitPerson is the end of the checks of /submit and /register, in this
// order: the contact proof (when on and wanted), the captcha, and the
// contact caps of scope.
//
// The captcha is last before queuing: a token is good for one
// verification, so a request refused above keeps its token for the
// corrected retry, and an accepted one's retry is answered before asking
// again. The caps are counted only once everything else has passed, and
// release gives them back if the request cannot be queued: the cap is on
// accepted requests.
func admitPerson(ctx context.Context, log *slog.Logger, r *http.Request, abuse Abuse, human Captcha, contact Proof,
	wantProof bool, got *booking.Proof, captchaToken, scope string, p booking.Request) (release func(), err error) {
	if contact.On() && wantProof {
		if err := checkProof(ctx, log, contact, got, p.Email); err != nil {
			return nil, err
		}
	}
	if human.on() {
		if err := checkCaptcha(ctx, human.Verifier, captchaToken, remoteIP(abuse.ClientIP, r)); err != nil {
			return nil, err
		}
	}
	return takeContacts(ctx, log, abuse, scope, p.Email, p.Phone)
}

// checkAgainstListing holds preferences to the state's current listing and
// refuses, before queuing, a submission whose every choice shows no room.
func checkAgainstListing(ctx context.Context, cache *microCache, req booking.Request) error {
	doc := cache.lastGood(ctx, req.State)
	if doc.err != nil {
		return cacheError(doc.err)
	}
	room := false
	for _, id := range req.Preferences {
		available, ok := doc.avail[id]
		if !ok {
			return errUnknownSlot.withf(id, req.State)
		}
		room = room || available > 0
	}
	if !room {
		return errSlotsFull
	}
	return nil
}

// remoteIP is the client's address as the captcha provider wants it: the
// address itself, not the /64 the limits count IPv6 by.
func remoteIP(c ratelimit.ClientIP, r *http.Request) string {
	if a, ok := c.Addr(r); ok {
		return a.String()
	}
	return ""
}

// maxCaptchaToken is above both providers' token sizes (Turnstile documents
// 2048 characters); anything longer is not worth a call to the provider.
const maxCaptchaToken = 4096

// checkCaptcha asks the provider about the person's token.
func checkCaptcha(ctx context.Context, v CaptchaVerifier, token, remoteIP string) error {
	if token == "" {
		return errCaptchaRequired
	}
	if len(token) > maxCaptchaToken {
		return errCaptchaFailed
	}
	err := v.Verify(ctx, token, remoteIP)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, captcha.ErrUnavailable):
		return errCaptchaUnavailable.because(err)
	default:
		return errCaptchaFailed
	}
}
