package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/closing"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// MoveWindow is how long people booked on a closing session have, by
// default, to move to another time before what stayed is cancelled; never
// past an hour before the session would have started.
const MoveWindow = 24 * time.Hour

// myt is Malaysia's time, UTC+8 all year: a session's date and time are.
var myt = time.FixedZone("MYT", 8*60*60)

// closeBody is what staff send to close: by default people are offered a
// change of time until MoveWindow has passed; "offer_change": false
// cancels at once; "move_by" (RFC 3339) sets the deadline.
type closeBody struct {
	OfferChange *bool  `json:"offer_change"`
	MoveBy      string `json:"move_by"`
}

// handleClose closes one session: POST /admin/api/slots/{id}/close.
func handleClose(log *slog.Logger, o Options) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, s postgres.Staff) {
		closeSessions(w, r, log, o, s, r.PathValue("id"), "", "")
	}
}

// handleCloseDay closes every session of a centre on a date:
// POST /admin/api/centres/{id}/days/{date}/close.
func handleCloseDay(log *slog.Logger, o Options) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, s postgres.Staff) {
		date := r.PathValue("date")
		if _, err := time.Parse(time.DateOnly, date); err != nil {
			badRequest(w, "date", "The date must be YYYY-MM-DD.")
			return
		}
		closeSessions(w, r, log, o, s, "", r.PathValue("id"), date)
	}
}

// closeSessions closes the sessions (one slot, or a centre's day) in one
// transaction, then either finishes at once (no change offered, or no time
// left to offer one) or tells each person booked that they may move until
// the deadline. A retry after a failure here closes nothing twice and tells
// nobody twice (each message's send-once key).
func closeSessions(w http.ResponseWriter, r *http.Request, log *slog.Logger, o Options, s postgres.Staff, slot, centre, date string) {
	ctx := r.Context()
	var body closeBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		badRequest(w, "", "The body must be a JSON object.")
		return
	}
	sessions, err := o.Store.SessionsToClose(ctx, s, slot, centre, date)
	if err != nil {
		fail(w, log, err)
		return
	}
	if len(sessions) == 0 {
		badRequest(w, "date", "The centre has no sessions on that day.")
		return
	}
	now := time.Now()
	cancelAt, field, msg := deadline(body, sessions, now)
	if field != "" {
		badRequest(w, field, msg)
		return
	}
	slots := ids(sessions)
	closed, err := o.Store.CloseSessions(ctx, s, slots, cancelAt)
	if err != nil {
		fail(w, log, err)
		return
	}
	closer := closing.Closer{Store: o.Store, Statuses: o.Statuses, Mail: o.Mail}
	out := closeAnswer{Slots: []closedSlot{}}
	for _, c := range closed {
		if c.Slot.CancelAt == nil {
			continue // closed before closings offered a change: nothing left to do
		}
		// Cancelled at once when staff offered no change (also on a session
		// closing already: "cancel the rest now"), or when its time is up.
		if !cancelAt.After(now) || !c.Slot.CancelAt.After(time.Now()) {
			n, err := closer.Finish(ctx, c.Slot.ID, s.Email)
			if err != nil {
				log.Error("close: cancel and tell", "slot", c.Slot.ID, "error", err)
				respond.Unavailable(w, 0, "retry", "The session is closed, but not everyone could be told yet: close it again.")
				return
			}
			out.Cancelled += n
			out.Slots = append(out.Slots, closedSlot{ID: c.Slot.ID, Cancelled: n})
			continue
		}
		at := *c.Slot.CancelAt
		for _, p := range c.People {
			token := ""
			if o.Manage != nil {
				token = o.Manage.Sign(p.Booking.Reference, p.State)
			}
			if err := o.Mail.Publish(ctx, email.ClosingRequest(p, token, at)); err != nil {
				log.Error("close: request notice", "reference", p.Booking.Reference, "error", err)
				respond.Unavailable(w, 0, "retry", "The session is closed, but not everyone could be told yet: close it again.")
				return
			}
		}
		out.Told += len(c.People)
		out.Slots = append(out.Slots, closedSlot{ID: c.Slot.ID, CancelAt: &at, Told: len(c.People)})
	}
	log.Info("sessions closed", "slots", slots, "by", s.Email, "told", out.Told, "cancelled", out.Cancelled)
	respond.JSON(w, http.StatusOK, out)
}

// closeAnswer is the answer to a close: per session, when what stays is
// cancelled and how many were told they may move, or how many were
// cancelled at once.
type closeAnswer struct {
	Slots     []closedSlot `json:"slots"`
	Told      int          `json:"told"`
	Cancelled int          `json:"cancelled"`
}

type closedSlot struct {
	ID        string     `json:"slot"`
	CancelAt  *time.Time `json:"cancel_at,omitempty"`
	Told      int        `json:"told"`
	Cancelled int        `json:"cancelled"`
}

func ids(sessions []postgres.SlotState) []string {
	out := make([]string, len(sessions))
	for i, s := range sessions {
		out[i] = s.ID
	}
	return out
}

// deadline is when what stays on the sessions is cancelled: now without an
// offer, move_by when given (after now, before the first session still to
// start), else MoveWindow from now but no later than an hour before that
// session; when that leaves no time, now. A refusal names its field.
func deadline(b closeBody, sessions []postgres.SlotState, now time.Time) (at time.Time, field, msg string) {
	if b.OfferChange != nil && !*b.OfferChange {
		if b.MoveBy != "" {
			return at, "move_by", "A time to move by needs a change of time offered."
		}
		return now, "", ""
	}
	// The first session still to start: one under way or over has nobody
	// left to move.
	first, ok, begun := time.Time{}, false, false
	for _, s := range sessions {
		start, good := sessionStart(s.Date, s.Time)
		switch {
		case !good:
		case !start.After(now):
			begun = true
		case !ok || start.Before(first):
			first, ok = start, true
		}
	}
	if !ok && begun { // every session under way or over: nobody left to move
		if b.MoveBy != "" {
			return at, "move_by", "Every session has started: there is no time left to move."
		}
		return now, "", ""
	}
	if b.MoveBy != "" {
		t, err := time.Parse(time.RFC3339, b.MoveBy)
		switch {
		case err != nil:
			return at, "move_by", "The time to move by must be an RFC 3339 time, such as 2026-12-03T12:00:00+08:00."
		case !t.After(now):
			return at, "move_by", "The time to move by must be in the future."
		case ok && t.After(first):
			return at, "move_by", fmt.Sprintf("The time to move by must be before the session starts (%s).", first.In(myt).Format("2006-01-02 15:04"))
		}
		return t, "", ""
	}
	at = now.Add(MoveWindow)
	if ok && first.Add(-time.Hour).Before(at) {
		at = first.Add(-time.Hour)
	}
	if at.Before(now) {
		at = now
	}
	return at, "", ""
}

// sessionStart is when a session ("YYYY-MM-DD", "HH:MM-HH:MM") starts.
func sessionStart(date, span string) (time.Time, bool) {
	start, _, _ := strings.Cut(span, "-")
	t, err := time.ParseInLocation("2006-01-02 15:04", date+" "+strings.TrimSpace(start), myt)
	return t, err == nil
}
