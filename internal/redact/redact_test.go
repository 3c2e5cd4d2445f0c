package redact_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/redact"
)

func TestURL_MasksThePasswordWhetherOrNotTheURLParses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"redis://:s3cret@host:6379/0", "redis://:xxxxx@host:6379/0"},
		{"redis://user:s3cret@ho st:6379/0", "redis://user:xxxxx@ho st:6379/0"},
		{"redis://s3cret@host:6379/0", "redis://xxxxx@host:6379/0"},
		{"postgres://u:p@ss/w:rd@10.0.0.1:5432/db?sslmode=require", "postgres://u:xxxxx@10.0.0.1:5432/db?sslmode=require"},
		{"host=x password=s3cret port=5432", "host=x password=xxxxx port=5432"},
		{"host=x password='s3 cret' port=5432", "host=x password=xxxxx port=5432"},
		{"redis://host:6379/0", "redis://host:6379/0"},
	} {
		if got := redact.URL(tc.in); got != tc.want {
			t.Errorf("URL(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseError_NeverCarriesThePassword(t *testing.T) {
	t.Parallel()
	parse := func(s string) error { _, err := url.Parse(s); return err }
	for _, raw := range []string{
		"redis://:s3cret@ho st:6379/0",   // the host is at fault
		"redis://:s3cret%zz@host:6379/0", // the password is at fault
		"redis://:s3cret@host:port/0",    // the port is at fault
	} {
		err := redact.ParseError("REDIS_URL", raw, parse, parse(raw))
		if err == nil {
			t.Fatalf("%q: no error", raw)
		}
		if strings.Contains(err.Error(), "s3cret") || !strings.HasPrefix(err.Error(), "REDIS_URL: ") {
			t.Errorf("%q: got %q, want REDIS_URL: and no password", raw, err)
		}
	}
	if err := redact.ParseError("X", "x", parse, nil); err != nil {
		t.Errorf("no error: got %v", err)
	}
	plain := errors.New("bad")
	if err := redact.ParseError("X", "redis://host", parse, plain); !errors.Is(err, plain) {
		t.Errorf("no password: got %v, want the library's error wrapped", err)
	}
}
