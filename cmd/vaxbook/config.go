package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/captcha"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/sendgrid"
)

// BaseConfig is what every serving role reads (exported so envconfig can
// fill it when embedded).
type BaseConfig struct {
	Port     string `env:"PORT, default=8080"`
	LogLevel string `env:"LOG_LEVEL, default=info"`
}

// APITuning is how the API behaves, read the same way by `api` and `dev`.
type APITuning struct {
	MicroCacheTTL time.Duration `env:"LISTPPV_MICROCACHE_TTL, default=1s"`
	MaxCacheAge   time.Duration `env:"READY_MAX_CACHE_AGE, default=60s"`
	StatusTTL     time.Duration `env:"STATUS_TTL, default=720h"`
	// Off unless the deployment sets it: whole neighbourhoods share one
	// address behind carrier-grade NAT, and load tests come from one host.
	SubmitRate  float64 `env:"SUBMIT_RATE_PER_IP, default=0"`
	SubmitBurst int     `env:"SUBMIT_BURST_PER_IP, default=20"`
	Captcha     CaptchaConfig
}

// CaptchaConfig is the optional human check on POST /submit. An empty
// provider (the default, and what `vaxbook dev` wants) turns it off.
type CaptchaConfig struct {
	Provider  string `env:"CAPTCHA_PROVIDER"`
	SiteKey   string `env:"CAPTCHA_SITE_KEY"`
	Secret    string `env:"CAPTCHA_SECRET" json:"-"`
	VerifyURL string `env:"CAPTCHA_VERIFY_URL"`
}

// captcha checks the settings and builds the API's verifier.
func (c CaptchaConfig) captcha() (api.Captcha, error) {
	if c.Provider == "" {
		return api.Captcha{}, nil
	}
	verifyURL, known := captcha.DefaultVerifyURL[c.Provider]
	switch {
	case !known:
		return api.Captcha{}, fmt.Errorf("configuration: CAPTCHA_PROVIDER: want %s, %s or empty, got %q", captcha.Turnstile, captcha.ReCAPTCHA, c.Provider)
	case c.SiteKey == "":
		return api.Captcha{}, fmt.Errorf("configuration: CAPTCHA_SITE_KEY: required when CAPTCHA_PROVIDER is set")
	case c.Secret == "":
		return api.Captcha{}, fmt.Errorf("configuration: CAPTCHA_SECRET: required when CAPTCHA_PROVIDER is set")
	}
	if c.VerifyURL != "" {
		u, err := url.Parse(c.VerifyURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return api.Captcha{}, fmt.Errorf("configuration: CAPTCHA_VERIFY_URL: want an http(s) URL, got %q", c.VerifyURL)
		}
		verifyURL = c.VerifyURL
	}
	return api.Captcha{Provider: c.Provider, SiteKey: c.SiteKey, Verifier: captcha.New(verifyURL, c.Secret, nil)}, nil
}

// options checks the tuning and turns it into the API's options.
func (t APITuning) options(project string) (api.Options, error) {
	if err := positive("LISTPPV_MICROCACHE_TTL", t.MicroCacheTTL); err != nil {
		return api.Options{}, err
	}
	if t.MicroCacheTTL > time.Second {
		return api.Options{}, fmt.Errorf("configuration: LISTPPV_MICROCACHE_TTL: at most 1s, got %s", t.MicroCacheTTL)
	}
	human, err := t.Captcha.captcha()
	if err != nil {
		return api.Options{}, err
	}
	return api.Options{
		Captcha:       human,
		Project:       project,
		MicroCacheTTL: t.MicroCacheTTL,
		MaxCacheAge:   t.MaxCacheAge,
		SubmitRate:    t.SubmitRate,
		SubmitBurst:   t.SubmitBurst,
	}, nil
}

type apiConfig struct {
	BaseConfig
	APITuning
	Redis  redis.Config
	PubSub pubsub.Config
}

type workerConfig struct {
	BaseConfig
	Database  postgres.Config
	Redis     redis.Config
	Project   string        `env:"GOOGLE_CLOUD_PROJECT"`
	StatusTTL time.Duration `env:"STATUS_TTL, default=720h"`
	// EmulatorHost matters only when EMAIL_TOPIC is set: the worker then
	// publishes, as the API does.
	EmulatorHost string `env:"PUBSUB_EMULATOR_HOST"`
	Email        EmailConfig
}

