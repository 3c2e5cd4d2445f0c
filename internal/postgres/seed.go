package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vaxbook/vaxbook/internal/listing"
)

// SeedResult counts the rows a seed load inserted or changed; rows that were
// already as given are not counted.
type SeedResult struct {
	States, Centers, Slots int
}

// CapacityBelowBookedError is a seed row that would leave its slot with
// fewer places than it has already booked.
type CapacityBelowBookedError struct {
	Row      int // index of the row in the rows given
	SlotID   string
	Capacity int
	Booked   int
}

func (e *CapacityBelowBookedError) Error() string {
	return fmt.Sprintf("capacity %d is below the %d places already booked for slot %s", e.Capacity, e.Booked, e.SlotID)
}

// The rows travel by COPY into a temporary table and are merged with one
// statement per table, so a few thousand slots cost a handful of round trips
// while the table keeps each row's place in the input for error messages.
const (
	createSeedRows = `
CREATE TEMP TABLE seed_rows (
    n           INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    state_name  TEXT    NOT NULL,
    center_id   TEXT    NOT NULL,
    center_name TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    slot_id     TEXT    NOT NULL,
    slot_date   DATE    NOT NULL,
    time_range  TEXT    NOT NULL,
    capacity    INTEGER NOT NULL
) ON COMMIT DROP`

	// Locks every slot whose capacity goes down before comparing it with
	// booked: FOR UPDATE makes the worker wait, and hands back the booked
	// count as of the lock, so no booking can slip in between this check and
	// the upsert and turn into a bare CHECK violation.
	lockShrinkingSlots = `
SELECT t.n, t.slot_id, t.capacity, s.booked
FROM seed_rows t
JOIN slots s ON s.id = t.slot_id
WHERE t.capacity < s.capacity
ORDER BY t.n
FOR UPDATE OF s`

	// The WHERE on DO UPDATE leaves identical rows unwritten (same xmin, no
	// dead tuples), which is what makes re-loading a file a no-op.
	upsertStates = `
WITH changed AS (
    INSERT INTO states (code, name)
    SELECT DISTINCT state, state_name FROM seed_rows
    ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name
    WHERE states.name IS DISTINCT FROM EXCLUDED.name
    RETURNING 1
)
SELECT count(*) FROM changed`

	upsertCenters = `
WITH changed AS (
    INSERT INTO centers (id, state_code, name, address)
    SELECT DISTINCT center_id, state, center_name, address FROM seed_rows
    ON CONFLICT (id) DO UPDATE
    SET state_code = EXCLUDED.state_code, name = EXCLUDED.name, address = EXCLUDED.address
    WHERE (centers.state_code, centers.name, centers.address)
          IS DISTINCT FROM (EXCLUDED.state_code, EXCLUDED.name, EXCLUDED.address)
    RETURNING 1
)
SELECT count(*) FROM changed`

	// Unchanged slots are filtered out before the INSERT because ON CONFLICT
	// locks every row it meets, even one its WHERE then skips: a reload
	// during live booking would otherwise hold up the worker's counter
	// updates on every slot until commit. booked is never in the SET list;
	// it belongs to the worker.
	upsertSlots = `
WITH changed AS (
    INSERT INTO slots (id, center_id, slot_date, time_range, capacity)
    SELECT t.slot_id, t.center_id, t.slot_date, t.time_range, t.capacity
    FROM seed_rows t
    WHERE NOT EXISTS (
        SELECT 1 FROM slots s
        WHERE s.id = t.slot_id AND s.center_id = t.center_id AND s.slot_date = t.slot_date
          AND s.time_range = t.time_range AND s.capacity = t.capacity
    )
    ON CONFLICT (id) DO UPDATE
    SET center_id = EXCLUDED.center_id, slot_date = EXCLUDED.slot_date,
        time_range = EXCLUDED.time_range, capacity = EXCLUDED.capacity
    WHERE (slots.center_id, slots.slot_date, slots.time_range, slots.capacity)
          IS DISTINCT FROM (EXCLUDED.center_id, EXCLUDED.slot_date, EXCLUDED.time_range, EXCLUDED.capacity)
    RETURNING 1
)
SELECT count(*) FROM changed`

	// Dropped explicitly as well as ON COMMIT because db may itself be a
	// transaction that goes on to load again.
	dropSeedRows = `DROP TABLE seed_rows`
)

// UpsertSeed writes rows into states, centres and slots in one transaction,
// and reports how many rows of each it inserted or changed. The rows are
// taken as valid (the seed package checks them); Booked is ignored, because
// the counters belong to the worker and are never written here, and so
// loading the same rows again writes nothing. Lowering a capacity below the
// places already booked fails the whole load with a
// *CapacityBelowBookedError for the first such row; on any error nothing is
// loaded.
func UpsertSeed(ctx context.Context, db Beginner, rows []listing.SlotRow) (SeedResult, error) {
	if len(rows) == 0 {
		return SeedResult{}, nil
	}
	copyRows := make([][]any, len(rows))
	for i, r := range rows {
		date, err := time.Parse(time.DateOnly, r.Date)
		if err != nil {
			return SeedResult{}, fmt.Errorf("load seed: slot %s: date: %w", r.SlotID, err)
		}
		copyRows[i] = []any{i, r.StateCode, r.StateName, r.CenterID, r.CenterName, r.CenterAddress, r.SlotID, date, r.Time, r.Capacity}
	}

	var res SeedResult
	err := InTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, createSeedRows); err != nil {
			return fmt.Errorf("create seed_rows: %w", err)
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"seed_rows"},
			[]string{"n", "state", "state_name", "center_id", "center_name", "address", "slot_id", "slot_date", "time_range", "capacity"},
			pgx.CopyFromRows(copyRows))
		if err != nil {
			return fmt.Errorf("copy seed rows: %w", err)
		}
		if err := checkBooked(ctx, tx); err != nil {
			return err
		}

		b := &pgx.Batch{}
		b.Queue(upsertStates).QueryRow(func(row pgx.Row) error { return scanCount(row, "states", &res.States) })
		b.Queue(upsertCenters).QueryRow(func(row pgx.Row) error { return scanCount(row, "centers", &res.Centers) })
		b.Queue(upsertSlots).QueryRow(func(row pgx.Row) error { return scanCount(row, "slots", &res.Slots) })
		b.Queue(dropSeedRows)
		return tx.SendBatch(ctx, b).Close()
	})
	if ce := (*CapacityBelowBookedError)(nil); errors.As(err, &ce) {
		// The caller maps the row back to where a person can fix it.
		return SeedResult{}, err
	}
	if err != nil {
		return SeedResult{}, fmt.Errorf("load seed: %w", err)
	}
	return res, nil
}

func scanCount(row pgx.Row, table string, n *int) error {
	if err := row.Scan(n); err != nil {
		return fmt.Errorf("upsert %s: %w", table, err)
	}
	return nil
}

// checkBooked fails on the first row, in input order, whose capacity is
// below what its slot has already booked.
func checkBooked(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, lockShrinkingSlots)
	if err != nil {
		return fmt.Errorf("lock slots losing capacity: %w", err)
	}
	var e CapacityBelowBookedError
	_, err = pgx.ForEachRow(rows, []any{&e.Row, &e.SlotID, &e.Capacity, &e.Booked}, func() error {
		if e.Capacity < e.Booked {
			found := e
			return &found
		}
		return nil
	})
	return err
}
