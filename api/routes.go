// Package api is vaxbook's public, stateless HTTP API. It serves the slot
// lists from Redis only and queues bookings on Pub/Sub; it never talks to
// Postgres, so any number of instances can absorb a surge.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// Listings reads rendered documents and the cache-fill heartbeat.
type Listings interface {
	State(ctx context.Context, code string) (listing.Rendered, error)
	States(ctx context.Context) (listing.Rendered, error)
	Heartbeat(ctx context.Context) (time.Time, error)
}

// Publisher queues a booking request, returning once Pub/Sub acknowledged it.
type Publisher interface {
	Publish(ctx context.Context, req booking.Request) error
}

// Statuses reads and seeds the status records.
type Statuses interface {
	SetPending(ctx context.Context, reference string) error
	GetRaw(ctx context.Context, reference string) ([]byte, error)
}

// RegistrationPublisher queues a registration, returning once Pub/Sub
// acknowledged it.
type RegistrationPublisher interface {
	Publish(ctx context.Context, reg queue.Registration) error
}

// Registrations reads and seeds the registration records and reads each
// state's invited-through mark.
type Registrations interface {
	Set(ctx context.Context, rec queue.Record) error
	Get(ctx context.Context, reference string) (queue.Record, error)
	Mark(ctx context.Context, state string) (int64, error)
}

// Queue is what the registration queue's endpoints need. The zero value
// leaves POST /register and GET /registration unrouted.
type Queue struct {
	Publisher RegistrationPublisher
	Records   Registrations
}

func (q Queue) on() bool { return q.Publisher != nil && q.Records != nil }

// Options tune the API; the zero value of a field takes its default.
type Options struct {
	Project        string        // for trace ids in logs
	MicroCacheTTL  time.Duration // at most 1s
	MaxCacheAge    time.Duration // /readyz fails when the heartbeat is older
	PublishTimeout time.Duration
	Captcha        Captcha // zero: no human check
	Queue          Queue   // zero: no registration queue
	Abuse          Abuse   // zero: no shared limits or caps
	// Proof is contact proof (CONTACT_PROOF); zero: off, and bookings and
	// registrations count as the contract has always said.
	Proof Proof
	// Invitations checks the invitations of queue states; zero: a
	// submission in a queue state is answered 503. Its Records default to
	// Queue's.
	Invitations Invitations
	// References derives the references of retried submissions; nil:
	// booking.DevReferences (Config.Options sets REFERENCE_KEY's).
	References *booking.References
	// Manage is the manage link's endpoints; zero: unrouted
	// (Config.Options sets the signer, the caller the publisher).
	Manage Manage
	// MaxInFlight caps the requests answered at once (API_MAX_IN_FLIGHT);
	// beyond it they are shed with 503 overloaded. 0: DefaultMaxInFlight.
	MaxInFlight int
}

func (o Options) withDefaults() Options {
	if o.Invitations.Records == nil && o.Queue.Records != nil {
		o.Invitations.Records = o.Queue.Records
	}
	if o.MicroCacheTTL <= 0 || o.MicroCacheTTL > time.Second {
		o.MicroCacheTTL = time.Second
	}
	if o.MaxCacheAge <= 0 {
		o.MaxCacheAge = time.Minute
	}
	o.Proof = o.Proof.withDefaults()
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 10 * time.Second
	}
	if o.References == nil {
		o.References = booking.DevReferences()
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	return o
}

// newRoutes are the route labels of the API's metrics and spans: any
// other path is "other".
func newRoutes() *telemetry.Routes {
	return telemetry.NewRoutes("api", "/listppv", "/states", "/healthz", "/startupz", "/readyz", "/config",
		"/submit", "/proof", "/register", "/status/{reference}", "/registration/{reference}",
		"/manage", "/manage/cancel", "/manage/change", "/manage/resend")
}

// RouteNames are the values of the route label of the API's metrics, which
// deploy/monitoring's SLOs and charts select on.
func RouteNames() []string { return newRoutes().Names() }

