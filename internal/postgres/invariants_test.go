package postgres_test

import (
	"testing"

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
