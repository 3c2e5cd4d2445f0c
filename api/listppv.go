package api

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/vaxbook/vaxbook/internal/listing"
)

func handleListPPV(log *slog.Logger, cache *microCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, ok := stateParam(r.URL.RawQuery)
		if !ok || code == "" {
			fail(w, r, log, errStateRequired)
			return
		}
		states := cache.get(r.Context(), statesKey)
		if states.err != nil {
			fail(w, r, log, cacheError(states.err))
			return
		}
		if _, known := states.states[code]; !known {
			fail(w, r, log, errUnknownState)
			return
		}
		doc := cache.get(r.Context(), code)
		if doc.err != nil {
			fail(w, r, log, cacheError(doc.err))
			return
		}
		doc.serve(w, r)
	})
}

func handleStates(log *slog.Logger, cache *microCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		states := cache.get(r.Context(), statesKey)
		if states.err != nil {
			fail(w, r, log, cacheError(states.err))
			return
		}
		states.serve(w, r)
	})
}

// cacheError is the answer to a failed read of the listing cache.
func cacheError(err error) error {
	if errors.Is(err, listing.ErrNotFilled) {
		return errCacheNotReady
	}
	return errCacheUnavailable.because(err)
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
