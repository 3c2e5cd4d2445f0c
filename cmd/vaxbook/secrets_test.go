package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Start-up errors land in Cloud Logging, CI output and bug reports: a
// secret an operator got wrong (too short, or inside a malformed URL) must
// be named, never printed.
func TestRun_NoSecretInAnyErrorLine(t *testing.T) {
	t.Parallel()
	const marker = "Zq9sekret" // short on purpose: every length check fails
	api := map[string]string{"REDIS_URL": "redis://x", "GOOGLE_CLOUD_PROJECT": "p", "PORT": "0"}
	worker := map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "PUSH_AUTH": "off", "PORT": "0", "ID_PEPPER": strings.Repeat("p", 32)}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := make(map[string]string, len(base)+len(kv)/2)
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"short invitation secret", []string{"api"}, with(api, "INVITATION_SECRET", marker), "INVITATION_SECRET"},
		{"short reference key", []string{"api"}, with(api, "REFERENCE_KEY", marker), "REFERENCE_KEY"},
		{"short rate limit key", []string{"api"}, with(api, "RATE_LIMIT", "on", "RATE_LIMIT_KEY", marker), "RATE_LIMIT_KEY"},
		{"captcha URL with a password", []string{"api"}, with(api, "CAPTCHA_PROVIDER", "turnstile", "CAPTCHA_SITE_KEY", "k", "CAPTCHA_SECRET", "s", "CAPTCHA_VERIFY_URL", "ftp://u:"+marker+"@x"), "CAPTCHA_VERIFY_URL"},
		{"malformed REDIS_URL", []string{"api"}, with(api, "REDIS_URL", "redis://:"+marker+"@x:port"), "REDIS_URL"},
		{"malformed DATABASE_URL", []string{"worker"}, with(worker, "DATABASE_URL", "postgres://u:"+marker+"@x:port/db"), "DATABASE_URL"},
		{"Twilio token with a stray character", []string{"worker"}, with(worker, "TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef", "TWILIO_AUTH_TOKEN", marker+"!", "SMS_FROM", "vaxbook", "PUBLIC_BASE_URL", "https://x.my"), "TWILIO_AUTH_TOKEN"},
		{"Twilio URL with a password", []string{"worker"}, with(worker, "TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef", "TWILIO_AUTH_TOKEN", "t0k3n", "SMS_FROM", "vaxbook", "PUBLIC_BASE_URL", "https://x.my", "TWILIO_BASE_URL", "ftp://u:"+marker+"@x"), "TWILIO_BASE_URL"},
		{"SendGrid webhook key", []string{"hooks"}, with(map[string]string{"DATABASE_URL": "postgres://x"}, "SENDGRID_WEBHOOK_PUBLIC_KEY", marker), "SENDGRID_WEBHOOK_PUBLIC_KEY"},
		{"SendGrid URL with a password", []string{"worker"}, with(worker, "SENDGRID_API_KEY", marker, "EMAIL_FROM", "a@x.my", "PUBLIC_BASE_URL", "https://x.my", "SENDGRID_BASE_URL", "ftp://u:"+marker+"@x"), "SENDGRID_BASE_URL"},
		{"short ID pepper", []string{"worker"}, with(worker, "ID_PEPPER", marker), "ID_PEPPER"},
		{"short invitation secret (invite)", []string{"invite"}, map[string]string{"DATABASE_URL": "postgres://x", "REDIS_URL": "redis://x", "GOOGLE_CLOUD_PROJECT": "p", "EMAIL_TOPIC": "e", "INVITATION_SECRET": marker}, "INVITATION_SECRET"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"vaxbook"}, tc.args...), envFunc(tc.env), &out)
			if err == nil {
				t.Fatal("run: got nil error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
			if strings.Contains(err.Error(), marker) || strings.Contains(out.String(), marker) {
				t.Errorf("the secret is printed: error %q, output %q", err, out.String())
			}
		})
	}
}
