package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// ManagePublisher queues a manage request on manage-topic, returning once
// Pub/Sub acknowledged it.
type ManagePublisher interface {
	Publish(ctx context.Context, m booking.ManageRequest) error
}

// Manage is what the endpoints after the booking need (docs/contract.md,
// "After the booking"). The zero value leaves them unrouted.
type Manage struct {
	// Signer checks manage tokens with MANAGE_SECRET, the worker's.
	Signer    *booking.ManageSigner
	Publisher ManagePublisher
}

func (m Manage) on() bool { return m.Signer != nil && m.Publisher != nil }

// manageAnswer is the body of GET /manage: the booking as its record
// stands, and what may still be done with it.
type manageAnswer struct {
	booking.StatusRecord
	State     string `json:"state"`
	CanChange bool   `json:"can_change"`
	CanCancel bool   `json:"can_cancel"`
}

// requestAnswer is the 202 of POST /manage/cancel and /manage/change:
// GET /status/{request} follows the request to cancelled, changed or full.
type requestAnswer struct {
	Reference string         `json:"reference"`
	Request   string         `json:"request"`
	Status    booking.Status `json:"status"`
}

// malaysia is the day an appointment is on.
var malaysia = time.FixedZone("MYT", 8*60*60)

// managed is the booking a token opens, read from Redis alone.
type managed struct {
	rec   booking.StatusRecord
	state string
	token string
}

// open checks the token (authentic, no database needed) and reads the
// booking's record: a link works until the appointment's day has passed.
func (m Manage) open(ctx context.Context, statuses Statuses, token string) (managed, error) {
	ref, state, err := m.Signer.Parse(token)
	if err != nil {
		return managed{}, errManageInvalid
	}
	raw, err := statuses.GetRaw(ctx, ref)
	switch {
	case errors.Is(err, booking.ErrUnknownReference):
		return managed{}, errManageInvalid
	case err != nil:
		return managed{}, errStatusUnavailable.because(err)
	}
	var rec booking.StatusRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return managed{}, errStatusUnavailable.because(fmt.Errorf("decode status %s: %w", ref, err))
	}
	if rec.Slot == nil || (rec.Status != booking.StatusConfirmed && rec.Status != booking.StatusCancelled) {
		return managed{}, errManageInvalid
	}
	today := time.Now().In(malaysia).Format(time.DateOnly)
	if rec.Slot.Date < today {
		return managed{}, errManageExpired
	}
	return managed{rec: rec, state: state, token: token}, nil
}

func handleManageView(log *slog.Logger, m Manage, statuses Statuses) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			fail(w, r, log, errManageTokenRequired)
			return
		}
		b, err := m.open(r.Context(), statuses, strings.TrimSpace(token))
		if err != nil {
			fail(w, r, log, err)
			return
		}
		live := b.rec.Status == booking.StatusConfirmed
		w.Header().Set("Cache-Control", "no-store")
		respond.JSON(w, http.StatusOK, manageAnswer{StatusRecord: b.rec, State: b.state, CanChange: live, CanCancel: live})
	})
}

// handleManageAction serves POST /manage/cancel and /manage/change: check
// the token and the booking from Redis, then queue the request for the
// worker, which decides it in one transaction.
func handleManageAction(log *slog.Logger, action booking.Action, m Manage, cache *microCache, statuses Statuses, publishTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log := logging.FromContext(ctx, log)
		_, form, _, err := readForm(w, r, booking.DecodeManageForm, func(f booking.ManageForm) (struct{}, error) { return struct{}{}, nil })
		if err != nil {
			fail(w, r, log, err)
			return
		}
		if form.Token == "" {
			fail(w, r, log, errManageTokenRequired)
			return
		}
		b, err := m.open(ctx, statuses, form.Token)
		if err != nil {
			fail(w, r, log, err)
			return
		}
		if b.rec.Status != booking.StatusConfirmed {
			fail(w, r, log, errAlreadyCancelled)
			return
		}
		req := booking.ManageRequest{Action: action, Booking: b.rec.Reference, Request: booking.NewReference(), Token: b.token}
		if action == booking.ActionChange {
			if req.Preferences, err = form.ValidateChange(); err != nil {
				fail(w, r, log, err)
				return
			}
			if slices.Contains(req.Preferences, b.rec.Slot.ID) {
				fail(w, r, log, errChangeToSameSlot)
				return
			}
			if err := checkAgainstListing(ctx, cache, booking.Request{State: b.state, Preferences: req.Preferences}); err != nil {
				fail(w, r, log, err)
				return
			}
		}
		if err := publishManage(ctx, m, req, publishTimeout); err != nil {
			fail(w, r, log, err)
			return
		}
		if err := statuses.SetPending(ctx, req.Request); err != nil {
			log.Warn("record pending status", "request", req.Request, "error", err)
		}
		respond.JSON(w, http.StatusAccepted, requestAnswer{Reference: req.Booking, Request: req.Request, Status: booking.StatusPending})
	})
}

// handleManageResend queues a resend of the manage link and answers the
// same whether or not the reference and ID number match a booking: only
// the booking's own contact hears of it, at most once a day.
func handleManageResend(log *slog.Logger, m Manage, publishTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log := logging.FromContext(ctx, log)
		_, _, req, err := readForm(w, r, booking.DecodeManageForm, func(f booking.ManageForm) (booking.ManageRequest, error) {
			ref, id, err := f.ValidateResend()
			return booking.ManageRequest{Action: booking.ActionResend, Booking: ref, Request: booking.NewReference(), IDNumber: id}, err
		})
		if err != nil {
			fail(w, r, log, err)
			return
		}
		if err := publishManage(ctx, m, req, publishTimeout); err != nil {
			fail(w, r, log, err)
			return
		}
		respond.JSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
	})
}

func publishManage(ctx context.Context, m Manage, req booking.ManageRequest, timeout time.Duration) error {
	req.RequestedAt = time.Now().UTC()
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := m.Publisher.Publish(pctx, req); err != nil {
		return errManageUnqueued.because(fmt.Errorf("queue %s %s: %w", req.Action, req.Request, err))
	}
	return nil
}
