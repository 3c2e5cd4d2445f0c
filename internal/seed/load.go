package seed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vaxbook/vaxbook/internal/postgres"
)

// Result counts the rows a load inserted or changed; rows that were already
// as the file says are not counted.
type Result struct {
	States, Centers, Slots int
}

// The rows travel by COPY into a temporary table and are merged with one
// statement per table, so a few thousand slots cost a handful of round trips
// while the table keeps each row's line for error messages.
const (
	createSeedRows = `
CREATE TEMP TABLE seed_rows (
    line        INTEGER NOT NULL,
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
SELECT t.line, t.slot_id, t.capacity, s.booked
FROM seed_rows t
JOIN slots s ON s.id = t.slot_id
WHERE t.capacity < s.capacity
ORDER BY t.line
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

// Load upserts rows into states, centres and slots in one transaction, and
// reports how many rows of each it inserted or changed. It applies the same
// rules as ParseCSV first; a row with no Line is numbered as WriteCSV would
// place it. Loading the same rows again writes nothing, and the booked
// counters are never touched. Lowering a capacity below the places already
// booked fails the whole load, naming the line; on any error nothing is
// loaded.
func Load(ctx context.Context, db postgres.Beginner, rows []Row) (Result, error) {
	copyRows := make([][]any, len(rows))
	c := newChecker()
	for i, r := range rows {
		if r.Line == 0 {
			r.Line = i + 2
		}
		if err := c.check(r); err != nil {
			return Result{}, err
		}
		// Validated above, so the date parses.
		date, _ := time.Parse(dateLayout, r.Date)
		copyRows[i] = []any{r.Line, r.State, r.StateName, r.CenterID, r.CenterName, r.Address, r.SlotID, date, r.Time, r.Capacity}
	}
	if len(rows) == 0 {
		return Result{}, nil
	}

	var res Result
	err := postgres.InTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, createSeedRows); err != nil {
			return fmt.Errorf("create seed_rows: %w", err)
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"seed_rows"},
			[]string{"line", "state", "state_name", "center_id", "center_name", "address", "slot_id", "slot_date", "time_range", "capacity"},
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
	if le := (*lineError)(nil); errors.As(err, &le) {
		// Already says which line to fix; more wrapping would bury that.
		return Result{}, err
	}
	if err != nil {
		return Result{}, fmt.Errorf("load seed: %w", err)
	}
	return res, nil
}

func scanCount(row pgx.Row, table string, n *int) error {
	if err := row.Scan(n); err != nil {
		return fmt.Errorf("upsert %s: %w", table, err)
	}
	return nil
}

// checkBooked fails on the first line, in file order, whose capacity is
// below what its slot has already booked.
func checkBooked(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, lockShrinkingSlots)
	if err != nil {
		return fmt.Errorf("lock slots losing capacity: %w", err)
	}
	var (
		line, capacity, booked int
		slotID                 string
	)
	_, err = pgx.ForEachRow(rows, []any{&line, &slotID, &capacity, &booked}, func() error {
		if capacity < booked {
			return errAt(line, "capacity", "%d is below the %d places already booked for slot %s", capacity, booked, slotID)
		}
		return nil
	})
	return err
}
