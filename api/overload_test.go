package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/api"
)

// heldRequests are submissions whose bodies never finish arriving, as slow
// clients' would, keeping their place in the API's in-flight count.
type heldRequests struct {
	bodies []*io.PipeWriter
	done   []chan struct{}
}

// end lets the first k requests still held finish, and waits for their
// answers.
func (h *heldRequests) end(k int) {
	for range min(k, len(h.bodies)) {
		_ = h.bodies[0].Close()
		<-h.done[0]
		h.bodies, h.done = h.bodies[1:], h.done[1:]
	}
}

// holdInFlight starts n held submissions on h and returns once h sheds for
// want of room; the test's end lets the rest finish.
func holdInFlight(t *testing.T, h http.Handler, n int) *heldRequests {
	t.Helper()
	held := &heldRequests{bodies: make([]*io.PipeWriter, n), done: make([]chan struct{}, n)}
	t.Cleanup(func() { held.end(n) })
	start := func(i int) {
		pr, pw := io.Pipe()
		done := make(chan struct{})
		held.bodies[i], held.done[i] = pw, done
		r := httptest.NewRequest(http.MethodPost, "/submit", pr)
		r.Header.Set("Content-Type", "application/json")
		go func() {
			defer close(done)
			h.ServeHTTP(httptest.NewRecorder(), r)
		}()
	}
	for i := range n {
		start(i)
	}
	// The held requests are in once a request that does no work is shed.
	deadline := time.Now().Add(60 * time.Second)
	for {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/nowhere", nil))
		if w.Code == http.StatusServiceUnavailable {
			return held
		}
		// A held request that arrived while this probe held the last
		// place was shed itself: send it again.
		for i, done := range held.done {
			select {
			case <-done:
				start(i)
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d submissions held open, and the API still answers %d instead of shedding", n, w.Code)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOverload_BeyondTheCapEveryRouteButTheProbesIsShedAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true, func(o *api.Options) { o.MaxInFlight = 2 })
	held := holdInFlight(t, e.handler, 2)

	for _, target := range []string{"/listppv?state=selangor", "/states", "/status/ABCDEFGHJKMNPQRS", "/config"} {
		w := e.do(t, http.MethodGet, target, "", nil)
		wantUnqueued(t, w)
		if got := decodeError(t, w).Error.Code; got != "overloaded" {
			t.Errorf("GET %s at the cap: code %q, want overloaded", target, got)
		}
		if got := w.Header().Get("Retry-After"); got != "1" {
			t.Errorf("GET %s at the cap: Retry-After %q, want 1", target, got)
		}
	}
	if w := e.do(t, http.MethodPost, "/submit", submission(nil), nil); w.Code != http.StatusServiceUnavailable || decodeError(t, w).Error.Code != "overloaded" {
		t.Errorf("POST /submit at the cap: got %d %s, want 503 overloaded", w.Code, w.Body)
	}
	for _, target := range []string{"/healthz", "/readyz", "/startupz"} {
		if w := e.do(t, http.MethodGet, target, "", nil); w.Code != http.StatusOK {
			t.Errorf("GET %s at the cap: got %d %s, want 200 (probes are never shed)", target, w.Code, w.Body)
		}
	}

	// One place free again: served, and the place is given back after.
	held.end(1)
	for range 3 {
		if w := e.do(t, http.MethodGet, "/listppv?state=selangor", "", nil); w.Code != http.StatusOK {
			t.Fatalf("listppv with one place free: got %d %s, want 200", w.Code, w.Body)
		}
	}
	held.end(1)
	if w := e.do(t, http.MethodPost, "/submit", submission(nil), nil); w.Code != http.StatusAccepted {
		t.Errorf("submit once the held requests ended: got %d %s, want 202", w.Code, w.Body)
	}
}
