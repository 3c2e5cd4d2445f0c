package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/captcha"
)

const captchaSecret = "test-secret"

// siteverify stands in for Turnstile's endpoint: it checks the form the real
// one expects and accepts the token "human" once, as tokens are single-use.
func siteverify(t *testing.T, calls *atomic.Int64) *httptest.Server {
	t.Helper()
	used := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("siteverify got %s %q (%v), want a POSTed form", r.Method, r.Header.Get("Content-Type"), err)
		}
		if r.PostForm.Get("secret") != captchaSecret || r.PostForm.Get("remoteip") == "" {
			t.Errorf("siteverify form: %v", r.PostForm)
		}
		tok := r.PostForm.Get("response")
		ok := tok == "human" && !used[tok]
		used[tok] = true
		_ = json.NewEncoder(w).Encode(map[string]any{"success": ok, "error-codes": map[bool][]string{true: {}, false: {"invalid-input-response"}}[ok]})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func withCaptcha(url string) option {
	return func(o *api.Options) {
		o.Captcha = api.Captcha{Provider: captcha.Turnstile, SiteKey: "site-key-1", Verifier: captcha.New(url, captchaSecret, nil)}
	}
}

func TestConfig_NamesTheCaptchaProviderAndSiteKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []option
		want string
	}{
		{"off", nil, `{"captcha":{"provider":""}}`},
		{"turnstile", []option{withCaptcha("http://127.0.0.1:1")}, `{"captcha":{"provider":"turnstile","site_key":"site-key-1"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false, tc.opts...)
			w := e.do(t, http.MethodGet, "/config", "", nil)
			if w.Code != http.StatusOK || w.Body.String() != tc.want {
				t.Errorf("GET /config: got %d %s, want 200 %s", w.Code, w.Body, tc.want)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=300" {
				t.Errorf("Cache-Control: got %q", cc)
			}
		})
	}
}

func TestSubmit_CaptchaOnNeedsAGoodToken(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	e := newEnv(t, true, withCaptcha(siteverify(t, &calls).URL))
	withToken := func(tok string) string {
		return submission(func(m map[string]any) { m["captcha_token"] = tok })
	}

	w := e.do(t, http.MethodPost, "/submit", submission(nil), nil)
	if b := decodeError(t, w); w.Code != http.StatusBadRequest || b.Error.Field != "captcha_token" || b.Error.Code != "required" {
		t.Errorf("no token: got %d %+v, want 400 required captcha_token", w.Code, b)
	}
	w = e.do(t, http.MethodPost, "/submit", withToken("robot"), nil)
	if b := decodeError(t, w); w.Code != http.StatusBadRequest || b.Error.Field != "captcha_token" || b.Error.Code != "captcha_failed" {
		t.Errorf("bad token: got %d %+v, want 400 captcha_failed captcha_token", w.Code, b)
	}
	key := map[string]string{"Idempotency-Key": "form-1"}
	w = e.do(t, http.MethodPost, "/submit", withToken("human"), key)
	if w.Code != http.StatusAccepted {
		t.Fatalf("good token: got %d %s, want 202", w.Code, w.Body)
	}
	first := decodeAccepted(t, w.Body.Bytes())
	// The retry of an accepted submission carries the spent token; it is
	// answered from the record, without asking the provider again.
	before := calls.Load()
	w = e.do(t, http.MethodPost, "/submit", withToken("human"), key)
	if w.Code != http.StatusAccepted || decodeAccepted(t, w.Body.Bytes()).Reference != first.Reference {
		t.Errorf("retry: got %d %s, want 202 with reference %s", w.Code, w.Body, first.Reference)
	}
	if calls.Load() != before {
		t.Errorf("retry asked the provider again")
	}
	if n := len(e.srv.Messages()); n != 1 {
		t.Errorf("published: got %d messages, want 1", n)
	}
}

func TestSubmit_CaptchaProviderDownIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	e := newEnv(t, true, withCaptcha(down.URL))
	w := e.do(t, http.MethodPost, "/submit", submission(func(m map[string]any) { m["captcha_token"] = "human" }), nil)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("got %d Retry-After %q, want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if n := len(e.srv.Messages()); n != 0 {
		t.Errorf("published %d messages, want none", n)
	}
}

func TestSubmit_CaptchaOffIgnoresAToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	w := e.do(t, http.MethodPost, "/submit", submission(func(m map[string]any) { m["captcha_token"] = "anything" }), nil)
	if w.Code != http.StatusAccepted {
		t.Errorf("got %d %s, want 202", w.Code, w.Body)
	}
}
