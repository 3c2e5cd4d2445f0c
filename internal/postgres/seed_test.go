package postgres_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// threeStates is two centres in selangor and one each in johor and kedah,
// with one slot partly booked.
var threeStates = []listing.SlotRow{
	{SlotID: "sel-001-am", Capacity: 10},
	{SlotID: "sel-001-pm", Time: "14:00-18:00", Capacity: 10},
	{CenterID: "sel-002", SlotID: "sel-002-am", Capacity: 5, Booked: 4},
	{StateCode: "johor", SlotID: "jhr-001-am", Capacity: 7},
	{StateCode: "kedah", SlotID: "kdh-001-am", Date: "2026-12-02", Capacity: 3},
}

// seeded gives a test its own database holding threeStates, the rows as
// loaded, and their versions before the test's own load.
func seeded(t *testing.T) (*pgxpool.Pool, []listing.SlotRow, []string) {
	t.Helper()
	pool := testenv.NewPool(t)
	rows := testenv.MustSeed(t, pool, threeStates...)
	return pool, rows, testenv.RowVersions(t, pool)
}

func TestUpsertSeed_SameRowsAgainWriteNothing(t *testing.T) {
	t.Parallel()
	pool, rows, before := seeded(t)
	got, err := postgres.UpsertSeed(t.Context(), pool, rows)
	if err != nil || got != (postgres.SeedResult{}) {
		t.Fatalf("second UpsertSeed = %+v, %v; want all zeros", got, err)
	}
	if after := testenv.RowVersions(t, pool); !slices.Equal(before, after) {
		t.Errorf("second UpsertSeed rewrote rows:\nbefore %q\n after %q", before, after)
	}
}

func TestUpsertSeed_CapacityBelowBookedFailsAndChangesNothing(t *testing.T) {
	t.Parallel()
	pool, rows, before := seeded(t)
	rows[0].Capacity = 99 // would change, but the load fails
	rows[2].Capacity = 3
	res, err := postgres.UpsertSeed(t.Context(), pool, rows)
	var ce *postgres.CapacityBelowBookedError
	if !errors.As(err, &ce) || res != (postgres.SeedResult{}) {
		t.Fatalf("UpsertSeed = %+v, %v; want zeros and a *CapacityBelowBookedError", res, err)
	}
	if want := (postgres.CapacityBelowBookedError{Row: 2, SlotID: "sel-002-am", Capacity: 3, Booked: 4}); *ce != want {
		t.Errorf("error = %+v, want %+v", *ce, want)
	}
	if after := testenv.RowVersions(t, pool); !slices.Equal(before, after) {
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
