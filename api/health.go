package api

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/respond"
)

func handleHealthz() http.Handler {
	ok := []byte(`{"status":"ok"}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.Raw(w, http.StatusOK, ok)
	})
}

// handleReadyz reports whether this instance can do its job: Redis answers
// and the cache-fill loop has written recently.
func handleReadyz(log *slog.Logger, listings Listings, maxAge time.Duration) http.Handler {
	type body struct {
		Status          string  `json:"status"`
		CacheAgeSeconds float64 `json:"cache_age_seconds"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at, err := listings.Heartbeat(r.Context())
		switch {
		case errors.Is(err, listing.ErrNotFilled):
			fail(w, r, log, errNotReady)
			return
		case err != nil:
			// A probe failing while Redis is away is expected: a warning,
			// not an error for every probe.
			logging.FromContext(r.Context(), log).Warn("not ready: redis", "error", err)
			fail(w, r, log, errRedisUnreachable)
			return
		}
		age := time.Since(at)
		if age > maxAge {
			fail(w, r, log, errCacheStale.withf(age.Round(time.Second)))
			return
		}
		respond.JSON(w, http.StatusOK, body{Status: "ready", CacheAgeSeconds: age.Seconds()})
	})
}

// handleStartupz answers Cloud Run's startup probe: an instance may take
// traffic once Redis answers and the cache-fill loop has filled the listing
// at least once. The cache's age is not asked: a stalled cache writer must
// not stop new instances from starting in a surge (its age is an alert,
// deploy/README.md, and /readyz still reports it).
func handleStartupz(log *slog.Logger, listings Listings) http.Handler {
	ok := []byte(`{"status":"started"}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := listings.States(r.Context())
		switch {
		case errors.Is(err, listing.ErrNotFilled):
			fail(w, r, log, errNotReady)
			return
		case err != nil:
			logging.FromContext(r.Context(), log).Warn("not started: redis", "error", err)
			fail(w, r, log, errRedisUnreachable)
			return
		}
		respond.Raw(w, http.StatusOK, ok)
	})
}
