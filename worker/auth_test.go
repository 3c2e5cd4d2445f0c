package worker_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pushauth"
	"github.com/vaxbook/vaxbook/internal/pushauth/pushauthtest"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

const workerBase = "https://worker-123.asia-southeast1.run.app"

// authedWorker is the fixture's worker with push authentication on, trusting
// tokens of issuer is for the push identity, and the e-mail route mounted.
func authedWorker(t *testing.T, f fixture, is *pushauthtest.Issuer) http.Handler {
	t.Helper()
	v, err := pushauth.New(context.Background(), pushauth.Config{Mode: "on", Audience: workerBase, ServiceAccount: pushauthtest.Account}, is.Option())
	if err != nil {
		t.Fatal(err)
	}
	return newWorker(f.pool, f.statuses, worker.WithPushAuth(v),
		worker.WithEmailPush(worker.HandleEmail(quiet, postgres.NewEmails(f.pool), nil, nil)))
}

// pushWith posts body to path with the given Authorization header ("" for
// none) and returns the status code.
func pushWith(t testing.TB, h http.Handler, path, authorization string, body []byte) int {
	t.Helper()
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	h.ServeHTTP(rec, r)
	return rec.Code
}

// The item 4: a push with no token, or any token but Pub/Sub's for
// this endpoint, is refused before anything is read, and books nothing.
func TestPush_OnlyPubSubsTokenForThisEndpointBooks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 50, 50)
	is := pushauthtest.New(t)
	h := authedWorker(t, f, is)
	good := pushauthtest.PushClaims(workerBase + worker.PushPath)
	with := func(edit func(*pushauthtest.Claims)) string {
		c := good
		edit(&c)
		return "Bearer " + is.Token(t, c)
	}
	cases := []struct {
		name, authorization string
		want                int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"not a bearer token", "Basic dXNlcjpwYXNz", http.StatusUnauthorized},
		{"expired", with(func(c *pushauthtest.Claims) { c.Expires = time.Now().Add(-time.Minute) }), http.StatusUnauthorized},
		{"wrong signature", "Bearer " + pushauthtest.ForeignToken(t, good), http.StatusUnauthorized},
		{"wrong audience", with(func(c *pushauthtest.Claims) { c.Audience = "https://evil.example/push/appointments" }), http.StatusForbidden},
		{"the e-mail route's audience", with(func(c *pushauthtest.Claims) { c.Audience = workerBase + worker.EmailPushPath }), http.StatusForbidden},
		{"wrong account", with(func(c *pushauthtest.Claims) { c.Email = "attacker@evil.iam.gserviceaccount.com" }), http.StatusForbidden},
		{"unverified e-mail", with(func(c *pushauthtest.Claims) { c.EmailVerified = false }), http.StatusForbidden},
	}
	for i, tc := range cases {
		body := envelope(t, "forged-"+tc.name, testenv.NewRequest(100+i, "sel-001-am"))
		if got := pushWith(t, h, worker.PushPath, tc.authorization, body); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings`); n != 0 {
		t.Fatalf("bookings from refused pushes: got %d, want 0", n)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM rejected_messages`); n != 0 {
		t.Errorf("rejected_messages rows from refused pushes: got %d, want 0 (nothing of them is read)", n)
	}

	req := testenv.NewRequest(1, "sel-001-am")
	if got := pushWith(t, h, worker.PushPath, "Bearer "+is.Token(t, good), envelope(t, "m1", req)); got != http.StatusNoContent {
		t.Fatalf("push with Pub/Sub's token: got %d, want 204", got)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings WHERE reference = $1 AND status = 'confirmed'`, req.Reference); n != 1 {
		t.Errorf("bookings from the authenticated push: got %d, want 1", n)
	}
}

// Authentication covers the prefix, so every push route, the e-mail one and
// any added later, is refused without a token; the probes stay open.
func TestPush_EveryPushRouteDemandsAToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 5)
	h := authedWorker(t, f, pushauthtest.New(t))
	var pushRoutes int
	err := chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !strings.HasPrefix(route, "/push/") {
			return nil
		}
		pushRoutes++
		if got := pushWith(t, h, route, "", envelope(t, "m-"+route, testenv.NewRequest(1, "sel-001-am"))); got != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: got %d, want 401", method, route, got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pushRoutes < 2 {
		t.Errorf("push routes found: %d, want at least /push/appointments and /push/email", pushRoutes)
	}
	if got := pushWith(t, h, "/push/anything-added-later", "", nil); got != http.StatusUnauthorized {
		t.Errorf("unrouted push path without a token: got %d, want 401 before routing", got)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("healthz: got %d, want 200 without a token", rec.Code)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings`); n != 0 {
		t.Errorf("bookings: got %d, want 0", n)
	}
}

// A worker wired with neither WithPushAuth nor WithoutPushAuth fails closed.
func TestPush_NoAuthChoiceRefusesEveryPush(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 5)
	h := newWorker(f.pool, f.statuses)
	if got := push(t, h, worker.PushPath, envelope(t, "m1", testenv.NewRequest(1, "sel-001-am"))); got != http.StatusUnauthorized {
		t.Errorf("push: got %d, want 401", got)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings`); n != 0 {
		t.Errorf("bookings: got %d, want 0", n)
	}
}
