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

// Options tune the API; the zero value of a field takes its default.
type Options struct {
	Project        string        // for trace ids in logs
	MicroCacheTTL  time.Duration // at most 1s
	MaxCacheAge    time.Duration // /readyz fails when the heartbeat is older
	PublishTimeout time.Duration
	SubmitRate     float64 // per client IP per second; 0 disables
	SubmitBurst    int
	Captcha        Captcha // zero: no human check
	// Invitations checks the invitations of queue states; zero: a
	// submission in a queue state is answered 503.
	Invitations Invitations
}

func (o Options) withDefaults() Options {
	if o.MicroCacheTTL <= 0 || o.MicroCacheTTL > time.Second {
		o.MicroCacheTTL = time.Second
	}
	if o.MaxCacheAge <= 0 {
		o.MaxCacheAge = time.Minute
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 10 * time.Second
	}
	if o.SubmitBurst <= 0 {
		o.SubmitBurst = 1
	}
	return o
}

// NewServer builds the API's routes.
func NewServer(log *slog.Logger, listings Listings, pub Publisher, statuses Statuses, opts Options) http.Handler {
	opts = opts.withDefaults()
	cache := newMicroCache(listings, opts.MicroCacheTTL)

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
	r.Method(http.MethodGet, "/config", handleConfig(opts.Captcha))

	r.Group(func(r chi.Router) {
		r.Use(logging.Middleware(log, opts.Project))
		r.Method(http.MethodPost, "/submit", handleSubmit(log, cache, pub, statuses, newIPLimiter(opts.SubmitRate, opts.SubmitBurst), opts.Captcha, newInvitationCheck(log, opts.Invitations), opts.PublishTimeout))
		r.Method(http.MethodGet, "/status/{reference}", handleStatus(log, statuses))
		r.Method(http.MethodGet, "/readyz", handleReadyz(log, listings, opts.MaxCacheAge))
	})

	// The surge endpoint also bypasses the router: chi copies every request
	// to carry its route context, the only allocation left on a cached hit.
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/listppv" && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
			listPPV.ServeHTTP(w, req)
			return
		}
		r.ServeHTTP(w, req)
	})
}
