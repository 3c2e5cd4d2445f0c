package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/ratelimit"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// securityHeaders are on every API answer.
var securityHeaders = map[string]string{
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
	"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}

// testAbuse is the abuse control over a Redis of the test's own: limit on
// /submit and /status/, and with caps one accepted booking per e-mail
// address and per phone number an hour.
func testAbuse(t *testing.T, limit string, caps bool) api.Abuse {
	t.Helper()
	store, err := ratelimit.New(testenv.NewRedis(t), []byte("test-rate-limit-key"))
	if err != nil {
		t.Fatal(err)
	}
	return abuseOver(t, store, limit, caps, 0)
}

func abuseOver(t *testing.T, store api.AbuseStore, limit string, caps bool, hops int) api.Abuse {
	t.Helper()
	l, err := ratelimit.ParseLimit(limit)
	if err != nil {
		t.Fatal(err)
	}
	a := api.Abuse{Store: store, ClientIP: ratelimit.ClientIP{Hops: hops},
		Routes: []api.RouteLimit{{Path: "/submit", Limit: l}, {Path: "/status/", Limit: l}}}
	if caps {
		a.EmailCap = ratelimit.Cap{Max: 1, Window: time.Hour}
		a.PhoneCap = a.EmailCap
	}
	return a
}

func stubServer(t *testing.T, pub api.Publisher, a api.Abuse) http.Handler {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return api.NewServer(log, newStubListings(t), pub, stubStatuses{err: booking.ErrUnknownReference}, api.Options{Abuse: a})
}

// get and postSubmit send one request from the client chain xff.
func get(h http.Handler, target, xff string) *httptest.ResponseRecorder {
	return send(h, http.MethodGet, target, "", xff)
}

func postSubmit(h http.Handler, body, xff string) *httptest.ResponseRecorder {
	return send(h, http.MethodPost, "/submit", body, xff)
}

func send(h http.Handler, method, target, body, xff string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("X-Forwarded-For", xff)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Two servers over one Redis are two Cloud Run instances: a client that
// spreads its requests over both still gets one allowance.
func TestRateLimit_HoldsAcrossInstancesOnOneRedis(t *testing.T) {
	t.Parallel()
	rdb := testenv.NewRedis(t)
	store, _ := ratelimit.New(rdb, []byte("test-rate-limit-key"))
	a := abuseOver(t, store, "3/h", false, 0)
	instances := []http.Handler{stubServer(t, stubPublisher{}, a), stubServer(t, stubPublisher{}, a)}
	target := "/status/" + booking.NewReference()
	var codes []int
	var last *httptest.ResponseRecorder
	for i := range 6 {
		last = get(instances[i%2], target, "203.0.113.9")
		codes = append(codes, last.Code)
	}
	if want := []int{404, 404, 404, 429, 429, 429}; !slices.Equal(codes, want) {
		t.Fatalf("codes: got %v, want %v", codes, want)
	}
	if b := decodeError(t, last); b.Error.Code != "rate_limited" {
		t.Errorf("code: got %q, want rate_limited", b.Error.Code)
	}
	ra, _ := strconv.Atoi(last.Header().Get("Retry-After"))
	if ra < 1100 || ra > 1200 { // one more of 3 an hour: 20 minutes
		t.Errorf("Retry-After: got %q, want about 1200", last.Header().Get("Retry-After"))
	}
	if l, r, s := last.Header().Get("RateLimit-Limit"), last.Header().Get("RateLimit-Remaining"), last.Header().Get("RateLimit-Reset"); l != "3" || r != "0" || s == "" {
		t.Errorf("RateLimit-Limit/Remaining/Reset: got %q %q %q, want 3 0 and a reset", l, r, s)
	}
	if w := get(instances[0], target, "203.0.113.10"); w.Code != 404 || w.Header().Get("RateLimit-Remaining") != "2" {
		t.Errorf("another client: got %d remaining %q, want 404 with 2 left", w.Code, w.Header().Get("RateLimit-Remaining"))
	}
}

// Behind Firebase Hosting the client is one hop left of the end: entries a
// client forges further left do not buy it a new allowance, and two people
// behind one CDN edge are counted apart.
func TestRateLimit_KeysOnTheTrustedHop(t *testing.T) {
	t.Parallel()
	h := stubServer(t, stubPublisher{}, abuseOver(t, mustStore(t), "2/h", false, 1))
	target := "/status/" + booking.NewReference()
	for i := range 2 {
		if w := get(h, target, "10.9.9."+strconv.Itoa(i)+", 203.0.113.9, 151.101.1.1"); w.Code != 404 {
			t.Fatalf("request %d: got %d", i, w.Code)
		}
	}
	if w := get(h, target, "198.51.100.77, 203.0.113.9, 151.101.1.1"); w.Code != 429 {
		t.Errorf("forged left entry: got %d, want 429 (the same client)", w.Code)
	}
	if w := get(h, target, "203.0.113.10, 151.101.1.1"); w.Code != 404 {
		t.Errorf("another person behind the same edge: got %d, want 404", w.Code)
	}
}

// /listppv is never limited by the API (the CDN absorbs it), nor are
// routes without a limit.
func TestRateLimit_LeavesTheListingAlone(t *testing.T) {
	t.Parallel()
	h := stubServer(t, stubPublisher{}, abuseOver(t, mustStore(t), "1/h", false, 0))
	for i := range 5 {
		for _, target := range []string{"/listppv?state=selangor", "/states", "/config"} {
			w := get(h, target, "203.0.113.9")
			if w.Code != 200 || w.Header().Get("RateLimit-Limit") != "" {
				t.Fatalf("%s #%d: got %d RateLimit-Limit %q, want 200 unlimited", target, i, w.Code, w.Header().Get("RateLimit-Limit"))
			}
			for k, v := range securityHeaders {
				if w.Header().Get(k) != v {
					t.Errorf("%s: %s: got %q, want %q", target, k, w.Header().Get(k), v)
				}
			}
		}
	}
}

// With Redis unreachable the limits let requests through rather than
// refuse every booking in the country.
func TestRateLimit_RedisDownFailsOpen(t *testing.T) {
	t.Parallel()
	rdb := testenv.NewRedis(t)
	store, _ := ratelimit.New(rdb, []byte("test-rate-limit-key"))
	_ = rdb.Close()
	h := stubServer(t, stubPublisher{}, abuseOver(t, store, "1/h", true, 0))
	for i := range 3 {
		if w := get(h, "/status/"+booking.NewReference(), "203.0.113.9"); w.Code != 404 {
			t.Errorf("status #%d: got %d, want 404 (through)", i, w.Code)
		}
		w := postSubmit(h, submission(nil), "203.0.113.9")
		if w.Code != http.StatusAccepted {
			t.Errorf("submit #%d: got %d %s, want 202 (through)", i, w.Code, w.Body)
		}
	}
}

// One e-mail address or phone number books at most the cap a day,
// whatever the ID and the client address; a booking that could not be
// queued does not count.
func TestSubmit_ContactCapsRefuseTheFieldAtItsCap(t *testing.T) {
	t.Parallel()
	a := abuseOver(t, mustStore(t), "off", true, 0)
	person := func(ic, email, phone string) string {
		return submission(func(m map[string]any) { m["id_number"], m["email"], m["phone"] = ic, email, phone })
	}
	down := stubServer(t, stubPublisher{err: errDown}, a)
	if w := postSubmit(down, person("900101-14-5678", "siti@example.com", "0123456789"), "203.0.113.1"); w.Code != 503 {
		t.Fatalf("queue down: got %d, want 503", w.Code)
	}
	h := stubServer(t, stubPublisher{}, a)
	if w := postSubmit(h, person("900101-14-5678", "siti@example.com", "0123456789"), "203.0.113.1"); w.Code != 202 {
		t.Fatalf("first: got %d %s, want 202 (the failed attempt gave its use back)", w.Code, w.Body)
	}
	for _, tc := range []struct{ body, field string }{
		{person("850505-10-1234", "Siti+2@Example.com", "0198765432"), "email"},
		{person("850505-10-1234", "other@example.com", "+60123456789"), "phone"},
	} {
		w := postSubmit(h, tc.body, "198.51.100.7")
		b := decodeError(t, w)
		if w.Code != 429 || b.Error.Code != "contact_limit" || b.Error.Field != tc.field || w.Header().Get("Retry-After") == "" {
			t.Errorf("got %d %+v Retry-After %q, want 429 contact_limit on %s", w.Code, b.Error, w.Header().Get("Retry-After"), tc.field)
		}
	}
	// The refusal on phone gave back the e-mail use it had taken.
	if w := postSubmit(h, person("850505-10-1234", "other@example.com", "0198765432"), "198.51.100.7"); w.Code != 202 {
		t.Errorf("fresh contacts: got %d %s, want 202", w.Code, w.Body)
	}
}

func mustStore(t *testing.T) api.AbuseStore {
	t.Helper()
	s, err := ratelimit.New(testenv.NewRedis(t), []byte("test-rate-limit-key"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
