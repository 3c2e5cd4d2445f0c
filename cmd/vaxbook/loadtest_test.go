package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/loadtest"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/seed"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// TestLoadtestSurge_NoOverbookingNoLoss runs the real `vaxbook loadtest
// surge` against a real `vaxbook dev` (Postgres, Redis, Pub/Sub through
// pstest and the push relay): two thousand people for 900 places, so slots
// fill while people are still choosing, and the tallies must show no slot
// past its capacity and every accepted booking decided and in Postgres.
func TestLoadtestSurge_NoOverbookingNoLoss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t)
	pool, err := postgres.Open(ctx, postgres.Config{URL: dbURL, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// Two states, 18 slots of 50: seeded before dev starts, so dev keeps
	// them instead of loading its demo data.
	var rows []seed.Row
	for _, st := range []struct{ code, name, prefix string }{{"selangor", "Selangor", "sel"}, {"labuan", "W.P. Labuan", "lbn"}} {
		for c := 1; c <= 3; c++ {
			center := fmt.Sprintf("%s-%03d", st.prefix, c)
			for d := 1; d <= 3; d++ {
				date := fmt.Sprintf("2026-12-%02d", d)
				rows = append(rows, seed.Row{State: st.code, StateName: st.name, CenterID: center, CenterName: "Dewan " + center,
					Address: "Jalan " + center, SlotID: center + "-" + date + "-am", Date: date, Time: "08:00-13:00", Capacity: 50})
			}
		}
	}
	if _, err := seed.Load(ctx, pool, rows); err != nil {
		t.Fatal(err)
	}
	srv, _ := testenv.NewPubSub(t, "surge")
	env := map[string]string{
		"PORT": freePort(t), "DATABASE_URL": dbURL, "REDIS_URL": testenv.RedisURL(t),
		"PUBSUB_EMULATOR_HOST": srv.Addr, "GOOGLE_CLOUD_PROJECT": "surge",
		"CACHEFILL_INTERVAL": "1s", "LISTPPV_MICROCACHE_TTL": "200ms", "LOG_LEVEL": "error",
		"RATE_LIMIT": "off", // one host plays every client
	}
	base := startRole(t, env, "/readyz", "dev")

	out := filepath.Join(t.TempDir(), "surge.json")
	var stdout bytes.Buffer
	err = run(ctx, []string{"vaxbook", "loadtest", "surge", "--url", base, "--people", "2000", "--rate", "1000",
		// The people, not the clock, end the run: a busy CI machine gets
		// through 2,000 more slowly, and must still get through them all.
		"--duration", "90s", "--drain", "60s", "--database-url", dbURL, "--seed", "6", "--quiet", "--out", out},
		envFunc(nil), &stdout)
	if err != nil {
		t.Fatalf("loadtest surge: %v\n%s", err, stdout.String())
	}
	rep, err := loadtest.ReadReport(out)
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Surge
	if s == nil || s.SlotsOverCapacity == nil || s.MissingFromPostgres == nil {
		t.Fatalf("no Postgres tallies in the report:\n%s", stdout.String())
	}
	if *s.SlotsOverCapacity != 0 || *s.MissingFromPostgres != 0 || *s.CountersUnlikeBookings != 0 || *s.PeopleBookedTwice != 0 ||
		s.StillPending != 0 || s.RetriedNewRef != 0 {
		t.Errorf("overbooking or loss:\n%s", stdout.String())
	}
	if s.People != 2000 || s.Accepted < 900 || s.Confirmed > 900 {
		t.Errorf("people %d, accepted %d, confirmed %d: want 2000 people, at least the 900 places accepted, at most 900 confirmed\n%s",
			s.People, s.Accepted, s.Confirmed, stdout.String())
	}
	if s.Confirmed+s.Full+s.Duplicate != s.Accepted {
		t.Errorf("confirmed %d + full %d + duplicate %d != accepted %d", s.Confirmed, s.Full, s.Duplicate, s.Accepted)
	}
	var booked int
	if err := pool.QueryRow(ctx, `SELECT sum(booked) FROM slots`).Scan(&booked); err != nil {
		t.Fatal(err)
	}
	if booked != s.Confirmed {
		t.Errorf("slots booked %d, confirmed by /status %d: want equal", booked, s.Confirmed)
	}
	t.Log(stdout.String())
	if !strings.Contains(stdout.String(), "slots over capacity 0") {
		t.Errorf("report does not print the overbooking tally:\n%s", stdout.String())
	}
}
