package pushauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/pushauth"
	"github.com/vaxbook/vaxbook/internal/pushauth/pushauthtest"
)

const base = "https://worker-123.asia-southeast1.run.app"

func TestVerify_AcceptsOnlyThePushIdentitysTokenForThisEndpoint(t *testing.T) {
	t.Parallel()
	is := pushauthtest.New(t)
	v, err := pushauth.New(context.Background(), pushauth.Config{Mode: "on", Audience: base + "/", ServiceAccount: pushauthtest.Account}, is.Option())
	if err != nil {
		t.Fatal(err)
	}
	good := pushauthtest.PushClaims(base + "/push/appointments")
	with := func(f func(*pushauthtest.Claims)) pushauthtest.Claims { c := good; f(&c); return c }
	bearer := func(c pushauthtest.Claims) string { return "Bearer " + is.Token(t, c) }

	for _, tc := range []struct {
		name, header string
		want         error
	}{
		{"valid", bearer(good), nil},
		{"lower-case scheme", "bearer " + is.Token(t, good), nil},
		{"no header", "", pushauth.ErrUnauthenticated},
		{"basic auth", "Basic dXNlcjpwYXNz", pushauth.ErrUnauthenticated},
		{"not a JWT", "Bearer not-a-token", pushauth.ErrUnauthenticated},
		{"expired", bearer(with(func(c *pushauthtest.Claims) { c.Expires = time.Now().Add(-time.Minute) })), pushauth.ErrUnauthenticated},
		{"signed by another key", "Bearer " + pushauthtest.ForeignToken(t, good), pushauth.ErrUnauthenticated},
		{"forged, claiming another audience", "Bearer " + pushauthtest.ForeignToken(t, with(func(c *pushauthtest.Claims) { c.Audience = "x" })), pushauth.ErrUnauthenticated},
		{"not Google's issuer", bearer(with(func(c *pushauthtest.Claims) { c.Issuer = "https://evil.example" })), pushauth.ErrUnauthenticated},
		{"another endpoint's audience", bearer(with(func(c *pushauthtest.Claims) { c.Audience = base + "/push/email" })), pushauth.ErrForbidden},
		{"the bare service URL", bearer(with(func(c *pushauthtest.Claims) { c.Audience = base })), pushauth.ErrForbidden},
		{"another account", bearer(with(func(c *pushauthtest.Claims) { c.Email = "someone@test-project.iam.gserviceaccount.com" })), pushauth.ErrForbidden},
		{"unverified e-mail", bearer(with(func(c *pushauthtest.Claims) { c.EmailVerified = false })), pushauth.ErrForbidden},
	} {
		err := v.Verify(context.Background(), tc.header, "/push/appointments")
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimPrefix(tc.header, "Bearer ")) && len(tc.header) > 20 {
			t.Errorf("%s: the error quotes the token: %v", tc.name, err)
		}
	}
}

func TestConfigCheck_NamesTheVariableAtFault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  pushauth.Config
		want string // "" = accepted
	}{
		{pushauth.Config{Mode: "on", Audience: base, ServiceAccount: pushauthtest.Account}, ""},
		{pushauth.Config{Mode: "off"}, ""},
		{pushauth.Config{Mode: "no"}, "PUSH_AUTH"},
		{pushauth.Config{Mode: "on", ServiceAccount: pushauthtest.Account}, "PUSH_AUDIENCE"},
		{pushauth.Config{Mode: "on", Audience: base + "/push/appointments", ServiceAccount: pushauthtest.Account}, "PUSH_AUDIENCE"},
		{pushauth.Config{Mode: "on", Audience: "worker", ServiceAccount: pushauthtest.Account}, "PUSH_AUDIENCE"},
		{pushauth.Config{Mode: "on", Audience: base}, "PUSH_SERVICE_ACCOUNT"},
		{pushauth.Config{Mode: "on", Audience: base, ServiceAccount: "push <" + pushauthtest.Account + ">"}, "PUSH_SERVICE_ACCOUNT"},
	} {
		err := tc.cfg.Check()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: got %v, want accepted", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), "configuration: "+tc.want+": ")):
			t.Errorf("%+v: got %v, want configuration: %s: ...", tc.cfg, err, tc.want)
		}
	}
}
