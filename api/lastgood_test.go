package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/api"
)

const (
	cacheGone = "listing cache empty or unreachable: /listppv answers 503, /submit decides on this instance's last listing"
	cacheBack = "listing cache readable again"
)

// shortMicroCache makes every request after a millisecond read Redis, so a
// test sees a loss at its next request.
func shortMicroCache(o *api.Options) { o.MicroCacheTTL = time.Millisecond }

// TestSubmit_AcceptedOnTheLastListingWhileRedisIsEmpty: an instance that
// read the listing keeps accepting bookings after Redis lost it, still
// holding them to it (a full choice is refused), while /listppv says 503;
// the loss is logged once at warn however many requests meet it, and the
// recovery once at info.
func TestSubmit_AcceptedOnTheLastListingWhileRedisIsEmpty(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true, shortMicroCache)
	if w := e.do(t, http.MethodGet, "/listppv?state=selangor", "", nil); w.Code != http.StatusOK {
		t.Fatalf("listppv before the loss: %d", w.Code)
	}
	if err := e.rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // past the micro-cache, not a synchronisation
	for i := range 3 {
		w := e.do(t, http.MethodPost, "/submit", submission(func(m map[string]any) {
			m["id_number"] = []string{"900101-14-5678", "900101-14-5679", "900101-14-5670"}[i]
		}), nil)
		if w.Code != http.StatusAccepted {
			t.Fatalf("submit %d with Redis empty: %d %s, want 202 on the last listing", i, w.Code, w.Body)
		}
		decodeAccepted(t, w.Body.Bytes())
	}
	wantRefused(t, e.do(t, http.MethodPost, "/submit", submission(func(m map[string]any) { m["preferences"] = []string{full} }), nil),
		http.StatusConflict, "preferences", "slots_full")
	wantRefused(t, e.do(t, http.MethodGet, "/listppv?state=selangor", "", nil), http.StatusServiceUnavailable, "", "cache_not_ready")
	if n := e.logs.count(slog.LevelWarn, cacheGone); n != 1 {
		t.Errorf("warnings of the empty cache: %d, want 1 for the episode:\n%s", n, e.logs)
	}

	fill(t, e.rdb, slotRows())
	time.Sleep(2 * time.Millisecond)
	if w := e.do(t, http.MethodGet, "/listppv?state=selangor", "", nil); w.Code != http.StatusOK {
		t.Fatalf("listppv after the refill: %d", w.Code)
	}
	e.do(t, http.MethodGet, "/states", "", nil)
	if n := e.logs.count(slog.LevelInfo, cacheBack); n != 1 {
		t.Errorf("recoveries logged: %d, want 1:\n%s", n, e.logs)
	}
	if n := e.logs.count(slog.LevelWarn, cacheGone); n != 1 {
		t.Errorf("warnings after the recovery: %d, want still 1:\n%s", n, e.logs)
	}
}

// TestSubmit_NoListingEverReadIs503: an instance that never read a listing
// has nothing to decide on, and says so.
func TestSubmit_NoListingEverReadIs503(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, shortMicroCache)
	wantRefused(t, e.do(t, http.MethodPost, "/submit", submission(nil), nil), http.StatusServiceUnavailable, "", "cache_not_ready")
	if n := e.logs.count(slog.LevelWarn, cacheGone); n != 1 {
		t.Errorf("warnings: %d, want 1:\n%s", n, e.logs)
	}
}
