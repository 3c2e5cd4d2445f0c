package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Decision is when one booking was accepted by the API and when the worker
// decided it: the gap is how far decisions lag behind the crowd.
type Decision struct {
	Submitted, Decided time.Time
}

const decisionTimes = `SELECT submitted_at, processed_at FROM bookings WHERE reference = ANY($1)`

// DecisionTimes reads the decision of each of refs that has one (`vaxbook
// chaos` measures recovery with them). Read-only.
func DecisionTimes(ctx context.Context, db *pgxpool.Pool, refs []string) ([]Decision, error) {
	rows, err := db.Query(ctx, decisionTimes, refs)
	if err != nil {
		return nil, fmt.Errorf("read decision times: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Decision, error) {
		var d Decision
		err := r.Scan(&d.Submitted, &d.Decided)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("read decision times: %w", err)
	}
	return out, nil
}

// The worker's booking transaction opens with the person's lock and then
// reads and writes bookings; cachefill and invite touch neither.
const bookingTransactionsOpen = `
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
  AND (query LIKE '%pg_advisory_xact_lock%' OR query LIKE '%bookings%')`

// BookingTransactionsOpen counts the worker's booking transactions in
// progress, so `vaxbook chaos` can kill the worker in the middle of one.
func BookingTransactionsOpen(ctx context.Context, db RowQuerier) (int, error) {
	var n int
	if err := db.QueryRow(ctx, bookingTransactionsOpen).Scan(&n); err != nil {
		return 0, fmt.Errorf("count open booking transactions: %w", err)
	}
	return n, nil
}
