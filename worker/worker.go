// Package worker is the Pub/Sub push endpoint: it turns one push request into
// one Postgres transaction and answers with the status code that tells
// Pub/Sub whether to deliver the message again.
package worker

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/respond"
	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// PushPath is where Pub/Sub's push subscription for appointments-topic posts.
const PushPath = "/push/appointments"

// Booker decides bookings and keeps what it cannot decide.
type Booker interface {
	Decide(ctx context.Context, req booking.Request, messageID string) (booking.Outcome, error)
	Reject(ctx context.Context, m postgres.RejectedMessage) error
	Ping(ctx context.Context) error
}

// StatusWriter publishes the outcome for GET /status.
type StatusWriter interface {
	Set(ctx context.Context, rec booking.StatusRecord) error
	Ping(ctx context.Context) error
}

// EmailRequests queues the e-mails about a decided booking, returning once
// the queue has each.
type EmailRequests interface {
	Publish(ctx context.Context, req email.Request) error
}

// Routes are the worker's route labels in metrics (see Counted).
var Routes = telemetry.NewRoutes("worker", PushPath, RegistrationsPushPath, EmailPushPath, SMSPushPath, ManagePushPath, "/healthz", "/readyz")

// Counted is h counted in the request's telemetry by route and code, each
// non-2xx answer on a push route a retry.
func Counted(h http.Handler) http.Handler { return Routes.Count(h, pushPrefix) }

// Option adds an optional part to the worker.
type Option func(*options)

type options struct {
	emails            EmailRequests
	emailPush         http.Handler
	smsPush           http.Handler
	registrationsPush http.Handler
	registrations     RegistrationRecords
	verifier          PushVerifier // see WithPushAuth
	authOff           bool
	manage            *manageParts
}

type manageParts struct {
	mgr      Manager
	statuses ManagedStatuses
	signer   *booking.ManageSigner
}

// WithManage serves HandleManage at ManagePushPath, asking for its
// messages through WithEmailRequests's publisher.
func WithManage(mgr Manager, statuses ManagedStatuses, signer *booking.ManageSigner) Option {
	return func(o *options) { o.manage = &manageParts{mgr: mgr, statuses: statuses, signer: signer} }
}

// WithRegistrations makes the booking push write, before it acknowledges,
// the booked record of the registration whose invitation a booking used.
// Without it that record is left to whoever rebuilds it from Postgres.
func WithRegistrations(w RegistrationRecords) Option {
	return func(o *options) { o.registrations = w }
}

// WithEmailRequests makes the booking push ask for an e-mail for every final
// booking before it acknowledges the message. Without it no e-mail is
// requested.
func WithEmailRequests(p EmailRequests) Option { return func(o *options) { o.emails = p } }

// WithEmailPush serves h (see HandleEmail) at EmailPushPath.
func WithEmailPush(h http.Handler) Option { return func(o *options) { o.emailPush = h } }

// WithRegistrationsPush serves h (see HandleRegistrations) at
// RegistrationsPushPath.
func WithRegistrationsPush(h http.Handler) Option {
	return func(o *options) { o.registrationsPush = h }
}

