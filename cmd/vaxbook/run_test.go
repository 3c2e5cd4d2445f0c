package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestRun_BadConfigurationStopsWithOneLineNamingTheVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"api without REDIS_URL", []string{"api"}, map[string]string{"GOOGLE_CLOUD_PROJECT": "p"}, "REDIS_URL"},
		{"api without project", []string{"api"}, map[string]string{"REDIS_URL": "redis://127.0.0.1:6379"}, "GOOGLE_CLOUD_PROJECT"},
		{"malformed number", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "DATABASE_MAX_CONNS": "many"}, "DATABASE_MAX_CONNS"},
		{"worker without DATABASE_URL", []string{"worker"}, map[string]string{"REDIS_URL": "redis://x"}, "DATABASE_URL"},
		{"malformed interval", []string{"cachefill"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "CACHEFILL_INTERVAL": "often"}, "CACHEFILL_INTERVAL"},
		{"zero interval", []string{"cachefill"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "CACHEFILL_INTERVAL": "0s"}, "CACHEFILL_INTERVAL"},
		{"bad log level", []string{"api"}, map[string]string{"REDIS_URL": "redis://x", "GOOGLE_CLOUD_PROJECT": "p", "LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"micro-cache over a second", []string{"api"}, map[string]string{"REDIS_URL": "redis://x", "GOOGLE_CLOUD_PROJECT": "p", "LISTPPV_MICROCACHE_TTL": "5s"}, "LISTPPV_MICROCACHE_TTL"},
		{"dev micro-cache over a second", []string{"dev"}, map[string]string{"LISTPPV_MICROCACHE_TTL": "5s"}, "LISTPPV_MICROCACHE_TTL"},
		{"malformed status TTL", []string{"api"}, map[string]string{"REDIS_URL": "redis://x", "GOOGLE_CLOUD_PROJECT": "p", "STATUS_TTL": "forever"}, "STATUS_TTL"},
		{"unknown captcha provider", []string{"api"}, map[string]string{"REDIS_URL": "redis://x", "GOOGLE_CLOUD_PROJECT": "p", "CAPTCHA_PROVIDER": "hcaptcha"}, "CAPTCHA_PROVIDER"},
		{"captcha without secret", []string{"api"}, map[string]string{"REDIS_URL": "redis://x", "GOOGLE_CLOUD_PROJECT": "p", "CAPTCHA_PROVIDER": "turnstile", "CAPTCHA_SITE_KEY": "k"}, "CAPTCHA_SECRET"},
		{"captcha without site key", []string{"dev"}, map[string]string{"CAPTCHA_PROVIDER": "recaptcha", "CAPTCHA_SECRET": "s"}, "CAPTCHA_SITE_KEY"},
		{"malformed captcha URL", []string{"api"}, map[string]string{"REDIS_URL": "redis://x", "GOOGLE_CLOUD_PROJECT": "p", "CAPTCHA_PROVIDER": "turnstile", "CAPTCHA_SITE_KEY": "k", "CAPTCHA_SECRET": "s", "CAPTCHA_VERIFY_URL": "ftp://x"}, "CAPTCHA_VERIFY_URL"},
		{"e-mail topic without project", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "EMAIL_TOPIC": "email-topic"}, "GOOGLE_CLOUD_PROJECT"},
		{"SendGrid key without sender", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "SENDGRID_API_KEY": "k", "PUBLIC_BASE_URL": "https://x.my"}, "EMAIL_FROM"},
		{"malformed sender", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "SENDGRID_API_KEY": "k", "EMAIL_FROM": "not an address", "PUBLIC_BASE_URL": "https://x.my"}, "EMAIL_FROM"},
		{"SendGrid key without page", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "SENDGRID_API_KEY": "k", "EMAIL_FROM": "a@x.my"}, "PUBLIC_BASE_URL"},
		{"malformed SendGrid URL", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "SENDGRID_API_KEY": "k", "EMAIL_FROM": "a@x.my", "PUBLIC_BASE_URL": "https://x.my", "SENDGRID_BASE_URL": "sendgrid"}, "SENDGRID_BASE_URL"},
		{"Twilio SID without token", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef", "SMS_FROM": "+60312345678", "PUBLIC_BASE_URL": "https://x.my"}, "TWILIO_AUTH_TOKEN"},
		{"Twilio without sender", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef", "TWILIO_AUTH_TOKEN": "t0k3n", "PUBLIC_BASE_URL": "https://x.my"}, "SMS_FROM"},
		{"Twilio without page", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef", "TWILIO_AUTH_TOKEN": "t0k3n", "SMS_FROM": "vaxbook"}, "PUBLIC_BASE_URL"},
		{"SMS topic without e-mail topic", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "SMS_TOPIC": "sms-topic"}, "SMS_TOPIC"},
		{"negative daily cap", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "MESSAGE_DAILY_CAP": "-1"}, "MESSAGE_DAILY_CAP"},
		{"hooks with nothing to serve", []string{"hooks"}, map[string]string{"DATABASE_URL": "postgres://x"}, "TWILIO_AUTH_TOKEN or SENDGRID_WEBHOOK_PUBLIC_KEY"},
		{"Twilio hook without its URL", []string{"hooks"}, map[string]string{"DATABASE_URL": "postgres://x", "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_STATUS_CALLBACK"},
		{"SendGrid hook with a bad key", []string{"hooks"}, map[string]string{"DATABASE_URL": "postgres://x", "SENDGRID_WEBHOOK_PUBLIC_KEY": "bm90IGEga2V5"}, "SENDGRID_WEBHOOK_PUBLIC_KEY"},
		{"hooks without database", []string{"hooks"}, map[string]string{"SENDGRID_WEBHOOK_PUBLIC_KEY": "x"}, "DATABASE_URL"},
		{"short invitation secret", []string{"api"}, map[string]string{"REDIS_URL": "redis://x", "GOOGLE_CLOUD_PROJECT": "p", "INVITATION_SECRET": "short"}, "INVITATION_SECRET"},
		{"invite without secret", []string{"invite"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "GOOGLE_CLOUD_PROJECT": "p", "EMAIL_TOPIC": "email-topic"}, "INVITATION_SECRET"},
		{"invite with a short secret", []string{"invite"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "GOOGLE_CLOUD_PROJECT": "p", "EMAIL_TOPIC": "email-topic", "INVITATION_SECRET": "short"}, "INVITATION_SECRET"},
		{"invite without e-mail topic", []string{"invite"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "GOOGLE_CLOUD_PROJECT": "p", "INVITATION_SECRET": strings.Repeat("k", 32)}, "EMAIL_TOPIC"},
		{"worker with a push account but no audience", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "PUSH_SERVICE_ACCOUNT": "vaxbook-push@p.iam.gserviceaccount.com"}, "PUSH_AUDIENCE"},
		{"worker without push account", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "PUSH_AUDIENCE": "https://w.run.app"}, "PUSH_SERVICE_ACCOUNT"},
		{"worker without ID pepper", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "PUSH_AUDIENCE": "https://w.run.app", "PUSH_SERVICE_ACCOUNT": "push@p.iam.gserviceaccount.com"}, "ID_PEPPER"},
		{"unknown push auth mode", []string{"worker"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "PUSH_AUTH": "maybe"}, "PUSH_AUTH"},
		{"migrate without DATABASE_URL", []string{"migrate", "up"}, nil, "DATABASE_URL"},
		{"unknown command", []string{"serve"}, nil, "unknown command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), append([]string{"vaxbook"}, tc.args...), envFunc(tc.env), &bytes.Buffer{})
			if err == nil {
				t.Fatal("run: got nil error")
			}
			first := strings.SplitN(err.Error(), "\n", 2)[0]
			if !strings.Contains(first, tc.want) {
				t.Errorf("error: got %q, want its first line to name %s", err, tc.want)
			}
		})
	}
}