// NewServer builds the API's routes.
func NewServer(log *slog.Logger, listings Listings, pub Publisher, statuses Statuses, opts Options) http.Handler {
	opts = opts.withDefaults()
	if opts.Abuse.needsStore && opts.Abuse.Store == nil {
		panic("api: the configuration turns RATE_LIMIT on but Options.Abuse has no Store (Config.AbuseStore builds it)")
	}
	if opts.Proof.On() && (opts.Proof.Tries == nil || opts.Proof.Mail == nil) {
		panic("api: the configuration turns CONTACT_PROOF on but Options.Proof has no Tries or Mail")
	}
	cache := newMicroCache(log, listings, opts.MicroCacheTTL)
	routes := newRoutes()

	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { fail(w, r, log, errNoRoute) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { fail(w, r, log, errMethodNotAllowed) })

	// The read paths that take the surge skip per-request log context: they
	// log nothing on success, and every allocation counts at 10,000 req/s.
	listPPV := handleListPPV(log, cache)
	r.Method(http.MethodGet, "/listppv", listPPV)
	r.Method(http.MethodHead, "/listppv", listPPV)
	r.Method(http.MethodGet, "/states", handleStates(log, cache))
	r.Method(http.MethodGet, "/healthz", handleHealthz())
	r.Method(http.MethodGet, "/startupz", handleStartupz(log, listings))
	r.Method(http.MethodGet, "/config", handleConfig(opts.Captcha, opts.Proof.On()))

	r.Group(func(r chi.Router) {
		// The span first, so the request's log lines carry its ids.
		r.Use(routes.Trace)
		r.Use(logging.Middleware(log, opts.Project))
		// Per-client limits on the paths opts.Abuse.Routes lists, before
		// any handler work: a refused request costs one Redis call.
		r.Use(func(next http.Handler) http.Handler { return limitRoutes(log, opts.Abuse, next) })
		r.Method(http.MethodPost, "/submit", handleSubmit(log, cache, pub, statuses, opts.Abuse, opts.Captcha, newInvitationCheck(log, opts.Invitations), opts.Proof, opts.References, opts.PublishTimeout))
		if opts.Proof.On() {
			r.Method(http.MethodPost, "/proof", handleProof(log, opts.Proof, opts.Abuse, opts.PublishTimeout))
		}
		if opts.Queue.on() {
			r.Method(http.MethodPost, "/register", handleRegister(log, cache, opts.Queue, opts.Abuse, opts.Captcha, opts.Proof, opts.References, opts.PublishTimeout))
			r.Method(http.MethodGet, "/registration/{reference}", handleRegistration(log, opts.Queue.Records))
		}
		r.Method(http.MethodGet, "/status/{reference}", handleStatus(log, statuses))
		if opts.Manage.on() {
			r.Method(http.MethodGet, "/manage", handleManageView(log, opts.Manage, statuses))
			r.Method(http.MethodPost, "/manage/cancel", handleManageAction(log, booking.ActionCancel, opts.Manage, cache, statuses, opts.PublishTimeout))
			r.Method(http.MethodPost, "/manage/change", handleManageAction(log, booking.ActionChange, opts.Manage, cache, statuses, opts.PublishTimeout))
			r.Method(http.MethodPost, "/manage/resend", handleManageResend(log, opts.Manage, opts.PublishTimeout))
		}
		r.Method(http.MethodGet, "/readyz", handleReadyz(log, listings, opts.MaxCacheAge))
	})

	// The surge endpoint also bypasses the router: chi copies every request
	// to carry its route context, the only allocation left on a cached hit.
	// It has no per-client limit either: the CDN absorbs its bursts
	// (Cache-Control), and a Redis call per hit would cost more than the hit.
	// It does count towards the cap: a miss waits on Redis like any other.
	// Only this handler is capped: in `vaxbook dev` the worker's /push/*
	// share the port but not the cap, so decisions go on at full rate
	// while the API sheds.
	// Every answer is counted by route and code (telemetry.Routes.Count:
	// prebuilt attribute sets, no allocation on the surge path).
	busy := newInFlight(log, opts.MaxInFlight)
	return routes.Count(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		setSecurityHeaders(w.Header())
		if !exempt(req) {
			if !busy.enter() {
				fail(w, req, log, errOverloaded)
				return
			}
			defer busy.leave()
		}
		if req.URL.Path == "/listppv" && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
			listPPV.ServeHTTP(w, req)
			return
		}
		if personal(req.URL.Path) {
			// Set before any handler or limit runs, so a 404, 429 or 503 is
			// never kept by a CDN either: a cached "unknown reference" would
			// outlive the worker writing the status by minutes.
			w.Header()["Cache-Control"] = hdrNoStore
		}
		r.ServeHTTP(w, req)
	}), "")
}
