package worker

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// ManagePushPath is where manage-topic's push subscription posts.
const ManagePushPath = "/push/manage"

// Manager decides cancels and changes (postgres.Bookings) and finds the
// booking a resend is for.
type Manager interface {
	Manage(ctx context.Context, m booking.ManageRequest, messageID string) (booking.ManageOutcome, error)
	Resend(ctx context.Context, m booking.ManageRequest) (booking.ManageOutcome, error)
	Reject(ctx context.Context, m postgres.RejectedMessage) error
}

// ManagedStatuses writes a booking's record unless a newer one is stored
// (redis.Statuses.SetNewer), and a change request's record.
type ManagedStatuses interface {
	SetNewer(ctx context.Context, rec booking.StatusRecord) error
}

// HandleManage is the push handler for manage-topic: each cancel or change
// in one transaction (Manager.Manage), then the records GET /status and
// GET /manage show, then the message to the person, and only then the
// acknowledgement, as for bookings: a redelivery finds the request decided
// and asks for the same records and message again. signer signs the link
// the messages carry; the worker mounts this route only with
// MANAGE_SECRET, without which no booking has a manage token.
func HandleManage(log *slog.Logger, mgr Manager, statuses ManagedStatuses, emails EmailRequests, signer *booking.ManageSigner) http.Handler {
	h := pushHandler(log, mgr, decodeJSON("a manage request", booking.ManageRequest.Validate), func(w http.ResponseWriter, r *http.Request, log *slog.Logger, p pushed[booking.ManageRequest]) {
		ctx, m, id := r.Context(), p.msg, p.env.Message.ID()
		log = log.With("action", string(m.Action), "reference", m.Booking, "request", m.Request)
		if m.Action == booking.ActionResend {
			o, err := mgr.Resend(ctx, m)
			if err != nil {
				log.Error("find booking for resend", "error", err)
				respond.Unavailable(w, 0, "retry", "The booking could not be read; deliver it again.")
				return
			}
			if !o.Found {
				// Whoever asked is told the same either way (the API
				// answered already); only the log knows.
				log.Info("resend: reference and ID number match no confirmed booking")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			tell(w, log, ctx, emails, email.ManageRequest(o, notify.KindManage, signer.Sign(m.Booking, o.State)))
			return
		}

		o, err := mgr.Manage(ctx, m, id)
		if errors.Is(err, postgres.ErrManageRefused) {
			rejectMalformed(ctx, w, log, mgr, p.raw, p.env, err.Error())
			return
		}
		if err != nil {
			log.Error("decide", "message_id", id, "error", err)
			respond.Unavailable(w, 0, "retry", "The request could not be decided; deliver it again.")
			return
		}
		for _, rec := range []booking.StatusRecord{o.Booking, o.Request} {
			if err := statuses.SetNewer(ctx, rec); err != nil {
				log.Error("write status", "error", err)
				respond.Unavailable(w, 0, "retry", "The status could not be published; deliver it again.")
				return
			}
		}
		log.Info("decided", "outcome", string(o.Request.Status), "sequence", o.Sequence)
		if !o.Notify {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		kind := notify.KindChanged
		if o.Request.Status == booking.StatusCancelled {
			kind = notify.KindCancelled
		}
		tell(w, log, ctx, emails, email.ManageRequest(o, kind, signer.Sign(m.Booking, o.State)))
	})
	return http.MaxBytesHandler(h, MaxBookingPush)
}

// tell asks for one message and answers the push: 204 once email-topic
// has it, 503 (deliver again) if it could not be asked for.
func tell(w http.ResponseWriter, log *slog.Logger, ctx context.Context, emails EmailRequests, req email.Request) {
	if emails != nil {
		if err := emails.Publish(ctx, req); err != nil {
			log.Error("request e-mail", "kind", string(req.Kind), "error", err)
			respond.Unavailable(w, 0, "retry", "The e-mail could not be requested; deliver it again.")
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
