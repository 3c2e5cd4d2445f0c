package captcha_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vaxbook/vaxbook/internal/captcha"
)

const secret = "0x4AAAAAAAsecret"

// fakeSiteverify answers as Turnstile's and reCAPTCHA's siteverify do, and
// fails the test when the request is not the form they document.
func fakeSiteverify(t *testing.T, answer func(token string) (int, string)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("method: got %s, want POST", r.Method)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type: got %q, want a form", ct)
		}
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
		}
		if got := r.PostForm.Get("secret"); got != secret {
			t.Errorf("secret: got %q", got)
		}
		if got := r.PostForm.Get("remoteip"); got != "203.0.113.9" {
			t.Errorf("remoteip: got %q", got)
		}
		code, body := answer(r.PostForm.Get("response"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVerify_AnswersByWhatTheProviderSays(t *testing.T) {
	t.Parallel()
	srv := fakeSiteverify(t, func(token string) (int, string) {
		switch token {
		case "good":
			return 200, `{"success":true,"challenge_ts":"2026-11-23T07:00:00Z","hostname":"vaxbook.my","error-codes":[]}`
		case "reused":
			return 200, `{"success":false,"error-codes":["timeout-or-duplicate"]}`
		case "provider-trouble":
			return 200, `{"success":false,"error-codes":["internal-error"]}`
		case "bad-secret":
			return 200, `{"success":false,"error-codes":["invalid-input-secret"]}`
		case "silent":
			return 200, `{"success":false}`
		case "500":
			return 500, `oops`
		}
		return 200, `not json`
	})
	v := captcha.New(srv.URL, secret, nil)
	cases := []struct {
		token string
		want  error
	}{
		{"good", nil},
		{"reused", captcha.ErrRejected},
		{"silent", captcha.ErrRejected},
		{"provider-trouble", captcha.ErrUnavailable},
		{"bad-secret", captcha.ErrUnavailable},
		{"500", captcha.ErrUnavailable},
		{"garbage", captcha.ErrUnavailable},
	}
	for _, tc := range cases {
		err := v.Verify(context.Background(), tc.token, "203.0.113.9")
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("token %q: got %v, want %v", tc.token, err, tc.want)
		}
	}
}

func TestVerify_EndpointDownIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	err := captcha.New(url, secret, nil).Verify(context.Background(), "good", "203.0.113.9")
	if !errors.Is(err, captcha.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
}

// The answers are the providers' documented shapes: Turnstile's carries
// hostname and action, reCAPTCHA v2's hostname only.
func TestVerify_RefusesATokenSolvedElsewhereOrForAnotherAction(t *testing.T) {
	t.Parallel()
	srv := fakeSiteverify(t, func(token string) (int, string) {
		switch token {
		case "turnstile-here":
			return 200, `{"success":true,"challenge_ts":"2026-11-23T07:00:00.000Z","hostname":"vaxbook.web.app","error-codes":[],"action":"submit","cdata":"","metadata":{"ephemeral_id":"x:1"}}`
		case "turnstile-other-site":
			return 200, `{"success":true,"challenge_ts":"2026-11-23T07:00:00.000Z","hostname":"solver.example","error-codes":[],"action":"submit","cdata":""}`
		case "turnstile-other-action":
			return 200, `{"success":true,"challenge_ts":"2026-11-23T07:00:00.000Z","hostname":"vaxbook.web.app","error-codes":[],"action":"login","cdata":""}`
		case "recaptcha-here":
			return 200, `{"success":true,"challenge_ts":"2026-11-23T07:00:00Z","hostname":"VAXBOOK.web.app"}`
		}
		return 200, `{"success":false,"error-codes":["invalid-input-response"]}`
	})
	hosts := []string{"vaxbook.web.app", "vaxbook.firebaseapp.com"}
	turnstile := captcha.New(srv.URL, secret, nil).Expect(hosts, "submit")
	recaptcha := captcha.New(srv.URL, secret, nil).Expect(hosts, "")
	unchecked := captcha.New(srv.URL, secret, nil)
	for _, tc := range []struct {
		v     *captcha.Verifier
		token string
		want  error
	}{
		{turnstile, "turnstile-here", nil},
		{turnstile, "turnstile-other-site", captcha.ErrRejected},
		{turnstile, "turnstile-other-action", captcha.ErrRejected},
		{turnstile, "recaptcha-here", captcha.ErrRejected}, // no action
		{recaptcha, "recaptcha-here", nil},
		{recaptcha, "turnstile-other-site", captcha.ErrRejected},
		{unchecked, "turnstile-other-site", nil},
	} {
		err := tc.v.Verify(context.Background(), tc.token, "203.0.113.9")
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("token %q: got %v, want %v", tc.token, err, tc.want)
		}
	}
}
