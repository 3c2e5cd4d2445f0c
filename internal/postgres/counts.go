package postgres

import (
	"context"
	"fmt"
)

// CountSlots counts the slots seeded, so a development database can tell
// whether it was ever loaded.
func CountSlots(ctx context.Context, db RowQuerier) (int, error) {
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM slots`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count slots: %w", err)
	}
	return n, nil
}

// CountBookings counts the bookings decided so far, whatever their outcome,
// so a load test can tell when the worker has stopped.
func CountBookings(ctx context.Context, db RowQuerier) (int, error) {
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM bookings`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count bookings: %w", err)
	}
	return n, nil
}
