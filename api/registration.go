package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// registrationAnswer is the body of GET /registration/{reference}: the
// record without its place, which only serves to compute ahead.
type registrationAnswer struct {
	Reference        string       `json:"reference"`
	State            string       `json:"state"`
	Status           queue.Status `json:"status"`
	Ahead            *int64       `json:"ahead,omitempty"`
	ExpiresAt        *time.Time   `json:"expires_at,omitempty"`
	BookingReference string       `json:"booking_reference,omitempty"`
}

// handleRegistration answers from Redis alone: the record, and for a queued
// one with a place the state's invited-through mark, so that a person
// refreshing their place costs no database read.
func handleRegistration(log *slog.Logger, records Registrations) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		// References are read out over the phone and typed in by hand.
		ref := strings.ToUpper(strings.TrimSpace(chi.URLParam(r, "reference")))
		if !booking.ValidReference(ref) {
			fail(w, r, log, errBadRegistrationReference)
			return
		}
		rec, err := records.Get(ctx, ref)
		switch {
		case errors.Is(err, booking.ErrUnknownReference):
			fail(w, r, log, errUnknownRegistration)
			return
		case err != nil:
			fail(w, r, log, errRegistrationUnavailable.because(err))
			return
		}
		ans := registrationAnswer{Reference: rec.Reference, State: rec.State, Status: rec.Status}
		switch rec.Status {
		case queue.StatusQueued:
			// No place yet means received before the state opened: the
			// order is drawn at opening, so nobody is ahead or behind.
			if rec.Place > 0 {
				mark, err := records.Mark(ctx, rec.State)
				if err != nil {
					fail(w, r, log, errRegistrationUnavailable.because(err))
					return
				}
				ahead := max(0, rec.Place-mark-1)
				ans.Ahead = &ahead
			}
		case queue.StatusInvited:
			ans.ExpiresAt = rec.ExpiresAt
		case queue.StatusBooked:
			ans.BookingReference = rec.BookingReference
		}
		respond.JSON(w, http.StatusOK, ans)
	})
}
