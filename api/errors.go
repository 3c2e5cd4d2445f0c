package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// apiError is an answer other than success: the contract's machine code with
// its status, a sentence for people, and the field at fault. Clients switch
// on the code, so each answer the API gives is declared once, below.
type apiError struct {
	status  int
	code    string
	field   string
	message string        // a format for the answers built with withf
	retry   time.Duration // sent as Retry-After when set
	cause   error         // what failed inside; fail logs it for 5xx
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.code + ": " + e.cause.Error()
	}
	return e.code + ": " + e.message
}

func (e *apiError) Unwrap() error { return e.cause }

// withf is the answer with its message filled in from args.
func (e *apiError) withf(args ...any) *apiError {
	c := *e
	c.message = fmt.Sprintf(e.message, args...)
	return &c
}

// because is the answer to a failure of ours, which fail logs.
func (e *apiError) because(err error) *apiError {
	c := *e
	c.cause = err
	return &c
}

// after is the answer with its Retry-After set to d, rounded up to whole
// seconds (at least one).
func (e *apiError) after(d time.Duration) *apiError {
	c := *e
	c.retry = time.Duration(max(1, ceilSeconds(d))) * time.Second
	return &c
}

// errorTable is every declared answer, so a test can hold it against the
// contract.
var errorTable []*apiError

// answer declares one row of the table.
func answer(status int, code, field, message string, retry time.Duration) *apiError {
	e := &apiError{status: status, code: code, field: field, message: message, retry: retry}
	errorTable = append(errorTable, e)
	return e
}

// retryCache is how long a client should wait when the cache is not there;
// the cache-fill loop writes every few seconds.
const retryCache = 5 * time.Second

// retrySoon is how long to wait when a dependency (Pub/Sub, the captcha
// provider) cannot answer.
const retrySoon = 5 * time.Second

