package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestRun_StateSetChangesModeAndOpeningTime(t *testing.T) {
	t.Parallel()
	dbURL, pool := testenv.NewDatabase(t)
	env := envFunc(map[string]string{"DATABASE_URL": dbURL})
	if _, err := pool.Exec(t.Context(), `INSERT INTO states (code, name) VALUES ('perlis', 'Perlis')`); err != nil {
		t.Fatal(err)
	}
	read := func() (mode string, opens *time.Time) {
		t.Helper()
		if err := pool.QueryRow(t.Context(), `SELECT mode, opens_at FROM states WHERE code = 'perlis'`).Scan(&mode, &opens); err != nil {
			t.Fatal(err)
		}
		return mode, opens
	}
	steps := []struct {
		args      []string
		wantOut   string
		wantMode  string
		wantOpens string // "" for none
	}{
		{[]string{"set", "perlis", "--mode", "queue", "--opens-at", "2026-12-01T09:00:00+08:00"},
			"state perlis: mode queue, opens_at 2026-12-01T01:00:00Z", "queue", "2026-12-01T01:00:00Z"},
		{[]string{"set", "Perlis", "--mode", "open"}, "state perlis: mode open, opens_at 2026-12-01T01:00:00Z", "open", "2026-12-01T01:00:00Z"},
		{[]string{"set", "--mode=queue", "--opens-at", "", "perlis"}, "state perlis: mode queue, opens_at not set", "queue", ""},
	}
	for _, s := range steps {
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"vaxbook", "state"}, s.args...), env, &out); err != nil {
			t.Fatalf("state %v: %v", s.args, err)
		}
		if !strings.HasPrefix(out.String(), s.wantOut) {
			t.Errorf("state %v: printed %q, want %q", s.args, out.String(), s.wantOut)
		}
		mode, opens := read()
		got := ""
		if opens != nil {
			got = opens.UTC().Format(time.RFC3339)
		}
		if mode != s.wantMode || got != s.wantOpens {
			t.Errorf("state %v: database has %s %q, want %s %q", s.args, mode, got, s.wantMode, s.wantOpens)
		}
	}

	bad := []struct {
		args []string
		want string
	}{
		{[]string{"set", "atlantis", "--mode", "queue"}, "atlantis"},
		{[]string{"set", "perlis", "--mode", "lottery"}, "--mode"},
		{[]string{"set", "perlis"}, "--mode"},
		{[]string{"set", "perlis", "--mode", "queue", "--opens-at", "tomorrow"}, "--opens-at"},
		{[]string{"set"}, "usage"},
		{[]string{"get", "perlis"}, "usage"},
	}
	for _, b := range bad {
		err := run(context.Background(), append([]string{"vaxbook", "state"}, b.args...), env, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("state %v: error = %v, want one naming %q", b.args, err, b.want)
		}
	}
	if mode, _ := read(); mode != "queue" {
		t.Errorf("after refused commands: mode %s, want queue unchanged", mode)
	}
}

func TestRun_StateSetThrowsTheMaintenanceSwitchOfOneStateOrAll(t *testing.T) {
	t.Parallel()
	dbURL, pool := testenv.NewDatabase(t)
	env := envFunc(map[string]string{"DATABASE_URL": dbURL})
	if _, err := pool.Exec(t.Context(), `INSERT INTO states (code, name) VALUES ('perlis', 'Perlis'), ('johor', 'Johor')`); err != nil {
		t.Fatal(err)
	}
	closed := func() string {
		t.Helper()
		var s string
		if err := pool.QueryRow(t.Context(), `SELECT COALESCE(string_agg(code, ',' ORDER BY code) FILTER (WHERE closed), '') FROM states`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	steps := []struct {
		args       []string
		wantOut    string
		wantClosed string
	}{
		{[]string{"set", "perlis", "--closed"}, "state perlis: closed", "perlis"},
		{[]string{"set", "--all", "--closed"}, "state johor, perlis: closed", "johor,perlis"},
		{[]string{"set", "johor", "--open", "--mode", "queue"}, "state johor: mode queue, opens_at not set (GET /states shows it after the next cache-fill pass)\nstate johor: open", "perlis"},
		{[]string{"set", "--all", "--open"}, "state johor, perlis: open", ""},
	}
	for _, s := range steps {
		var out bytes.Buffer
		if err := run(t.Context(), append([]string{"vaxbook", "state"}, s.args...), env, &out); err != nil {
			t.Fatalf("state %v: %v", s.args, err)
		}
		if !strings.HasPrefix(out.String(), s.wantOut) {
			t.Errorf("state %v: printed %q, want %q", s.args, out.String(), s.wantOut)
		}
		if got := closed(); got != s.wantClosed {
			t.Errorf("state %v: closed states %q, want %q", s.args, got, s.wantClosed)
		}
	}
	for _, b := range []struct {
		args []string
		want string
	}{
		{[]string{"set", "atlantis", "--closed"}, "atlantis"},
		{[]string{"set", "perlis", "--closed", "--open"}, "give one"},
		{[]string{"set", "--all", "--mode", "queue"}, "--all"},
		{[]string{"set", "--all"}, "--all"},
		{[]string{"set", "perlis", "--all", "--closed"}, "usage"},
		{[]string{"set", "perlis", "--opens-at", ""}, "--opens-at needs --mode"},
	} {
		err := run(t.Context(), append([]string{"vaxbook", "state"}, b.args...), env, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("state %v: error = %v, want one naming %q", b.args, err, b.want)
		}
	}
	if got := closed(); got != "" {
		t.Errorf("after refused commands: closed %q, want none", got)
	}
}