func collect(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// NewHandler returns the worker's routes. Every route under /push/ demands
// Pub/Sub's token (WithPushAuth) unless WithoutPushAuth says otherwise.
func NewHandler(log *slog.Logger, project string, books Booker, statuses StatusWriter, opts ...Option) http.Handler {
	o := collect(opts)
	r := chi.NewRouter()
	r.Use(Counted)
	r.Use(logging.Middleware(log, project))
	r.Use(requirePushAuth(log, o))
	r.Method(http.MethodPost, PushPath, handlePush(log, books, statuses, o))
	if o.emailPush != nil {
		r.Method(http.MethodPost, EmailPushPath, o.emailPush)
	}
	if o.smsPush != nil {
		r.Method(http.MethodPost, SMSPushPath, o.smsPush)
	}
	if o.registrationsPush != nil {
		r.Method(http.MethodPost, RegistrationsPushPath, o.registrationsPush)
	}
	if m := o.manage; m != nil {
		r.Method(http.MethodPost, ManagePushPath, HandleManage(log, m.mgr, m.statuses, o.emails, m.signer))
	}
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := books.Ping(r.Context()); err != nil {
			logging.FromContext(r.Context(), log).Warn("not ready: postgres", "error", err)
			respond.Unavailable(w, 0, "postgres_unreachable", "The database cannot be reached.")
			return
		}
		// Without Redis no push can finish (the status must be written).
		if err := statuses.Ping(r.Context()); err != nil {
			logging.FromContext(r.Context(), log).Warn("not ready: redis", "error", err)
			respond.Unavailable(w, 0, "redis_unreachable", "The status store cannot be reached.")
			return
		}
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return r
}

// HandlePush is the push handler alone, for mounting in `vaxbook dev`, whose
// relay is its only caller: it checks no token (dev listens on loopback).
// WithEmailRequests and WithRegistrations apply.
func HandlePush(log *slog.Logger, books Booker, statuses StatusWriter, opts ...Option) http.Handler {
	return handlePush(log, books, statuses, collect(opts))
}

func handlePush(log *slog.Logger, books Booker, statuses StatusWriter, o options) http.Handler {
	emails := o.emails
	// The message is held to every rule POST /submit applies, so a push
	// that did not come from our API books nothing.
	h := pushHandler(log, books, decodeJSON("a booking request", booking.Request.Validate), func(w http.ResponseWriter, r *http.Request, log *slog.Logger, p pushed[booking.Request]) {
		ctx, req, id := r.Context(), p.msg, p.env.Message.ID()
		start := time.Now()
		txCtx, span := telemetry.Start(ctx, "book")
		outcome, err := books.Decide(txCtx, req, id)
		telemetry.EndSpan(span, err)
		telemetry.Transaction(ctx, PushPath, start)
		rec := outcome.Record
		if errors.Is(err, postgres.ErrUnusableInvitation) {
			// The API refuses such a token; this message is not as it
			// published it, and would be refused the same way forever.
			telemetry.Booked(ctx, req.State, "rejected", time.Time{})
			rejectMalformed(ctx, w, log, books, p.raw, p.env, err.Error())
			return
		}
		if err == nil && outcome.DecidedAt.After(start.Add(-time.Second)) {
			// Decided by this delivery, not found again by a redelivery
			// (whose decision is older than Pub/Sub's retry backoff): each
			// booking is counted once. The second allows for the database's
			// clock (DecidedAt is its now()) being behind ours.
			telemetry.Booked(ctx, req.State, string(rec.Status), req.SubmittedAt)
		}
		if err != nil {
			telemetry.StoreError(ctx, "postgres")
			// Everything left here is transient (connection, serialisation,
			// deadlock, shutdown): a non-2xx makes Pub/Sub redeliver, and
			// the transaction either committed nothing or is found again.
			log.Error("book", "reference", req.Reference, "message_id", id, "error", err)
			respond.Unavailable(w, 0, "retry", "The booking could not be stored; deliver it again.")
			return
		}
		if err := statuses.Set(ctx, rec); err != nil {
			telemetry.StoreError(ctx, "redis")
			// The booking is committed; redelivery finds it and writes the
			// status again.
			log.Error("write status", "reference", req.Reference, "error", err)
			respond.Unavailable(w, 0, "retry", "The status could not be published; deliver it again.")
			return
		}
		if outcome.Registration != "" && o.registrations != nil {
			reg := queue.Record{Reference: outcome.Registration, State: outcome.State, Status: queue.StatusBooked, BookingReference: rec.Reference}
			if err := o.registrations.Set(ctx, reg); err != nil {
				// Committed; redelivery finds the booking and writes again.
				log.Error("write registration", "registration", reg.Reference, "reference", rec.Reference, "error", err)
				respond.Unavailable(w, 0, "retry", "The registration could not be published; deliver it again.")
				return
			}
		}
		// Acknowledging only after email-topic has the requests is what
		// makes e-mail at-least-once without an outbox table: until then
		// this message is redelivered, and the redelivery finds the stored
		// outcome and asks again. The e-mail handler sends each message
		// (notify.Key) once, so asking twice is harmless. A duplicate asks
		// for two: one to the submitter, one to the existing booking's
		// holder (email.RequestsFor).
		if emails != nil && rec.Status.Final() {
			for _, er := range email.RequestsFor(outcome) {
				if err := emails.Publish(ctx, er); err != nil {
					log.Error("request e-mail", "reference", rec.Reference, "kind", string(er.Kind), "error", err)
					respond.Unavailable(w, 0, "retry", "The e-mail could not be requested; deliver it again.")
					return
				}
			}
		}
		log.Debug("booked", "reference", rec.Reference, "status", string(rec.Status))
		w.WriteHeader(http.StatusNoContent)
	})
	return http.MaxBytesHandler(h, MaxBookingPush)
}
