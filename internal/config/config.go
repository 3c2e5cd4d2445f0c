// Package config reads a role's settings from its environment: one struct
// per role with go-envconfig tags, filled through a lookup the caller passes
// in (tests and `vaxbook dev` supply their own), and a one-line error naming
// the variable an operator has to fix.
package config

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"

	"github.com/sethvargo/go-envconfig"

	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// Base is what every serving role reads (exported so envconfig can fill it
// when embedded).
type Base struct {
	Port     string `env:"PORT, default=8080"`
	LogLevel string `env:"LOG_LEVEL, default=info"`
}

// Serving is Base for a role that serves (a Cloud Run service and `vaxbook
// dev`): it also says where its metrics and traces go. Jobs that run once
// take Base alone and export nothing.
type Serving struct {
	Base
	Telemetry telemetry.Config
}

// Logger checks LOG_LEVEL and builds the role's logger on stdout.
func (b Base) Logger(stdout io.Writer) (*slog.Logger, error) {
	l, ok := logging.ParseLevel(b.LogLevel)
	if !ok {
		return nil, fmt.Errorf("configuration: LOG_LEVEL: want debug, info, warn or error, got %q", b.LogLevel)
	}
	return logging.New(stdout, l), nil
}

// Load fills cfg from getenv and returns one line naming the variable at
// fault. An empty value counts as unset, as Cloud Run's console sets it.
func Load(ctx context.Context, getenv func(string) string, cfg any) error {
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

// WithDefaults answers from defaults where getenv has nothing, so one
// struct can serve a deployment, which must say, and a laptop, which may
// assume.
func WithDefaults(getenv func(string) string, defaults map[string]string) func(string) string {
	return func(key string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return defaults[key]
	}
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
