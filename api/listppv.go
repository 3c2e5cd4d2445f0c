package api

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// retryCache is how long a client should wait when the cache is not there;
// the cache-fill loop writes every few seconds.
const retryCache = 5 * time.Second

func handleListPPV(log *slog.Logger, cache *microCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, ok := stateParam(r.URL.RawQuery)
		if !ok || code == "" {
			respond.Fail(w, http.StatusBadRequest, respond.Error{Code: "required", Field: "state", Message: "state is required, e.g. /listppv?state=selangor."})
			return
		}
		states := cache.get(r.Context(), statesKey)
		if states.err != nil {
			cacheUnavailable(w, log, states.err)
			return
		}
		if !states.stateCodes[code] {
			respond.Fail(w, http.StatusNotFound, respond.Error{Code: "unknown_state", Field: "state", Message: "There is no state with this code; GET /states lists them."})
			return
		}
		doc := cache.get(r.Context(), code)
		if doc.err != nil {
			cacheUnavailable(w, log, doc.err)
			return
		}
		doc.serve(w, r)
	})
}

func handleStates(log *slog.Logger, cache *microCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		states := cache.get(r.Context(), statesKey)
		if states.err != nil {
			cacheUnavailable(w, log, states.err)
			return
		}
		states.serve(w, r)
	})
}

func cacheUnavailable(w http.ResponseWriter, log *slog.Logger, err error) {
	if errors.Is(err, listing.ErrNotFilled) {
		respond.Unavailable(w, retryCache, "cache_not_ready", "Appointment availability is being prepared; please try again in a few seconds.")
		return
	}
	log.Error("read listing cache", "error", err)
	respond.Unavailable(w, retryCache, "cache_unavailable", "Appointment availability cannot be read right now; please try again in a few seconds.")
}

// stateParam finds state= in a raw query without allocating in the common
// case; encoded values take the slow path.
func stateParam(raw string) (string, bool) {
	for raw != "" {
		var kv string
		if i := strings.IndexByte(raw, '&'); i >= 0 {
			kv, raw = raw[:i], raw[i+1:]
		} else {
			kv, raw = raw, ""
		}
		if !strings.HasPrefix(kv, "state=") {
			continue
		}
		v := kv[len("state="):]
		if strings.ContainsAny(v, "%+") {
			dec, err := url.QueryUnescape(v)
			if err != nil {
				return "", false
			}
			return strings.ToLower(strings.TrimSpace(dec)), true
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; c >= 'A' && c <= 'Z' {
				return strings.ToLower(v), true
			}
		}
		return v, true
	}
	return "", false
}
