package api

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// DefaultMaxInFlight is API_MAX_IN_FLIGHT's default: deploy/api.yaml's
// containerConcurrency, so an instance sheds at the load Cloud Run was told
// it can carry (cmd/vaxbook's deploy test keeps the two equal).
const DefaultMaxInFlight = 250

// inFlight caps the requests one instance works on at once. Past the cap a
// request is answered 503 at once instead of queueing behind the others:
// a queue in front of a slow Redis or Pub/Sub only grows, every request in
// it times out, and the instance collapses holding memory and connections;
// an immediate 503 with Retry-After keeps the requests it does take fast and
// tells clients (and the page) when to come back. An atomic counter, not a
// semaphore channel, so the /listppv hit pays two atomic adds and nothing
// else.
type inFlight struct {
	n, max atomic.Int64
	log    *slog.Logger
	// lastWarn (unix seconds) keeps shedding to one warning a second per
	// instance: a log line per shed request would be the next overload.
	lastWarn atomic.Int64
}

func newInFlight(log *slog.Logger, max int) *inFlight {
	c := &inFlight{log: log}
	c.max.Store(int64(max))
	return c
}

// enter admits a request, or reports that the instance is full; an admitted
// request must leave.
func (c *inFlight) enter() bool {
	if c.n.Add(1) <= c.max.Load() {
		return true
	}
	c.n.Add(-1)
	if now := time.Now().Unix(); c.lastWarn.Load() != now && c.lastWarn.Swap(now) != now {
		c.log.Warn("overloaded: shedding requests beyond API_MAX_IN_FLIGHT with 503", "max_in_flight", c.max.Load())
	}
	return false
}

func (c *inFlight) leave() { c.n.Add(-1) }

// exempt reports the requests the cap never sheds, Cloud Run's probes:
// liveness must answer however busy the instance is, or Cloud Run restarts
// a loaded instance and the load lands on the rest.
func exempt(r *http.Request) bool {
	switch r.URL.Path {
	case "/healthz", "/readyz", "/startupz":
		return true
	}
	return false
}
