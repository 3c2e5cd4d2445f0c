package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// statesKey is the micro-cache's name for the /states document; state codes
// are never empty, so it cannot collide with one.
const statesKey = ""

// microCache keeps each rendered document in memory for at most ttl and
// coalesces concurrent misses, so a burst of any size on one instance costs
// at most one Redis read per document per ttl. One second is short enough
// that availability is never more than a second older than Redis, and long
// enough to turn a surge into a trickle.
type microCache struct {
	src Listings
	ttl time.Duration
	now func() time.Time
	// failing logs an empty or unreachable cache once per episode, not
	// once per request, and counts it.
	failing *logging.Episode

	mu    sync.RWMutex
	items map[string]*entry
	group singleflight.Group
}

// entry is immutable once stored; handlers share it without locks.
type entry struct {
	listing.Rendered
	at  time.Time
	err error // cached too, so an unfilled cache or a Redis outage is not hammered
	// last is, on a failed read, the last document this instance read
	// within lastGoodMaxAge, for the paths that may decide on it (lastGood).
	last *entry

	etag     []string // header values, built once so a hit allocates nothing
	lenPlain []string
	lenGzip  []string
	avail    listing.Availability     // state documents
	states   map[string]listing.State // the states document, by code
}

// lastGoodMaxAge bounds how old a listing /submit and /register may
// decide on while Redis is empty or unreachable. It only refuses hopeless
// choices before queuing (the worker's transaction is what never
// overbooks), so an old one costs a few bookings that end full; five
// minutes outlasts a Redis restart or failover, and bounds how long a
// state's change of mode can go unseen.
const lastGoodMaxAge = 5 * time.Minute

func newMicroCache(log *slog.Logger, src Listings, ttl time.Duration) *microCache {
	return &microCache{src: src, ttl: ttl, now: time.Now, items: map[string]*entry{},
		failing: logging.NewEpisode(log, slog.LevelWarn,
			"listing cache empty or unreachable: /listppv answers 503, /submit decides on this instance's last listing",
			"listing cache readable again")}
}

// get returns the document for key (a state code, or statesKey).
func (c *microCache) get(ctx context.Context, key string) *entry {
	c.mu.RLock()
	e := c.items[key]
	c.mu.RUnlock()
	if e != nil && c.now().Sub(e.at) < c.ttl {
		return e
	}
	v, _, _ := c.group.Do(key, func() (any, error) {
		c.mu.RLock()
		e := c.items[key]
		c.mu.RUnlock()
		if e != nil && c.now().Sub(e.at) < c.ttl {
			return e, nil
		}
		// The fill serves every waiter, so one caller's cancellation must
		// not fail the others.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		e = c.fill(fctx, key, e)
		c.mu.Lock()
		c.items[key] = e
		c.mu.Unlock()
		return e, nil
	})
	return v.(*entry)
}

// fill reads key's document anew; prev is the entry it replaces, if any.
func (c *microCache) fill(ctx context.Context, key string, prev *entry) *entry {
	e := c.read(ctx, key)
	if e.err == nil {
		c.failing.OK()
		return e
	}
	what := "unreachable"
	if errors.Is(e.err, listing.ErrNotFilled) {
		what = "empty"
	}
	c.failing.Fail(e.err, "cache", what)
	if prev != nil && prev.err != nil {
		prev = prev.last
	}
	if prev != nil && e.at.Sub(prev.at) <= lastGoodMaxAge {
		e.last = prev
	}
	return e
}

func (c *microCache) read(ctx context.Context, key string) *entry {
	e := &entry{at: c.now()}
	var (
		r   listing.Rendered
		err error
	)
	if key == statesKey {
		r, err = c.src.States(ctx)
	} else {
		r, err = c.src.State(ctx, key)
	}
	if err != nil {
		if !errors.Is(err, listing.ErrNotFilled) {
			telemetry.StoreError(ctx, "redis")
		}
		e.err = err
		return e
	}
	e.Rendered = r
	e.etag = []string{r.ETag}
	e.lenPlain = []string{strconv.Itoa(len(r.Body))}
	e.lenGzip = []string{strconv.Itoa(len(r.Gzip))}
	if key == statesKey {
		e.states, e.err = listing.ParseStates(r.Body)
	} else {
		e.avail, e.err = listing.ParseAvailability(r.Body)
	}
	return e
}

// lastGood is get for the paths that decide on a listing rather than serve
// it (/submit, /register): while the cache is empty or unreachable, the
// last document this instance read, if it is at most lastGoodMaxAge old.
// The operators' stale /listppv can share it.
func (c *microCache) lastGood(ctx context.Context, key string) *entry {
	e := c.get(ctx, key)
	if e.err != nil && e.last != nil {
		return e.last
	}
	return e
}

// Header values shared by every response; never modified.
var (
	hdrJSON         = []string{"application/json; charset=utf-8"}
	hdrGzip         = []string{"gzip"}
	hdrVary         = []string{"Accept-Encoding"}
	hdrCacheControl = []string{"public, max-age=1, s-maxage=2, stale-while-revalidate=2"}
)

// serve writes a cached document with validators and caching headers; it
// allocates nothing.
func (e *entry) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Cache-Control"] = hdrCacheControl
	h["Vary"] = hdrVary
	h["Etag"] = e.etag
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, e.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Type"] = hdrJSON
	body := e.Body
	if len(e.Gzip) > 0 && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = e.Gzip
		h["Content-Encoding"] = hdrGzip
		h["Content-Length"] = e.lenGzip
	} else {
		h["Content-Length"] = e.lenPlain
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// etagMatches implements If-None-Match's weak comparison over a list.
func etagMatches(header, etag string) bool {
	for header != "" {
		var tag string
		tag, header = nextToken(header)
		if tag == "*" || tag == etag || (len(tag) > 2 && tag[:2] == "W/" && tag[2:] == etag) {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding: an explicit gzip entry decides, else a
// wildcard does.
func acceptsGzip(header string) bool {
	wildcard := false
	for header != "" {
		var tok string
		tok, header = nextToken(header)
		name, params := tok, ""
		for i := 0; i < len(tok); i++ {
			if tok[i] == ';' {
				name, params = trimSpace(tok[:i]), tok[i+1:]
				break
			}
		}
		switch {
		case strings.EqualFold(name, "gzip"):
			return !zeroQ(params)
		case name == "*":
			wildcard = !zeroQ(params)
		}
	}
	return wildcard
}

func zeroQ(params string) bool {
	p := trimSpace(params)
	if len(p) < 2 || p[:2] != "q=" {
		return false
	}
	for _, c := range p[2:] {
		if c != '0' && c != '.' {
			return false
		}
	}
	return true
}

// nextToken splits a comma-separated header without allocating.
func nextToken(s string) (tok, rest string) {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return trimSpace(s[:i]), s[i+1:]
		}
	}
	return trimSpace(s), ""
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
