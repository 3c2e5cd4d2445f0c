package postgres_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// threeStates is two centres in selangor and one each in johor and kedah.
var threeStates = []listing.SlotRow{
	{SlotID: "sel-001-am", Capacity: 10},
	{SlotID: "sel-001-pm", Time: "14:00-18:00", Capacity: 10},
	{CenterID: "sel-002", SlotID: "sel-002-am", Capacity: 5},
	{StateCode: "johor", SlotID: "jhr-001-am", Capacity: 7},
	{StateCode: "kedah", SlotID: "kdh-001-am", Date: "2026-12-02", Capacity: 3},
}

// versions lists every seeded row with its xmin, which changes whenever a
// row is rewritten, even with the same values.
func versions(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	rows, err := db.Query(t.Context(), `
SELECT concat_ws('|', 'state', code, name, xmin) FROM states
UNION ALL SELECT concat_ws('|', 'centre', id, state_code, name, address, xmin) FROM centers
UNION ALL SELECT concat_ws('|', 'slot', id, center_id, slot_date, time_range, capacity, booked, xmin) FROM slots
ORDER BY 1`)
	if err != nil {
		t.Fatalf("read row versions: %v", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("read row versions: %v", err)
	}
	return got
}

func TestUpsertSeed_SameRowsAgainWriteNothing(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	rows := testenv.MustSeed(t, pool, threeStates...)
	if _, err := pool.Exec(t.Context(), `UPDATE slots SET booked = 4 WHERE id = 'sel-001-am'`); err != nil {
		t.Fatal(err)
	}
	before := versions(t, pool)

	got, err := postgres.UpsertSeed(t.Context(), pool, rows)
	if err != nil || got != (postgres.SeedResult{}) {
		t.Fatalf("second UpsertSeed = %+v, %v; want all zeros", got, err)
	}
	if after := versions(t, pool); !slices.Equal(before, after) {
		t.Errorf("second UpsertSeed rewrote rows:\nbefore %q\n after %q", before, after)
	}
}

func TestUpsertSeed_CapacityBelowBookedFailsAndChangesNothing(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	rows := testenv.MustSeed(t, pool, threeStates...)
	if _, err := pool.Exec(t.Context(), `UPDATE slots SET booked = 4 WHERE id = 'sel-002-am'`); err != nil {
		t.Fatal(err)
	}
	before := versions(t, pool)

	rows[0].Capacity = 99 // would change, but the load fails
	rows[2].Capacity = 3
	res, err := postgres.UpsertSeed(t.Context(), pool, rows)
	var ce *postgres.CapacityBelowBookedError
	if !errors.As(err, &ce) {
		t.Fatalf("UpsertSeed error = %v, want a *CapacityBelowBookedError", err)
	}
	if want := (postgres.CapacityBelowBookedError{Row: 2, SlotID: "sel-002-am", Capacity: 3, Booked: 4}); *ce != want {
		t.Errorf("error = %+v, want %+v", *ce, want)
	}
	if res != (postgres.SeedResult{}) {
		t.Errorf("failed UpsertSeed = %+v, want zeros", res)
	}
	if after := versions(t, pool); !slices.Equal(before, after) {
		t.Errorf("failed UpsertSeed changed the database")
	}
}

func TestUpsertSeed_TwiceInOneTransaction(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	ctx := t.Context()
	rows := testenv.SeedRows(threeStates...)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := postgres.UpsertSeed(ctx, tx, rows[:2]); err != nil {
		t.Fatalf("first UpsertSeed: %v", err)
	}
	got, err := postgres.UpsertSeed(ctx, tx, rows)
	if err != nil {
		t.Fatalf("second UpsertSeed in the same transaction: %v", err)
	}
	if want := (postgres.SeedResult{States: 2, Centers: 3, Slots: 3}); got != want {
		t.Errorf("second UpsertSeed = %+v, want %+v", got, want)
	}
}

func TestUpsertSeed_WaitsForBookingBeforeCheckingCapacity(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	ctx := t.Context()
	rows := testenv.MustSeed(t, pool, listing.SlotRow{SlotID: "sel-001-am", Capacity: 10, Booked: 4})

	// A booking in flight holds the slot row, as the worker's transaction does.
	worker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Rollback(ctx)
	if _, err := worker.Exec(ctx, `UPDATE slots SET booked = booked + 1 WHERE id = 'sel-001-am'`); err != nil {
		t.Fatal(err)
	}

	rows[0].Capacity = 4
	done := make(chan error, 1)
	go func() {
		_, err := postgres.UpsertSeed(ctx, pool, rows)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("UpsertSeed finished (%v) while a booking held the slot", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := worker.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var ce *postgres.CapacityBelowBookedError
	if err := <-done; !errors.As(err, &ce) {
		t.Fatalf("UpsertSeed error = %v, want a *CapacityBelowBookedError", err)
	}
	if want := (postgres.CapacityBelowBookedError{Row: 0, SlotID: "sel-001-am", Capacity: 4, Booked: 5}); *ce != want {
		t.Errorf("error = %+v, want %+v: booked as it stood after the booking committed", *ce, want)
	}
}