// The API's error answers. The 429s' Retry-After is the limit's own (after);
// the one declared is what testdata/errors.golden records for a limit of
// one a minute and a cap window of an hour. The same code may have two rows where the contract
// gives it two statuses: a state code unknown in the address of /listppv is a
// 404 (there is no such document), in the body of /submit a 400 (one bad
// field among others).
var (
	errNoRoute          = answer(http.StatusNotFound, "not_found", "", "There is nothing at this address.", 0)
	errMethodNotAllowed = answer(http.StatusMethodNotAllowed, "method_not_allowed", "", "This address does not accept that method.", 0)
	errInternal         = answer(http.StatusInternalServerError, "internal", "", "Something went wrong on our side; please try again, and quote the request id if it keeps happening.", 0)
	errOverloaded       = answer(http.StatusServiceUnavailable, "overloaded", "", "This server is busy; please try again in a moment.", time.Second)

	errStateRequired    = answer(http.StatusBadRequest, booking.CodeRequired, "state", "state is required, e.g. /listppv?state=selangor.", 0)
	errUnknownState     = answer(http.StatusNotFound, "unknown_state", "state", "There is no state with this code; GET /states lists them.", 0)
	errCacheNotReady    = answer(http.StatusServiceUnavailable, "cache_not_ready", "", "Appointment availability is being prepared; please try again in a few seconds.", retryCache)
	errCacheUnavailable = answer(http.StatusServiceUnavailable, "cache_unavailable", "", "Appointment availability cannot be read right now; please try again in a few seconds.", retryCache)

	errNotReady         = answer(http.StatusServiceUnavailable, "cache_not_ready", "", "The availability cache has not been filled yet.", retryCache)
	errRedisUnreachable = answer(http.StatusServiceUnavailable, "redis_unreachable", "", "The availability cache cannot be reached.", retryCache)
	errCacheStale       = answer(http.StatusServiceUnavailable, "cache_stale", "", "The availability cache is %s old.", retryCache)

	errBadReference      = answer(http.StatusBadRequest, booking.CodeInvalid, "reference", "reference is not a vaxbook booking reference.", 0)
	errUnknownReference  = answer(http.StatusNotFound, "not_found", "reference", "No booking is known under this reference.", 0)
	errStatusUnavailable = answer(http.StatusServiceUnavailable, "status_unavailable", "", "The booking status cannot be read right now; please try again shortly.", retryCache)
	errStatusRestoring   = answer(http.StatusServiceUnavailable, "status_restoring", "", "Booking statuses are being restored after a fault; if this reference was accepted, its status shows again shortly. Please try again in a few seconds.", retryCache)

	errRateLimited           = answer(http.StatusTooManyRequests, "rate_limited", "", "Too many requests from this address; please wait a moment and try again.", time.Minute)
	errContactLimitEmail     = answer(http.StatusTooManyRequests, "contact_limit", "email", "This e-mail address has been used for as many bookings as allowed for now; please try again later or use another address.", time.Hour)
	errContactLimitPhone     = answer(http.StatusTooManyRequests, "contact_limit", "phone", "This phone number has been used for as many bookings as allowed for now; please try again later or use another number.", time.Hour)
	errNotJSON               = answer(http.StatusUnsupportedMediaType, "unsupported_media_type", "", "Send the submission as application/json.", 0)
	errBadIdempotencyKey     = answer(http.StatusBadRequest, booking.CodeInvalid, "Idempotency-Key", "Idempotency-Key must be 1 to 255 printable ASCII characters.", 0)
	errTooLarge              = answer(http.StatusRequestEntityTooLarge, "too_large", "", fmt.Sprintf("The submission is larger than %d bytes.", maxSubmitBody), 0)
	errUnreadable            = answer(http.StatusBadRequest, booking.CodeInvalidJSON, "", "The body is not a valid submission.", 0)
	errSubmittedUnknownState = answer(http.StatusBadRequest, errUnknownState.code, errUnknownState.field, errUnknownState.message, 0)
	errUnknownSlot           = answer(http.StatusBadRequest, "unknown_slot", "preferences", "preferences: %q is not a slot in %s.", 0)
	errSlotsFull             = answer(http.StatusConflict, "slots_full", "preferences", "Every slot you chose is already full; please choose others.", 0)
	errCaptchaRequired       = answer(http.StatusBadRequest, booking.CodeRequired, "captcha_token", "captcha_token is required: complete the human check and submit again.", 0)
	errCaptchaFailed         = answer(http.StatusBadRequest, "captcha_failed", "captcha_token", "captcha_token was not accepted: complete the human check again and submit.", 0)
	errCaptchaUnavailable    = answer(http.StatusServiceUnavailable, "captcha_unavailable", "", "The human check cannot be verified right now; nothing was saved. Please try again shortly.", retrySoon)
	// The maintenance switch (`vaxbook state set STATE --closed`).
	errStateClosed      = answer(http.StatusServiceUnavailable, "state_closed", "state", "Bookings and registrations in this state are paused for maintenance; nothing was saved. Lists and statuses still work; please try again later.", retryConfig)
	errQueueUnavailable = answer(http.StatusServiceUnavailable, "queue_unavailable", "", "Your booking could not be queued; nothing was saved. Please try again shortly.", retrySoon)

	// The registration queue (docs/queue.md).
	errNotQueueMode             = answer(http.StatusConflict, "not_queue_mode", "state", "This state books first come, first served: book with POST /submit.", 0)
	errRegistrationUnqueued     = answer(http.StatusServiceUnavailable, errQueueUnavailable.code, "", "Your registration could not be queued; nothing was saved. Please try again shortly.", retrySoon)
	errBadRegistrationReference = answer(http.StatusBadRequest, booking.CodeInvalid, "reference", "reference is not a vaxbook registration reference.", 0)
	errUnknownRegistration      = answer(http.StatusNotFound, errUnknownReference.code, "reference", "No registration is known under this reference.", 0)
	errRegistrationUnavailable  = answer(http.StatusServiceUnavailable, errStatusUnavailable.code, "", "The registration status cannot be read right now; please try again shortly.", retryCache)

	// Booking with an invitation in a queue state (docs/queue.md).
	errInvitationRequired     = answer(http.StatusForbidden, "invitation_required", "invitation", "This state books by invitation: register, and book with the link your invitation brings.", 0)
	errInvitationInvalid      = answer(http.StatusForbidden, "invitation_invalid", "invitation", "This invitation is not valid for this state; open the link in your invitation message again.", 0)
	errInvitationNotYours     = answer(http.StatusForbidden, "invitation_not_yours", "invitation", "This invitation was issued for another ID number: enter the one you registered with.", 0)
	errInvitationExpired      = answer(http.StatusGone, "invitation_expired", "invitation", "This invitation has expired; please register again.", 0)
	errInvitationUsed         = answer(http.StatusConflict, "invitation_used", "invitation", "This invitation has already been used to book; your registration shows the booking.", 0)
	errInvitationsUnavailable = answer(http.StatusServiceUnavailable, "invitations_unavailable", "", "Invitations cannot be checked right now; nothing was saved. Please try again later.", retryConfig)

	// Contact proof, when CONTACT_PROOF is on (docs/contract.md, "Contact proof").
	errProofRequired     = answer(http.StatusForbidden, "proof_required", "proof", "Confirm your e-mail address first: ask for a code (POST /proof) and send it with the form.", 0)
	errProofInvalid      = answer(http.StatusForbidden, "proof_invalid", "proof", "This code is not right for this e-mail address; check the code in your e-mail, or ask for a new one.", 0)
	errProofExpired      = answer(http.StatusGone, "proof_expired", "proof", "This code has expired; please ask for a new one.", 0)
	errProofTries        = answer(http.StatusTooManyRequests, "proof_attempts", "proof", "Too many wrong codes for this e-mail; please ask for a new code.", 0)
	errProofUnavailable  = answer(http.StatusServiceUnavailable, "proof_unavailable", "", "Your code cannot be checked right now; nothing was saved. Please try again shortly.", retrySoon)
	errProofUnsent       = answer(http.StatusServiceUnavailable, "proof_unavailable", "", "Your code could not be sent; please try again shortly.", retrySoon)
	errProofContactLimit = answer(http.StatusTooManyRequests, "contact_limit", "email", "We have sent as many codes to this e-mail address as allowed for now; please use the last one, or try again later.", time.Hour)
)

