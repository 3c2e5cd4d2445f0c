package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/loadtest"
	"github.com/vaxbook/vaxbook/internal/seed"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// TestLoadtestSurge_NoOverbookingNoLoss runs the real `vaxbook loadtest
// surge` against a real `vaxbook dev` (Postgres, Redis, Pub/Sub through
// pstest and the push relay): two thousand people for 900 places, so slots
// fill while people are still choosing, and the tallies must show no slot
// past its capacity and every accepted booking decided and in Postgres.
// A tenth of those confirmed cancel through the manage link while others
// still arrive: the places they give back are booked again, and the
// counters still equal the confirmed bookings.
func TestLoadtestSurge_NoOverbookingNoLoss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Two states, 18 slots of 50, from Malaysia's tomorrow on: a manage
	// link stops working once its appointment's day has passed.
	dbURL, pool := seedLoadStates(t, 3, testenv.Day,
		loadState{"selangor", "Selangor", "sel"}, loadState{"labuan", "W.P. Labuan", "lbn"})
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
	err := run(ctx, []string{"vaxbook", "loadtest", "surge", "--url", base, "--people", "2000", "--rate", "1000",
		// The people, not the clock, end the run: a busy CI machine gets
		// through 2,000 more slowly, and must still get through them all.
		"--duration", "600s", "--drain", "180s", "--database-url", dbURL, "--seed", "6", "--quiet", "--out", out,
		"--cancel-share", "0.1"},
		envFunc(nil), &stdout)
	if err != nil {
		t.Fatalf("loadtest surge: %v\n%s", err, stdout.String())
	}
	rep, err := loadtest.ReadReport(out)
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Surge
	if s == nil || s.SlotsOverCapacity == nil || s.MissingFromPostgres == nil || s.StatusesNeverShown == nil {
		t.Fatalf("no Postgres tallies in the report:\n%s", stdout.String())
	}
	if *s.SlotsOverCapacity != 0 || *s.MissingFromPostgres != 0 || *s.CountersUnlikeBookings != 0 || *s.PeopleBookedTwice != 0 ||
		*s.StatusesNeverShown != 0 || s.StatusNotFound != 0 || s.StillPending != 0 || s.RetriedNewRef != 0 {
		t.Errorf("overbooking or loss:\n%s", stdout.String())
	}
	if s.People != 2000 || s.Accepted < 900 || s.Confirmed > 900 {
		t.Errorf("people %d, accepted %d, confirmed %d: want 2000 people, at least the 900 places accepted, at most 900 confirmed\n%s",
			s.People, s.Accepted, s.Confirmed, stdout.String())
	}
	if s.Confirmed+s.Full+s.Duplicate+s.Cancelled != s.Accepted {
		t.Errorf("confirmed %d + full %d + duplicate %d + cancelled %d != accepted %d", s.Confirmed, s.Full, s.Duplicate, s.Cancelled, s.Accepted)
	}
	if s.Cancelled == 0 || s.CancelFailed != 0 || s.PlacesFreed == nil || *s.PlacesFreed != s.Cancelled || s.PlacesReused == nil || *s.PlacesReused == 0 {
		t.Errorf("cancelled %d, failed %d, places freed %v, booked again %v: want cancellations, each freeing a place, none failed, some places booked again\n%s",
			s.Cancelled, s.CancelFailed, deref(s.PlacesFreed), deref(s.PlacesReused), stdout.String())
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

// TestLoadtestRegister_NoOneInvitedTwiceNoLoss runs the real `vaxbook
// loadtest register --dev`: 300 people register into a queue state with 120
// places, half of them before it opens, rounds of 60 invite them, most of
// the invited book and the rest let a 30-second link expire (a round on a
// loaded 2-core CI box has taken 14 s; its bookers still need time). Every count that must be zero is, the
// order after opening is arrival order and the early batch's is a shuffle.
func TestLoadtestRegister_NoOneInvitedTwiceNoLoss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// One state to make a queue state and one that stays open; slots from
	// tomorrow on, which is where the loop counts places.
	dbURL, _ := seedLoadStates(t, 2, testenv.Day,
		loadState{"putrajaya", "W.P. Putrajaya", "pjy"}, loadState{"labuan", "W.P. Labuan", "lbn"})
	env := map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": testenv.RedisURL(t),
		"CACHEFILL_INTERVAL": "200ms", "LISTPPV_MICROCACHE_TTL": "100ms", "LOG_LEVEL": "error",
	}
	out := filepath.Join(t.TempDir(), "register.json")
	var stdout bytes.Buffer
	err := run(ctx, []string{"vaxbook", "loadtest", "register", "--dev", "--state", "putrajaya",
		"--people", "300", "--rate", "300", "--places", "120", "--round-max", "60",
		"--book-share", "0.7", "--repeat", "0.05", "--reuse", "0.2", "--early-share", "0.5",
		"--invite-ttl", "30s", "--round-every", "300ms", "--drain", "180s", "--seed", "8", "--quiet", "--out", out},
		envFunc(env), &stdout)
	if err != nil {
		t.Fatalf("loadtest register: %v\n%s", err, stdout.String())
	}
	rep, err := loadtest.ReadReport(out)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Register
	if r == nil {
		t.Fatalf("no register tallies in the report:\n%s", stdout.String())
	}
	t.Log(stdout.String())
	if !r.Clean() || r.TimedOut {
		t.Errorf("a must-be-zero tally is not, or the run timed out:\n%s", stdout.String())
	}
	if r.Accepted != r.People+r.Repeats || r.GaveUp != 0 || r.Registrations["duplicate"] != r.Repeats {
		t.Errorf("people %d, repeats %d, accepted %d, gave up %d, duplicates %d: want every registration accepted and every repeat a duplicate",
			r.People, r.Repeats, r.Accepted, r.GaveUp, r.Registrations["duplicate"])
	}
	// Two rounds of 60 fill the places; one more expires the links let
	// run out and invites into the places they gave back.
	if len(r.Rounds) < 3 || r.Rounds[0].Invited != 60 || r.Registrations["expired"] == 0 || r.LetExpire == 0 || r.Confirmed == 0 {
		t.Errorf("rounds %+v, expired %d, let expire %d, confirmed %d: want rounds of 60, links expired, bookings confirmed",
			r.Rounds, r.Registrations["expired"], r.LetExpire, r.Confirmed)
	}
	// A booker too slow for a 30-second link (a loaded machine) did not
	// book in time; every one who did holds a place.
	if r.Confirmed+r.BookerTooLate != r.Bookers || r.BookerNoPlace != 0 || r.BookedPlaces != r.Used || r.BookedPlaces > r.Places || r.Confirmed == 0 {
		t.Errorf("bookers %d, confirmed %d, too late %d, without a place %d, invitations used %d, places booked %d of %d: every booker in time holds a place",
			r.Bookers, r.Confirmed, r.BookerTooLate, r.BookerNoPlace, r.Used, r.BookedPlaces, r.Places)
	}
	if r.ReuseTried == 0 || r.ReuseRefused != r.ReuseTried {
		t.Errorf("used links tried again %d, refused %d: want some, all refused", r.ReuseTried, r.ReuseRefused)
	}
	if r.Early < 50 || r.Late < 50 {
		t.Errorf("early %d, late %d: want both batches", r.Early, r.Late)
	}
	if r.LateOutOfOrder > 0.01 {
		t.Errorf("after opening %.4f of pairs out of arrival order, want about 0", r.LateOutOfOrder)
	}
	if r.EarlyOutOfOrder < 0.35 || r.EarlyOutOfOrder > 0.65 || math.Abs(r.EarlySpearman) > 0.35 {
		t.Errorf("early batch: %.3f of pairs out of order, Spearman %.3f: want a shuffle (about 0.5 and 0)", r.EarlyOutOfOrder, r.EarlySpearman)
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

type loadState struct{ code, name, prefix string }

// seedLoadStates gives a load test its own database holding, in each
// state, centres centres with one slot of 50 on each of three days (date
// names day 1 to 3). Seeded before dev starts, so dev keeps them instead
// of loading its demo data.
func seedLoadStates(t *testing.T, centres int, date func(d int) string, states ...loadState) (string, *pgxpool.Pool) {
	t.Helper()
	dbURL, pool := testenv.NewDatabase(t)
	var rows []seed.Row
	for _, st := range states {
		for c := 1; c <= centres; c++ {
			center := fmt.Sprintf("%s-%03d", st.prefix, c)
			for d := 1; d <= 3; d++ {
				date := date(d)
				rows = append(rows, seed.Row{State: st.code, StateName: st.name, CenterID: center, CenterName: "Dewan " + center,
					Address: "Jalan " + center, SlotID: center + "-" + date + "-am", Date: date, Time: "08:00-13:00", Capacity: 50})
			}
		}
	}
	if _, err := seed.Load(context.Background(), pool, rows); err != nil {
		t.Fatal(err)
	}
	return dbURL, pool
}
