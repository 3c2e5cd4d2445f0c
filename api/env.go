package api

import (
	"fmt"
	"net/url"
	"time"

	"github.com/vaxbook/vaxbook/internal/captcha"
	"github.com/vaxbook/vaxbook/internal/queue"
)

// Config is how the API behaves, read from the environment by both `api`
// and `dev`; the stores it talks to are configured by their adapters.
type Config struct {
	MicroCacheTTL time.Duration `env:"LISTPPV_MICROCACHE_TTL, default=1s"`
	MaxCacheAge   time.Duration `env:"READY_MAX_CACHE_AGE, default=60s"`
	StatusTTL     time.Duration `env:"STATUS_TTL, default=720h"`
	// Off unless the deployment sets it: whole neighbourhoods share one
	// address behind carrier-grade NAT, and load tests come from one host.
	SubmitRate  float64 `env:"SUBMIT_RATE_PER_IP, default=0"`
	SubmitBurst int     `env:"SUBMIT_BURST_PER_IP, default=20"`
	Captcha     CaptchaConfig
	// RegistrationsTopic is where POST /register queues registrations for
	// the worker's /push/registrations.
	RegistrationsTopic string `env:"REGISTRATIONS_TOPIC, default=registrations-topic"`
	// Optional at start: a state's mode changes at run time, and an
	// open-only deployment needs no secret. Unset, a submission in a queue
	// state is answered 503 invitations_unavailable and logged once.
	InvitationSecret string `env:"INVITATION_SECRET" json:"-"`
}

// CaptchaConfig is the optional human check on POST /submit. An empty
// provider (the default, and what `vaxbook dev` wants) turns it off.
type CaptchaConfig struct {
	Provider  string `env:"CAPTCHA_PROVIDER"`
	SiteKey   string `env:"CAPTCHA_SITE_KEY"`
	Secret    string `env:"CAPTCHA_SECRET" json:"-"`
	VerifyURL string `env:"CAPTCHA_VERIFY_URL"`
}

// Options checks the settings and turns them into NewServer's options; an
// error is one line naming the variable at fault.
func (c Config) Options(project string) (Options, error) {
	if c.MicroCacheTTL <= 0 {
		return Options{}, fmt.Errorf("configuration: LISTPPV_MICROCACHE_TTL: must be a positive duration, got %s", c.MicroCacheTTL)
	}
	if c.MicroCacheTTL > time.Second {
		return Options{}, fmt.Errorf("configuration: LISTPPV_MICROCACHE_TTL: at most 1s, got %s", c.MicroCacheTTL)
	}
	human, err := c.Captcha.captcha()
	if err != nil {
		return Options{}, err
	}
	var invitations Invitations
	if c.InvitationSecret != "" {
		if invitations.Signer, err = queue.NewSigner(c.InvitationSecret); err != nil {
			return Options{}, fmt.Errorf("configuration: INVITATION_SECRET: %w", err)
		}
	}
	return Options{
		Captcha:       human,
		Invitations:   invitations,
		Project:       project,
		MicroCacheTTL: c.MicroCacheTTL,
		MaxCacheAge:   c.MaxCacheAge,
		SubmitRate:    c.SubmitRate,
		SubmitBurst:   c.SubmitBurst,
	}, nil
}

// captcha checks the settings and builds the verifier.
func (c CaptchaConfig) captcha() (Captcha, error) {
	if c.Provider == "" {
		return Captcha{}, nil
	}
	verifyURL, known := captcha.DefaultVerifyURL[c.Provider]
	switch {
	case !known:
		return Captcha{}, fmt.Errorf("configuration: CAPTCHA_PROVIDER: want %s, %s or empty, got %q", captcha.Turnstile, captcha.ReCAPTCHA, c.Provider)
	case c.SiteKey == "":
		return Captcha{}, fmt.Errorf("configuration: CAPTCHA_SITE_KEY: required when CAPTCHA_PROVIDER is set")
	case c.Secret == "":
		return Captcha{}, fmt.Errorf("configuration: CAPTCHA_SECRET: required when CAPTCHA_PROVIDER is set")
	}
	if c.VerifyURL != "" {
		u, err := url.Parse(c.VerifyURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Captcha{}, fmt.Errorf("configuration: CAPTCHA_VERIFY_URL: want an http(s) URL, got %q", c.VerifyURL)
		}
		verifyURL = c.VerifyURL
	}
	return Captcha{Provider: c.Provider, SiteKey: c.SiteKey, Verifier: captcha.New(verifyURL, c.Secret, nil)}, nil
}
