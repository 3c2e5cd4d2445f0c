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
			respond.Unavailable(w, retryCache, "cache_not_ready", "The availability cache has not been filled yet.")
			return
		case err != nil:
			logging.FromContext(r.Context(), log).Warn("not ready: redis", "error", err)
			respond.Unavailable(w, retryCache, "redis_unreachable", "The availability cache cannot be reached.")
			return
		}
		age := time.Since(at)
		if age > maxAge {
			respond.Unavailable(w, retryCache, "cache_stale", "The availability cache is "+age.Round(time.Second).String()+" old.")
			return
		}
		respond.JSON(w, http.StatusOK, body{Status: "ready", CacheAgeSeconds: age.Seconds()})
	})
}
