package postgres_test

import (
	"testing"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestCheckInvariants_HoldAfterBookings(t *testing.T) {
	t.Parallel()
	pool, b := bookingsOn(t, 1, 1)
	var refs []string
	for _, req := range []struct {
		person int
		prefs  []string
	}{{1, []string{"sel-001-am"}}, {2, []string{"sel-001-am", "sel-001-pm"}}, {3, []string{"sel-001-pm"}}, {1, []string{"sel-001-pm"}}} {
		r := testenv.NewRequest(req.person, req.prefs...)
		if _, err := b.Decide(t.Context(), r, "m-"+r.Reference); err != nil {
			t.Fatalf("Decide: %v", err)
		}
		refs = append(refs, r.Reference)
	}

	got, err := postgres.CheckInvariants(t.Context(), pool, append(refs[1:], "never-decided"))
	if err != nil {
		t.Fatalf("CheckInvariants: %v", err)
	}
	want := postgres.Invariants{Bookings: 4, Missing: 1, Unknown: 1}
	if got != want || got.Broken() {
		t.Errorf("CheckInvariants = %+v (broken %v), want %+v", got, got.Broken(), want)
	}
}

func TestCheckInvariants_FindsEveryBrokenPromise(t *testing.T) {
	t.Parallel()
	pool := seedTwoSlots(t, 2, 2)
	// Take away the schema's own defences so the database can hold what
	// the invariants are there to catch.
	for _, sql := range []string{
		`ALTER TABLE slots DROP CONSTRAINT slots_booked_within_capacity`,
		`DROP INDEX bookings_one_confirmed_per_id_hash`,
		`UPDATE slots SET booked = 3 WHERE id = 'sel-001-am'`, // over capacity, and 3 counted for 2 bookings
		`INSERT INTO bookings (reference, id_hash, status, slot_id, state_code, name, phone, email, lang, preferences, message_id, submitted_at)
		 SELECT r, 'hash-of-900101010001', 'confirmed', 'sel-001-am', 'selangor', 'P', '+60123456789', 'p@example.com', 'ms', '{sel-001-am}', r, now()
		 FROM unnest(ARRAY['REF-A', 'REF-B']) r`, // one person confirmed twice
	} {
		if _, err := pool.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	got, err := postgres.CheckInvariants(t.Context(), pool, nil)
	if err != nil {
		t.Fatalf("CheckInvariants: %v", err)
	}
	want := postgres.Invariants{SlotsOverCapacity: 1, CountersUnlikeBookings: 1, PeopleBookedTwice: 1, Bookings: 2, Unknown: 2}
	if got != want || !got.Broken() {
		t.Errorf("CheckInvariants = %+v (broken %v), want %+v", got, got.Broken(), want)
	}
}

func TestCancelReuse_CountsPlacesGivenBackAndBookedAgain(t *testing.T) {
	t.Parallel()
	pool := seedTwoSlots(t, 2, 2)
	b := postgres.NewBookings(pool, pii.Dev()).WithManage(testenv.ManageSigner())
	ctx := t.Context()
	book := func(person int, slot string) booking.Outcome {
		t.Helper()
		req := testenv.NewRequest(person, slot)
		o, err := b.Decide(ctx, req, "m-"+req.Reference)
		if err != nil || o.Record.Status != booking.StatusConfirmed {
			t.Fatalf("book person %d into %s: %+v, %v", person, slot, o.Record, err)
		}
		return o
	}
	cancel := func(o booking.Outcome) {
		t.Helper()
		m := testenv.NewManage(booking.ActionCancel, o.Record.Reference, o.Manage)
		if got, err := b.Manage(ctx, m, "m-"+m.Request); err != nil || got.Request.Status != booking.StatusCancelled {
			t.Fatalf("cancel %s: %+v, %v", o.Record.Reference, got.Request, err)
		}
	}
	// The morning fills, one person gives a place back and another takes
	// it; in the afternoon a place is given back that nobody needed.
	first, second := book(1, "sel-001-am"), book(2, "sel-001-am")
	cancel(first)
	third := book(3, "sel-001-am")
	fourth := book(4, "sel-001-pm")
	cancel(fourth)

	refs := []string{first.Record.Reference, second.Record.Reference, third.Record.Reference, fourth.Record.Reference}
	for _, tc := range []struct {
		name                string
		refs                []string
		wantFreed, wantUsed int
	}{
		{"every reference", refs, 2, 1},
		{"the afternoon's only", refs[3:], 1, 0},
		{"none", nil, 0, 0},
	} {
		freed, reused, err := postgres.CancelReuse(ctx, pool, tc.refs)
		if err != nil || freed != tc.wantFreed || reused != tc.wantUsed {
			t.Errorf("%s: CancelReuse = %d freed, %d booked again, %v; want %d, %d", tc.name, freed, reused, err, tc.wantFreed, tc.wantUsed)
		}
	}
}
