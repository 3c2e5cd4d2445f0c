package devstack_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/cachefill"
	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/devstack"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// start runs a stack on a free port with env over dev's defaults, until the
// test ends.
func start(t *testing.T, env map[string]string, apiOnly bool) *devstack.Stack {
	t.Helper()
	return startIn(t, context.Background(), env, apiOnly)
}

// startIn is start with the stack built on ctx (carrying a test's
// telemetry, say).
func startIn(t *testing.T, ctx context.Context, env map[string]string, apiOnly bool) *devstack.Stack {
	t.Helper()
	env["DATABASE_URL"], env["REDIS_URL"], env["PORT"] = testenv.DatabaseURL(t), redisURL(t), "0"
	var cfg devstack.Config
	if err := config.Load(context.Background(), devstack.Lookup(func(k string) string { return env[k] }), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.APIOnly = apiOnly
	ctx, cancel := context.WithCancel(ctx)
	s, err := devstack.Start(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := s.Wait(); err != nil {
			t.Errorf("Wait after cancel: %v", err)
		}
	})
	if err := s.WaitReady(context.Background(), 120*time.Second); err != nil {
		t.Fatal(err)
	}
	return s
}

type route struct {
	method, path string
	code         int
	contentType  string // prefix; empty: any
}

func check(t *testing.T, base string, routes []route) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, r := range routes {
		req, _ := http.NewRequest(r.method, base+r.path, strings.NewReader("{}"))
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v", r.method, r.path, err)
			continue
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != r.code || !strings.HasPrefix(ct, r.contentType) {
			t.Errorf("%s %s: got %d %s, want %d %s", r.method, r.path, resp.StatusCode, ct, r.code, r.contentType)
		}
	}
}

func TestStart_ServesPageAPIWorkerAndOutboxOnOnePort(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error"}, false)
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || s.DatabaseURL() == "" || s.PubSubHost() == "" {
		t.Errorf("URL %q, DatabaseURL %q, PubSubHost %q: want a loopback URL and both set", s.URL(), s.DatabaseURL(), s.PubSubHost())
	}
	check(t, s.URL(), []route{
		{"GET", "/", 200, "text/html"},
		{"GET", "/index.html", http.StatusMovedPermanently, ""},
		{"GET", "/app.js", 200, "text/javascript"},
		{"GET", "/style.css", 200, "text/css"},
		{"GET", "/listppv?state=selangor", 200, "application/json"},
		{"GET", "/states", 200, "application/json"},
		{"GET", "/config", 200, "application/json"},
		{"GET", "/healthz", 200, "application/json"},
		{"GET", "/readyz", 200, "application/json"},
		{"POST", "/listppv", http.StatusMethodNotAllowed, "application/json"},
		{"GET", "/dev/mail", 200, "text/html"},
		{"GET", "/dev/mail.json", 200, "application/json"},
		{"POST", "/push/appointments", http.StatusNoContent, ""}, // malformed: acknowledged, not retried
		{"POST", "/push/email", http.StatusNoContent, ""},
		{"POST", "/push/sms", http.StatusNoContent, ""},
		{"GET", "/push/appointments", http.StatusNotFound, ""},
		{"GET", "/nothing-here", http.StatusNotFound, ""},
	})
}

// TestStart_InvitesAQueueStatesRegistrantIntoTheOutbox: the invitation loop
// runs in the stack, and its e-mail reaches /dev/mail with the link.
func TestStart_InvitesAQueueStatesRegistrantIntoTheOutbox(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "INVITE_INTERVAL": "200ms", "LOG_LEVEL": "error"}, false)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, s.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `UPDATE states SET mode = 'queue', opens_at = now() - interval '1 hour' WHERE code = 'perlis'`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
INSERT INTO registrations (reference, state_code, id_hash, status, name, phone, email, lang, contact, received_at, queue_key, place, message_id)
VALUES ('ABCDEFGHJK234567', 'perlis', $1, 'queued', 'Siti', '+60123456789', 'siti@example.com', 'en', 'email', now(),
        (extract(epoch FROM now()) * 1000000)::bigint, 1, 'm1')`, pii.Dev().Hash("900101145678")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL() + "/dev/mail.json")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), s.URL()+"/?invite=") {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Error("no invitation with a link to this stack reached /dev/mail")
}

func TestStart_APIOnlyServesTheAPIAlone(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error"}, true)
	check(t, s.URL(), []route{
		{"GET", "/listppv?state=selangor", 200, "application/json"},
		{"GET", "/healthz", 200, "application/json"},
		{"GET", "/", http.StatusNotFound, "application/json"},
		{"GET", "/dev/mail", http.StatusNotFound, "application/json"},
		{"POST", "/push/appointments", http.StatusNotFound, "application/json"},
	})
}

func TestStart_BadSettingStopsBeforeAnythingStarts(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]devstack.Config{
		"CACHEFILL_INTERVAL":     {},
		"LISTPPV_MICROCACHE_TTL": {CacheFill: cachefill.Config{Interval: time.Second, StatusTTL: time.Hour}},
	} {
		_, err := devstack.Start(context.Background(), slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), cfg)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("zero %s: got %v, want an error naming it", name, err)
		}
	}
}