// EmailConfig is the worker's e-mail: the topic it asks on (empty: it asks
// for none) and, for /push/email, how to send.
type EmailConfig struct {
	Topic         string `env:"EMAIL_TOPIC"`
	SendGrid      sendgrid.Config
	From          string `env:"EMAIL_FROM"`
	PublicBaseURL string `env:"PUBLIC_BASE_URL"`
}

// composer checks EMAIL_FROM and PUBLIC_BASE_URL, which sending needs.
func (c EmailConfig) composer() (*email.Composer, error) {
	if c.From == "" {
		return nil, fmt.Errorf("configuration: EMAIL_FROM: required to send e-mail")
	}
	from, err := email.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("configuration: EMAIL_FROM: %w", err)
	}
	comp, err := email.NewComposer(from, c.PublicBaseURL)
	if err != nil {
		return nil, fmt.Errorf("configuration: PUBLIC_BASE_URL: %w", err)
	}
	return comp, nil
}

type cacheFillConfig struct {
	BaseConfig
	Database postgres.Config
	Redis    redis.Config
	Interval time.Duration `env:"CACHEFILL_INTERVAL, default=5s"`
}

type migrateConfig struct {
	DatabaseURL string `env:"DATABASE_URL, required" json:"-"`
}

// devConfig leaves every dependency optional: `vaxbook dev` finds or starts
// what is missing.
type devConfig struct {
	BaseConfig
	APITuning
	DatabaseURL string `env:"DATABASE_URL" json:"-"`
	RedisURL    string `env:"REDIS_URL" json:"-"`
	Project     string `env:"GOOGLE_CLOUD_PROJECT, default=vaxbook-dev"`
	Topic       string `env:"APPOINTMENTS_TOPIC, default=appointments-topic"`
	// EmulatorHost, when set, replaces the in-process pstest server (an
	// emulator of the developer's, or a test's own pstest).
	EmulatorHost string        `env:"PUBSUB_EMULATOR_HOST"`
	Interval     time.Duration `env:"CACHEFILL_INTERVAL, default=5s"`
	// E-mail always goes to the local outbox at /dev/mail; PUBLIC_BASE_URL
	// defaults to this process's own address.
	EmailTopic    string `env:"EMAIL_TOPIC, default=email-topic"`
	EmailFrom     string `env:"EMAIL_FROM, default=vaxbook dev <no-reply@vaxbook.localhost>"`
	PublicBaseURL string `env:"PUBLIC_BASE_URL"`
}

// loadConfig fills cfg from getenv and returns one line naming the variable
// at fault. An empty value counts as unset, as Cloud Run's console sets it.
func loadConfig(ctx context.Context, getenv func(string) string, cfg any) error {
	err := envconfig.ProcessWith(ctx, &envconfig.Config{
		Target: cfg,
		Lookuper: envconfig.LookuperFunc(func(key string) (string, bool) {
			v := getenv(key)
			return v, v != ""
		}),
	})
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", "; ")
		return fmt.Errorf("configuration: %s", envNameFor(reflect.TypeOf(cfg), msg))
	}
	return nil
}

// envNameFor rewrites envconfig's "Database: MaxConns: …" (Go field names)
// into "DATABASE_MAX_CONNS: …", the name an operator actually sets.
func envNameFor(t reflect.Type, msg string) string {
	rest := msg
	for {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		name, after, ok := strings.Cut(rest, ": ")
		if !ok || t.Kind() != reflect.Struct {
			return msg
		}
		f, found := t.FieldByName(name)
		if !found {
			return msg
		}
		if tag := f.Tag.Get("env"); tag != "" {
			key, _, _ := strings.Cut(tag, ",")
			return key + ": " + after
		}
		t, rest = f.Type, after
	}
}

func positive(name string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("configuration: %s: must be a positive duration, got %s", name, d)
	}
	return nil
}

func (b BaseConfig) logLevel() string { return b.LogLevel }

// configure loads a serving role's configuration and builds its logger.
func configure(ctx context.Context, getenv func(string) string, stdout io.Writer, cfg interface{ logLevel() string }) (*slog.Logger, error) {
	if err := loadConfig(ctx, getenv, cfg); err != nil {
		return nil, err
	}
	return newLogger(stdout, cfg.logLevel())
}

func newLogger(stdout io.Writer, level string) (*slog.Logger, error) {
	l, ok := logging.ParseLevel(level)
	if !ok {
		return nil, fmt.Errorf("configuration: LOG_LEVEL: want debug, info, warn or error, got %q", level)
	}
	return logging.New(stdout, l), nil
}