// After the booking (docs/contract.md, "After the booking").
var (
	errManageTokenRequired = answer(http.StatusUnauthorized, "manage_token_required", "token", "Open the link in your confirmation message: it carries the token this needs.", 0)
	errManageInvalid       = answer(http.StatusForbidden, "manage_invalid", "token", "This link does not open a booking; open the link in your latest message, or ask for it again with your reference and ID number.", 0)
	errManageExpired       = answer(http.StatusGone, "manage_expired", "token", "This appointment has passed, so its link no longer works.", 0)
	errAlreadyCancelled    = answer(http.StatusConflict, "already_cancelled", "", "This booking is already cancelled; you may book again.", 0)
	errChangeToSameSlot    = answer(http.StatusBadRequest, "same_slot", "preferences", "preferences: choose slots other than the one you are booked in.", 0)
	errManageUnqueued      = answer(http.StatusServiceUnavailable, errQueueUnavailable.code, "", "Your request could not be queued; nothing was changed. Please try again shortly.", retrySoon)
)

// retryConfig is how long to wait when a setting of the deployment is
// missing: an operator has to act, so asking every few seconds helps no one.
const retryConfig = time.Minute

// fail answers err: a submission's field errors with their own codes, a
// declared answer as declared, anything else as errInternal. It logs what
// failed inside, once, here at the edge; the client gets the request id to
// quote instead.
func fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var (
		tooLarge *http.MaxBytesError
		invalid  *booking.ValidationError
		field    *booking.FieldError
		e        *apiError
	)
	switch {
	case errors.As(err, &tooLarge):
		e = errTooLarge
	case errors.As(err, &invalid) && len(invalid.Fields) > 0:
		first := invalid.Fields[0]
		body := respond.Error{Code: first.Code, Field: first.Field, Message: first.Message}
		for _, f := range invalid.Fields {
			body.Fields = append(body.Fields, respond.FieldError{Field: f.Field, Code: f.Code, Message: f.Message})
		}
		respond.Fail(w, http.StatusBadRequest, body)
		return
	case errors.As(err, &field):
		respond.Fail(w, http.StatusBadRequest, respond.Error{Code: field.Code, Field: field.Field, Message: field.Message})
		return
	case errors.As(err, &e):
		if e.cause != nil && e.status >= http.StatusInternalServerError {
			logging.FromContext(r.Context(), log).Error("answer "+e.code, "error", e.cause)
		}
	default:
		logging.FromContext(r.Context(), log).Error("answer "+errInternal.code, "error", err)
		e = errInternal
	}
	if e.retry > 0 {
		respond.RetryAfter(w, e.retry)
	}
	respond.Fail(w, e.status, respond.Error{Code: e.code, Field: e.field, Message: e.message})
}
