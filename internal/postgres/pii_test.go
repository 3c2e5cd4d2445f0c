package postgres_test

import (
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// A copy of the database must not give away anyone's ID number: bookings
// hold only its keyed hash, and one person still holds one booking.
func TestDecide_StoresTheIDHashNotTheNumber(t *testing.T) {
	t.Parallel()
	pool, b := bookingsOn(t, 5, 5)
	first, second := testenv.NewRequest(7, "sel-001-am"), testenv.NewRequest(7, "sel-001-pm")
	for _, req := range []booking.Request{first, second} {
		if _, err := b.Decide(t.Context(), req, "m-"+req.Reference); err != nil {
			t.Fatal(err)
		}
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM bookings WHERE id_number IS NOT NULL OR id_hash <> $1`, pii.Dev().Hash(first.IDNumber)); n != 0 {
		t.Errorf("%d bookings hold the ID number, or another hash", n)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM bookings WHERE status = 'duplicate' AND reference = $1`, second.Reference); n != 1 {
		t.Errorf("the second booking of one person was not a duplicate")
	}
	// The other pepper makes another person of the same ID: the pepper is
	// what the rule keys on, so it must be the same on every worker.
	other, _ := pii.NewPepper("another-pepper-another-pepper-32b")
	third := testenv.NewRequest(7, "sel-001-pm")
	o, err := postgres.NewBookings(pool, other).Decide(t.Context(), third, "m3")
	if err != nil || o.Record.Status != booking.StatusConfirmed {
		t.Errorf("another pepper: %v %v, want a confirmed booking (the hash differs)", o.Record.Status, err)
	}
}

// A registration keeps only the hash of the ID number, queued, duplicate or
// invited: the invitation token binds the hash.
func TestRecord_KeepsOnlyTheIDHash(t *testing.T) {
	t.Parallel()
	pool, r := registrarOn(t, time.Time{})
	first, dup := registration(1, t0), registration(1, t0.Add(time.Second))
	mustRecord(t, r, first, "m1")
	if rec := mustRecord(t, r, dup, "m2"); rec.Status != "duplicate" {
		t.Fatalf("second registration: %s, want duplicate", rec.Status)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM registrations WHERE id_number IS NULL AND id_hash = $1`, pii.Dev().Hash(first.IDNumber)); n != 2 {
		t.Errorf("registrations with the hash and no raw ID number: got %d, want 2", n)
	}
}

// Rows from before migration 7 are hashed by the backfill, and then count
// for the one-booking rule like any other.
func TestBackfill_HashesOldRowsAndTheRuleHoldsAfter(t *testing.T) {
	t.Parallel()
	pool := seedTwoSlots(t, 5, 5)
	old := testenv.NewRequest(8, "sel-001-am")
	if _, err := pool.Exec(t.Context(), `INSERT INTO bookings (reference, id_number, status, slot_id, state_code, name, phone, email, lang, preferences, message_id, submitted_at)
		VALUES ($1, $2, 'confirmed', 'sel-001-am', 'selangor', 'P', '+60123456789', 'p@example.com', 'ms', '{sel-001-am}', 'm', now())`, old.Reference, old.IDNumber); err != nil {
		t.Fatal(err)
	}
	got, err := postgres.Backfill(t.Context(), pool, pii.Dev())
	if err != nil || got["bookings"] != 1 {
		t.Fatalf("Backfill = %v %v, want 1 booking", got, err)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM bookings WHERE id_number IS NOT NULL`); n != 0 {
		t.Errorf("%d bookings keep the raw ID number", n)
	}
	o, err := postgres.NewBookings(pool, pii.Dev()).Decide(t.Context(), testenv.NewRequest(8, "sel-001-pm"), "m2")
	if err != nil || o.Record.Status != booking.StatusDuplicate {
		t.Errorf("the same person after the backfill: %v %v, want duplicate", o.Record.Status, err)
	}
}
