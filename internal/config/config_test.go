package config_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/config"
)

type inner struct {
	MaxConns int32 `env:"DATABASE_MAX_CONNS, default=8"`
}

type role struct {
	config.Base
	Database inner
	Interval time.Duration `env:"CACHEFILL_INTERVAL, default=5s"`
	Project  string        `env:"GOOGLE_CLOUD_PROJECT, required"`
}

func TestLoad_ErrorIsOneLineNamingTheVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "DATABASE_MAX_CONNS": "many"}, "configuration: DATABASE_MAX_CONNS: "},
		{map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "CACHEFILL_INTERVAL": "often"}, "configuration: CACHEFILL_INTERVAL: "},
		{map[string]string{}, "configuration: GOOGLE_CLOUD_PROJECT: "},
	}
	for _, tc := range cases {
		var cfg role
		err := config.Load(context.Background(), func(k string) string { return tc.env[k] }, &cfg)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("env %v: got %v, want one line starting %q", tc.env, err, tc.want)
		}
	}
}

func TestLoad_EmptyCountsAsUnset(t *testing.T) {
	t.Parallel()
	var cfg role
	env := map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "PORT": "", "CACHEFILL_INTERVAL": ""}
	if err := config.Load(context.Background(), func(k string) string { return env[k] }, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Port != "8080" || cfg.Interval != 5*time.Second || cfg.Database.MaxConns != 8 {
		t.Errorf("got port %q interval %s conns %d, want the defaults 8080, 5s, 8", cfg.Port, cfg.Interval, cfg.Database.MaxConns)
	}
}

func TestWithDefaults_AnswersOnlyWhereGetenvHasNothing(t *testing.T) {
	t.Parallel()
	env := map[string]string{"GOOGLE_CLOUD_PROJECT": "mine", "PORT": ""}
	getenv := config.WithDefaults(func(k string) string { return env[k] },
		map[string]string{"GOOGLE_CLOUD_PROJECT": "vaxbook-dev", "PORT": "9090"})
	var cfg role
	if err := config.Load(context.Background(), getenv, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Project != "mine" || cfg.Port != "9090" {
		t.Errorf("got project %q port %q, want mine (set) and 9090 (default)", cfg.Project, cfg.Port)
	}
}

func TestBase_LoggerRejectsAnUnknownLevel(t *testing.T) {
	t.Parallel()
	if _, err := (config.Base{LogLevel: "loud"}).Logger(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Errorf("level loud: got %v, want an error naming LOG_LEVEL", err)
	}
	if _, err := (config.Base{LogLevel: "warn"}).Logger(&bytes.Buffer{}); err != nil {
		t.Errorf("level warn: %v", err)
	}
}
