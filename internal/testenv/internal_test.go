package testenv

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestDiscoverPostgres_UnreachableExplicitURLSaysWhatToDo(t *testing.T) {
	t.Setenv(envDatabaseURL, "postgres://postgres:secret@127.0.0.1:1/postgres?sslmode=disable")
	_, pool, err := discoverPostgres()
	if err == nil {
		pool.Close()
		t.Fatal("discoverPostgres with a closed port: got nil error")
	}
	for _, want := range []string{envDatabaseURL, "127.0.0.1:1", "unset"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want it to mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q: leaks the password", err)
	}
}

func TestDiscoverRedis_UnreachableExplicitURLSaysWhatToDo(t *testing.T) {
	t.Setenv(envRedisURL, "redis://127.0.0.1:1")
	_, c, err := discoverRedis()
	if err == nil {
		_ = c.Close()
		t.Fatal("discoverRedis with a closed port: got nil error")
	}
	for _, want := range []string{envRedisURL, "127.0.0.1:1", "unset"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want it to mention %q", err, want)
		}
	}
}

func TestWithDatabase_ReplacesOnlyTheDatabase(t *testing.T) {
	tests := []struct{ in, name, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "x", "postgres://postgres@127.0.0.1:5432/x?sslmode=disable"},
		{"postgres://u:p@h:1", "vaxbook_test_ab", "postgres://u:p@h:1/vaxbook_test_ab"},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.in, tt.name)
		if err != nil || got != tt.want {
			t.Errorf("withDatabase(%q, %q) = %q, %v; want %q", tt.in, tt.name, got, err, tt.want)
		}
	}
	got, err := withRedisDB("redis://:pw@127.0.0.1:6379/0?dial_timeout=3s", 7)
	if want := "redis://:pw@127.0.0.1:6379/7?dial_timeout=3s"; err != nil || got != want {
		t.Errorf("withRedisDB = %q, %v; want %q", got, err, want)
	}
}

func TestDropAbandoned_DropsOnlyOldTestDatabases(t *testing.T) {
	admin, _, err := pgState.server()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	old := testDBPrefix + "1000000000_" + randomHex(6) // 2001
	fresh := testDBPrefix + strconv.FormatInt(time.Now().Unix(), 10) + "_" + randomHex(6)
	for _, name := range []string{old, fresh} {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(name)); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		t.Cleanup(func() {
			if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
				t.Errorf("drop %s: %v", name, err)
			}
		})
	}

	dropAbandoned(admin, time.Now().Add(-abandonedAfter))

	exists := func(name string) bool {
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
			t.Fatalf("look up %s: %v", name, err)
		}
		return n == 1
	}
	if exists(old) {
		t.Errorf("database %s from 2001: still there, want it dropped", old)
	}
	if !exists(fresh) {
		t.Errorf("database %s from now: dropped, want it kept", fresh)
	}
}

func TestEnsureTemplate_RebuildsHalfBuiltTemplate(t *testing.T) {
	admin, adminURL, err := pgState.server()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// What a process killed mid-migration leaves: the database exists but
	// was never marked a template.
	name := templatePrefix + "halfbuilt_" + randomHex(4)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(name)); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() {
		// A template database cannot be dropped until it is one no more.
		_, _ = admin.Exec(context.Background(), "ALTER DATABASE "+ident(name)+" WITH IS_TEMPLATE false")
		if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})

	if err := ensureTemplate(ctx, admin, adminURL, name); err != nil {
		t.Fatalf("ensureTemplate: %v", err)
	}

	var isTemplate, allowConn bool
	if err := admin.QueryRow(ctx, `SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1`, name).
		Scan(&isTemplate, &allowConn); err != nil {
		t.Fatalf("look up %s: %v", name, err)
	}
	if !isTemplate || allowConn {
		t.Errorf("%s: datistemplate=%v datallowconn=%v, want true, false", name, isTemplate, allowConn)
	}
	clone := testDBPrefix + strconv.FormatInt(time.Now().Unix(), 10) + "_" + randomHex(6)
	if err := cloneDatabase(ctx, admin, name, clone); err != nil {
		t.Fatalf("clone: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident(clone)+" WITH (FORCE)")
	})
	cloneURL, err := withDatabase(adminURL, clone)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cloneURL)
	if err != nil {
		t.Fatalf("connect to clone: %v", err)
	}
	defer conn.Close(context.Background())
	var hasSlots bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('public.slots') IS NOT NULL`).Scan(&hasSlots); err != nil || !hasSlots {
		t.Errorf("clone of rebuilt template: slots table present = %v (%v), want true", hasSlots, err)
	}
}
