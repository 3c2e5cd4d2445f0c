package postgres

import (
	"context"
	"fmt"
)

// Invariants is what the booking tables say about the promises vaxbook
// makes: no slot past its capacity, every counter equal to the confirmed
// bookings it counts, one confirmed place per person, and no accepted
// reference lost. The first three must be zero in any database; the counts
// against the references given only mean something to the run that
// accepted them.
type Invariants struct {
	SlotsOverCapacity      int // slots with booked > capacity
	CountersUnlikeBookings int // slots whose booked differs from their confirmed bookings
	PeopleBookedTwice      int // ID numbers with more than one confirmed booking
	Bookings               int // rows in bookings, whatever their reference
	Missing                int // references given that have no booking row
	Unknown                int // booking rows whose reference was not given
}

// Broken reports whether any invariant that holds in every database fails.
func (i Invariants) Broken() bool {
	return i.SlotsOverCapacity != 0 || i.CountersUnlikeBookings != 0 || i.PeopleBookedTwice != 0
}

// One statement, so every count is taken from the same snapshot.
const checkInvariants = `
SELECT (SELECT count(*) FROM slots WHERE booked > capacity),
       (SELECT count(*) FROM slots s
        WHERE s.booked <> (SELECT count(*) FROM bookings b WHERE b.slot_id = s.id AND b.status = 'confirmed')),
       (SELECT count(*) FROM (SELECT id_hash FROM bookings WHERE status = 'confirmed' AND id_hash IS NOT NULL
                              GROUP BY id_hash HAVING count(*) > 1) x),
       (SELECT count(*) FROM bookings),
       (SELECT count(*) FROM unnest($1::text[]) r(ref)
        WHERE NOT EXISTS (SELECT 1 FROM bookings b WHERE b.reference = r.ref)),
       (SELECT count(*) FROM bookings WHERE NOT reference = ANY($1))`

// CheckInvariants reads the booking invariants, counting accepted (the
// references a run was told were accepted; nil for none) against the
// bookings table. Read-only.
func CheckInvariants(ctx context.Context, db RowQuerier, accepted []string) (Invariants, error) {
	if accepted == nil {
		accepted = []string{}
	}
	var i Invariants
	err := db.QueryRow(ctx, checkInvariants, accepted).Scan(&i.SlotsOverCapacity, &i.CountersUnlikeBookings,
		&i.PeopleBookedTwice, &i.Bookings, &i.Missing, &i.Unknown)
	if err != nil {
		return Invariants{}, fmt.Errorf("check booking invariants: %w", err)
	}
	return i, nil
}

// A place is booked again when its slot has had more bookings, confirmed
// and cancelled together, than places: each one past capacity went into a
// place someone gave back. Per slot, at most the places the run freed there.
const cancelReuse = `
WITH run AS (
    SELECT slot_id, count(*) AS freed FROM bookings
    WHERE reference = ANY($1) AND status = 'cancelled' GROUP BY slot_id
), per AS (
    SELECT r.freed, s.capacity,
           (SELECT count(*) FROM bookings b WHERE b.slot_id = s.id AND b.status IN ('confirmed', 'cancelled')) AS ever
    FROM run r JOIN slots s ON s.id = r.slot_id
)
SELECT coalesce(sum(freed), 0), coalesce(sum(least(freed, greatest(0, ever - capacity))), 0) FROM per`

// CancelReuse counts, among the references given, the bookings cancelled
// (places freed), and how many of those places others booked again.
// Read-only.
func CancelReuse(ctx context.Context, db RowQuerier, refs []string) (freed, reused int, err error) {
	if refs == nil {
		refs = []string{}
	}
	if err := db.QueryRow(ctx, cancelReuse, refs).Scan(&freed, &reused); err != nil {
		return 0, 0, fmt.Errorf("count places freed and booked again: %w", err)
	}
	return freed, reused, nil
}
