package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/ratelimit"
)

func loadConfig(t *testing.T, env map[string]string) Config {
	t.Helper()
	var c Config
	if err := config.Load(context.Background(), func(k string) string { return env[k] }, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfig_AbuseSettingsNameTheVariableAtFault(t *testing.T) {
	t.Parallel()
	key := "0123456789abcdef0123"
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"RATE_LIMIT": "yes"}, "RATE_LIMIT:"},
		{map[string]string{"RATE_LIMIT": "on"}, "RATE_LIMIT_KEY"},
		{map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_KEY": "short"}, "RATE_LIMIT_KEY"},
		{map[string]string{"SUBMIT_RATE_PER_IP": "1"}, "RATE_LIMIT_KEY"}, // the old switch still turns it on
		{map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_KEY": key, "RATE_LIMIT_SUBMIT": "lots"}, "RATE_LIMIT_SUBMIT"},
		{map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_KEY": key, "RATE_LIMIT_STATUS": "5/fortnight"}, "RATE_LIMIT_STATUS"},
		{map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_KEY": key, "TRUSTED_PROXY_HOPS": "-1"}, "TRUSTED_PROXY_HOPS"},
		{map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_KEY": key, "CONTACT_CAP_WINDOW": "1s"}, "CONTACT_CAP_WINDOW"},
	} {
		_, err := loadConfig(t, tc.env).Options("p")
		if err == nil || !strings.HasPrefix(err.Error(), "configuration: "+tc.want) {
			t.Errorf("%v: got %v, want a configuration error naming %s", tc.env, err, tc.want)
		}
	}
}

func TestConfig_AbuseOnlyWhenTurnedOn(t *testing.T) {
	t.Parallel()
	o, err := loadConfig(t, nil).Options("p")
	if err != nil || o.Abuse.needsStore || len(o.Abuse.Routes) != 0 {
		t.Errorf("default: got %+v %v, want the limits off", o.Abuse, err)
	}
	o, err = loadConfig(t, map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_KEY": "0123456789abcdef", "TRUSTED_PROXY_HOPS": "1"}).Options("p")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ratelimit.Limit{
		"/submit":        {Rate: 20, Period: time.Minute, Burst: 20},
		"/register":      {Rate: 20, Period: time.Minute, Burst: 20},
		"/status/":       {Rate: 120, Period: time.Minute, Burst: 60},
		"/registration/": {Rate: 120, Period: time.Minute, Burst: 60},
		"/manage":        {Rate: 60, Period: time.Minute, Burst: 30},
		"/manage/resend": {Rate: 5, Period: time.Hour, Burst: 5},
	}
	for _, r := range o.Abuse.Routes {
		if want[r.Path] != r.Limit {
			t.Errorf("%s: got %s, want %s", r.Path, r.Limit, want[r.Path])
		}
		delete(want, r.Path)
	}
	if len(want) > 0 || o.Abuse.ClientIP.Hops != 1 || o.Abuse.EmailCap.Max != 6 || o.Abuse.PhoneCap.Window != 24*time.Hour {
		t.Errorf("got %+v, missing %v", o.Abuse, want)
	}
	// The old per-IP rate becomes the shared /submit limit.
	o, _ = loadConfig(t, map[string]string{"SUBMIT_RATE_PER_IP": "0.5", "SUBMIT_BURST_PER_IP": "10", "RATE_LIMIT_KEY": "0123456789abcdef"}).Options("p")
	if got := o.Abuse.Routes[0]; got.Path != "/submit" || got.Limit != (ratelimit.Limit{Rate: 1800, Period: time.Hour, Burst: 10}) {
		t.Errorf("legacy: got %+v", got)
	}
}

func TestNewServer_RefusesLimitsWithoutAStore(t *testing.T) {
	t.Parallel()
	o, err := loadConfig(t, map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_KEY": "0123456789abcdef"}).Options("p")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewServer served with the limits configured on and no store")
		}
	}()
	NewServer(nil, nil, nil, nil, o)
}

func TestCaptchaConfig_ChecksHostnamesAndAction(t *testing.T) {
	t.Parallel()
	c := loadConfig(t, map[string]string{"CAPTCHA_PROVIDER": "turnstile", "CAPTCHA_SITE_KEY": "k", "CAPTCHA_SECRET": "s",
		"CAPTCHA_HOSTNAMES": "vaxbook.web.app, vaxbook.firebaseapp.com", "CAPTCHA_ACTION": "submit"})
	if got := c.Captcha.Hostnames; len(got) != 2 {
		t.Errorf("CAPTCHA_HOSTNAMES: got %q, want two", got)
	}
	if _, err := c.Options("p"); err != nil {
		t.Error(err)
	}
}