func TestRun_APIServesWithoutDatabaseURL(t *testing.T) {
	t.Parallel()
	srv, psc := testenv.NewPubSub(t, "p")
	if err := pubsub.EnsureTopic(context.Background(), psc, "appointments-topic"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PORT": freePort(t), "REDIS_URL": testenv.RedisURL(t), "GOOGLE_CLOUD_PROJECT": "p", "PUBSUB_EMULATOR_HOST": srv.Addr}
	startRole(t, env, "/healthz", "api")
}

func TestRun_WorkerAndCacheFillStartAndStop(t *testing.T) {
	t.Parallel()
	db, rdb := testenv.DatabaseURL(t), testenv.RedisURL(t)
	startRole(t, map[string]string{"PORT": freePort(t), "DATABASE_URL": db, "REDIS_URL": rdb, "PUSH_AUDIENCE": "https://worker-1.asia-southeast1.run.app",
		"PUSH_SERVICE_ACCOUNT": "vaxbook-push@p.iam.gserviceaccount.com", "ID_PEPPER": strings.Repeat("p", 32)}, "/readyz", "worker")
	// E-mail switched on, with no email-topic in the emulator yet: the
	// worker still starts (pushes answer 503 until the topic exists).
	srv, _ := testenv.NewPubSub(t, "p")
	startRole(t, map[string]string{"PORT": freePort(t), "DATABASE_URL": db, "REDIS_URL": rdb, "EMAIL_TOPIC": "email-topic",
		"GOOGLE_CLOUD_PROJECT": "p", "PUBSUB_EMULATOR_HOST": srv.Addr, "SENDGRID_API_KEY": "k", "EMAIL_FROM": "vaxbook <a@x.my>",
		"PUBLIC_BASE_URL": "https://x.my", "PUSH_AUTH": "off"}, "/readyz", "worker")
	startRole(t, map[string]string{"PORT": freePort(t), "DATABASE_URL": db, "REDIS_URL": rdb, "CACHEFILL_INTERVAL": "200ms"}, "/readyz", "cachefill")
}

func TestRun_MigrateDownAndUpAgain(t *testing.T) {
	t.Parallel()
	env := envFunc(map[string]string{"DATABASE_URL": testenv.DatabaseURL(t)})
	var out bytes.Buffer
	for _, args := range [][]string{{"version"}, {"down", "1"}, {"version"}, {"up"}, {"up"}, {"version"}} {
		if err := run(context.Background(), append([]string{"vaxbook", "migrate"}, args...), env, &out); err != nil {
			t.Fatalf("migrate %v: %v", args, err)
		}
	}
	// The newest and the one before it, from the files, so adding a
	// migration does not break this test.
	ups, _ := filepath.Glob("../../migrations/*.up.sql") // sorted
	if len(ups) < 2 {
		t.Fatalf("migrations: found %d up files, want at least 2", len(ups))
	}
	var latest, previous int
	fmt.Sscanf(filepath.Base(ups[len(ups)-1]), "%d_", &latest)
	fmt.Sscanf(filepath.Base(ups[len(ups)-2]), "%d_", &previous)
	want := fmt.Sprintf("version: %d dirty: false\n", latest) +
		strings.Repeat(fmt.Sprintf("version: %d dirty: false\n", previous), 2) +
		strings.Repeat(fmt.Sprintf("version: %d dirty: false\n", latest), 3)
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if err := run(context.Background(), []string{"vaxbook", "migrate", "down", "x"}, env, &out); err == nil {
		t.Error("migrate down x: got nil error")
	}
}

func TestRun_SeedCSVIsIdempotentAndReportsBadLines(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	env := envFunc(map[string]string{"DATABASE_URL": dbURL})
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	csv := "state,state_name,center_id,center_name,address,slot_id,date,time,capacity\n" +
		"selangor,Selangor,sel-001,Dewan A,Jalan 1,sel-001-2026-12-01-am,2026-12-01,08:00-13:00,300\n"
	if err := os.WriteFile(good, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for range 2 {
		out.Reset()
		if err := run(context.Background(), []string{"vaxbook", "seed", "--csv", good}, env, &out); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	if !strings.Contains(out.String(), "changed 0 states, 0 centres, 0 slots") {
		t.Errorf("second load: got %q, want nothing changed", out.String())
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte(csv+"selangor,Selangor,sel-001,Dewan A,Jalan 1,sel-001-x,2026-13-01,08:00-13:00,5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"vaxbook", "seed", "--csv", bad}, env, &out)
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("bad file: got %v, want an error naming line 3", err)
	}
	if err := run(context.Background(), []string{"vaxbook", "seed", "--demo"}, env, &out); err != nil {
		t.Fatalf("seed --demo: %v", err)
	}
	pool, err := postgres.Open(context.Background(), postgres.Config{URL: dbURL, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var states int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM states`).Scan(&states); err != nil || states != 16 {
		t.Errorf("states after the demo: got %d (%v), want 16", states, err)
	}
}

func TestRun_RolesServe503WhileTheirStoresAreDown(t *testing.T) {
	t.Parallel()
	srv, _ := testenv.NewPubSub(t, "p")
	nowhere := "127.0.0.1:" + freePort(t) // nothing listens here
	cases := []struct {
		role      string
		env       map[string]string
		path      string
		method    string
		wantCode  int
		wantRetry bool
	}{
		{"api", map[string]string{"REDIS_URL": "redis://" + nowhere, "GOOGLE_CLOUD_PROJECT": "p", "PUBSUB_EMULATOR_HOST": srv.Addr}, "/listppv?state=selangor", http.MethodGet, 503, true},
		{"api", map[string]string{"REDIS_URL": "redis://" + nowhere, "GOOGLE_CLOUD_PROJECT": "p", "PUBSUB_EMULATOR_HOST": srv.Addr}, "/readyz", http.MethodGet, 503, true},
		{"worker", map[string]string{"DATABASE_URL": "postgres://postgres@" + nowhere + "/x?connect_timeout=1", "REDIS_URL": "redis://" + nowhere, "PUSH_AUTH": "off"}, "/readyz", http.MethodGet, 503, false},
		{"worker", map[string]string{"DATABASE_URL": "postgres://postgres@" + nowhere + "/x?connect_timeout=1", "REDIS_URL": "redis://" + nowhere, "PUSH_AUTH": "off"}, "/push/appointments", http.MethodPost, 503, false},
	}
	for _, tc := range cases {
		t.Run(tc.role+tc.path, func(t *testing.T) {
			env := map[string]string{"PORT": freePort(t)}
			for k, v := range tc.env {
				env[k] = v
			}
			base := startRole(t, env, "/healthz", tc.role)
			body := `{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(`{"reference":"AAAAAAAAAAAAAAAA","state":"s","id_number":"A1234567","preferences":["x"],"submitted_at":"2026-11-23T00:00:00Z"}`)) + `","messageId":"1"},"subscription":"s"}`
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || (tc.wantRetry && resp.Header.Get("Retry-After") == "") {
				t.Errorf("%s %s: got %d Retry-After %q, want %d", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Retry-After"), tc.wantCode)
			}
		})
	}
}
