package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Drift is a slot whose counter disagrees with the confirmed bookings that
// name it.
type Drift struct {
	Slot     string
	Capacity int
	Booked   int // the counter the worker bumps and the listing shows
	Bookings int // confirmed bookings of the slot
}

// Fixable reports whether the counter can be set to the bookings: not when
// more are confirmed than the slot holds (slots' CHECK forbids it, and a
// person has to decide who moves).
func (d Drift) Fixable() bool { return d.Bookings <= d.Capacity }

// One statement is one snapshot: the worker inserts a booking and bumps its
// counter in one transaction, so the two agree here unless they really
// drifted.
const findDrift = `
SELECT s.id, s.capacity, s.booked, COALESCE(b.n, 0)::int
FROM slots s
LEFT JOIN (SELECT slot_id, count(*) AS n FROM bookings
           WHERE status = 'confirmed' AND slot_id IS NOT NULL GROUP BY slot_id) b ON b.slot_id = s.id
WHERE s.booked <> COALESCE(b.n, 0)
ORDER BY s.id`

// Locks every slot for the fix, so no booking moves a counter between the
// count and the update; bookings wait for the length of this transaction.
const lockAllSlots = `SELECT id FROM slots ORDER BY id FOR UPDATE`

const setBooked = `UPDATE slots SET booked = $2 WHERE id = $1`

// FindDrift returns every slot whose counter differs from its confirmed
// bookings.
func FindDrift(ctx context.Context, db Querier) ([]Drift, error) {
	rows, err := db.Query(ctx, findDrift)
	if err != nil {
		return nil, fmt.Errorf("find counter drift: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Drift, error) {
		var d Drift
		return d, r.Scan(&d.Slot, &d.Capacity, &d.Booked, &d.Bookings)
	})
	if err != nil {
		return nil, fmt.Errorf("find counter drift: %w", err)
	}
	return out, nil
}

// FixDrift sets every fixable drifted counter to its confirmed bookings in
// one transaction, with the slots locked, and returns the drift it found:
// the fixable ones are fixed, the others left for a person.
func FixDrift(ctx context.Context, db Beginner) ([]Drift, error) {
	var found []Drift
	err := InTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockAllSlots); err != nil {
			return fmt.Errorf("lock slots: %w", err)
		}
		var err error
		if found, err = FindDrift(ctx, tx); err != nil {
			return err
		}
		for _, d := range found {
			if !d.Fixable() {
				continue
			}
			if _, err := tx.Exec(ctx, setBooked, d.Slot, d.Bookings); err != nil {
				return fmt.Errorf("fix counter of slot %s: %w", d.Slot, err)
			}
		}
		return nil
	})
	return found, err
}
