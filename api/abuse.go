package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/ratelimit"
)

// AbuseStore keeps the shared abuse counters (internal/ratelimit over
// Redis): every instance asks the same store, so a client's allowance does
// not grow with the number of instances.
type AbuseStore interface {
	Allow(ctx context.Context, name string, lim ratelimit.Limit, subject string) (ratelimit.Decision, error)
	Take(ctx context.Context, scope, kind, value string, c ratelimit.Cap) (release func(context.Context) error, retryAfter time.Duration, err error)
}

// Abuse is the API's abuse control. The zero value is off: no limits, no
// caps, and the client is the last X-Forwarded-For entry.
type Abuse struct {
	Store    AbuseStore // nil: off
	ClientIP ratelimit.ClientIP
	Routes   []RouteLimit
	EmailCap ratelimit.Cap // accepted submissions per e-mail address
	PhoneCap ratelimit.Cap // and per phone number
	ProofCap ratelimit.Cap // contact-proof codes sent per e-mail address

	// needsStore is set by Config.Options when the configuration turns
	// the limits on: NewServer then refuses to run without a Store rather
	// than serve with the limits silently off.
	needsStore bool
}

// RouteLimit is the per-client limit on one path; a Path ending in "/"
// covers everything under it (/status/{reference}).
type RouteLimit struct {
	Path  string
	Limit ratelimit.Limit
}

// name is the limit's name in the store: the path without slashes.
func (rl RouteLimit) name() string { return strings.Trim(rl.Path, "/") }

func (rl RouteLimit) matches(path string) bool {
	if strings.HasSuffix(rl.Path, "/") {
		return strings.HasPrefix(path, rl.Path) && len(path) > len(rl.Path)
	}
	return path == rl.Path
}

// limitRoutes counts each request to a limited path against its client's
// allowance and answers 429 beyond it, with Retry-After and the RateLimit-*
// fields (the IETF httpapi draft's RateLimit-Limit, -Remaining and -Reset
// trio, which clients and CDNs commonly read).
//
// When the store cannot be asked the request goes through (fail open): the
// limit guards against abuse and is not a booking rule, Redis trouble
// already shows on /readyz and in the listing's 503s, and refusing every
// booking in the country because a counter is unreachable would do the
// attacker's work. The captcha and Pub/Sub still stand in front of the
// queue.
func limitRoutes(log *slog.Logger, a Abuse, next http.Handler) http.Handler {
	var routes []RouteLimit
	for _, rl := range a.Routes {
		if !rl.Limit.Off() {
			routes = append(routes, rl)
		}
	}
	if a.Store == nil || len(routes) == 0 {
		return next
	}
	warn := &everyFew{period: 10 * time.Second}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rl *RouteLimit
		for i := range routes {
			if routes[i].matches(r.URL.Path) {
				rl = &routes[i]
				break
			}
		}
		if rl == nil {
			next.ServeHTTP(w, r)
			return
		}
		d, err := a.Store.Allow(r.Context(), rl.name(), rl.Limit, a.ClientIP.Of(r))
		if err != nil {
			if n, ok := warn.due(); ok {
				logging.FromContext(r.Context(), log).Warn("rate limit unavailable: letting requests through", "error", err, "since_last_warning", n)
			}
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("RateLimit-Limit", strconv.Itoa(rl.Limit.Burst))
		h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(d.ResetAfter)))
		if !d.Allowed {
			fail(w, r, log, errRateLimited.after(d.RetryAfter))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// takeContacts counts one accepted use of the person's e-mail address and
// phone number under scope ("submit"; /register passes "register"), and
// refuses with 429 contact_limit naming the field whose cap is reached.
// Call release when the use did not happen after all (nothing was queued),
// so a failed attempt does not count. Like the route limits it fails open
// when the store cannot be asked.
func takeContacts(ctx context.Context, log *slog.Logger, a Abuse, scope, email, phone string) (release func(), err error) {
	var releases []func(context.Context) error
	release = func() {
		// The request may be over; giving the use back must still happen.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		for _, f := range releases {
			if err := f(rctx); err != nil {
				log.Warn("give back contact use", "error", err)
			}
		}
	}
	if a.Store == nil {
		return release, nil
	}
	for _, c := range []struct {
		kind, value string
		cap         ratelimit.Cap
		refuse      *apiError
	}{
		{"email", email, a.EmailCap, errContactLimitEmail},
		{"phone", phone, a.PhoneCap, errContactLimitPhone},
	} {
		if c.value == "" {
			// An invitation booking leaves its contact to the worker,
			// which takes it from the registration, capped when it was
			// made; a blank must not become one shared counter.
			continue
		}
		rel, retry, err := a.Store.Take(ctx, scope, c.kind, c.value, c.cap)
		switch {
		case errors.Is(err, ratelimit.ErrCapped):
			release()
			return func() {}, c.refuse.after(retry)
		case err != nil:
			log.Warn("contact cap unavailable: letting the submission through", "error", err)
		default:
			releases = append(releases, rel)
		}
	}
	return release, nil
}

// ceilSeconds is d in whole seconds, rounded up: a client told to wait 0 s
// when 300 ms remain would be refused again.
func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// everyFew lets one event through per period, counting the ones it held
// back, so a Redis outage at 10,000 req/s logs a line every few seconds
// instead of 10,000.
type everyFew struct {
	period time.Duration
	next   atomic.Int64 // unix nanoseconds
	held   atomic.Int64
}

func (e *everyFew) due() (int64, bool) {
	now := time.Now().UnixNano()
	next := e.next.Load()
	if now < next || !e.next.CompareAndSwap(next, now+int64(e.period)) {
		e.held.Add(1)
		return 0, false
	}
	return e.held.Swap(0), true
}
