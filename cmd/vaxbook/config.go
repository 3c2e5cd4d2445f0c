package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/redis"
)

// baseConfig is what every serving role reads.
type baseConfig struct {
	Port     string `env:"PORT, default=8080"`
	LogLevel string `env:"LOG_LEVEL, default=info"`
}

type apiConfig struct {
	baseConfig
	Redis  redis.Config
	PubSub pubsub.Config

	MicroCacheTTL time.Duration `env:"LISTPPV_MICROCACHE_TTL, default=1s"`
	MaxCacheAge   time.Duration `env:"READY_MAX_CACHE_AGE, default=60s"`
	StatusTTL     time.Duration `env:"STATUS_TTL, default=720h"`
	SubmitRate    float64       `env:"SUBMIT_RATE_PER_IP, default=2"`
	SubmitBurst   int           `env:"SUBMIT_BURST_PER_IP, default=20"`
}

type workerConfig struct {
	baseConfig
	Database  postgres.Config
	Redis     redis.Config
	Project   string        `env:"GOOGLE_CLOUD_PROJECT"`
	StatusTTL time.Duration `env:"STATUS_TTL, default=720h"`
}

type cacheFillConfig struct {
	baseConfig
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
	baseConfig
	DatabaseURL string        `env:"DATABASE_URL" json:"-"`
	RedisURL    string        `env:"REDIS_URL" json:"-"`
	Project     string        `env:"GOOGLE_CLOUD_PROJECT, default=vaxbook-dev"`
	Topic       string        `env:"APPOINTMENTS_TOPIC, default=appointments-topic"`
	Interval    time.Duration `env:"CACHEFILL_INTERVAL, default=5s"`
	StatusTTL   time.Duration `env:"STATUS_TTL, default=720h"`
	SubmitRate  float64       `env:"SUBMIT_RATE_PER_IP, default=0"`
	SubmitBurst int           `env:"SUBMIT_BURST_PER_IP, default=20"`
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
		return fmt.Errorf("configuration: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}

func positive(name string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("configuration: %s: must be a positive duration, got %s", name, d)
	}
	return nil
}

func newLogger(stdout io.Writer, level string) (*slog.Logger, error) {
	l, ok := logging.ParseLevel(level)
	if !ok {
		return nil, fmt.Errorf("configuration: LOG_LEVEL: want debug, info, warn or error, got %q", level)
	}
	return logging.New(stdout, l), nil
}
