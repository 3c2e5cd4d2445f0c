package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/listing"
)

// Lease is the right to be the one process doing a job, held as a session
// advisory lock on one dedicated connection. Postgres drops the lock when
// that connection dies, so a crashed or partitioned holder cannot keep it.
type Lease struct {
	conn *pgxpool.Conn
	key  LeaseKey
}

// TryLease takes the lease named by key if nobody holds it. It returns nil
// and no error when another process holds it.
func TryLease(ctx context.Context, pool *pgxpool.Pool, key LeaseKey) (*Lease, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire connection for %s: %w", key, err)
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(key)).Scan(&got); err != nil {
		conn.Release()
		return nil, fmt.Errorf("try %s: %w", key, err)
	}
	if !got {
		conn.Release()
		return nil, nil
	}
	return &Lease{conn: conn, key: key}, nil
}

// Release gives the lease up at once with an explicit unlock, then closes
// the connection, which drops the lock anyway should the unlock not arrive.
func (l *Lease) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _ = l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, int64(l.key))
	_ = l.conn.Conn().Close(ctx)
	l.conn.Release()
}

const readSlots = `
SELECT st.code, st.name, st.mode, st.opens_at, st.closed,
       COALESCE(c.id, ''), COALESCE(c.name, ''), COALESCE(c.address, ''),
       COALESCE(s.id, ''), COALESCE(to_char(s.slot_date, 'YYYY-MM-DD'), ''), COALESCE(s.time_range, ''),
       -- A closed session shows as full: it offers no place.
       COALESCE(CASE WHEN s.closed_at IS NULL THEN s.capacity ELSE LEAST(s.capacity, s.booked) END, 0),
       COALESCE(s.booked, 0)
FROM states st
LEFT JOIN centers c ON c.state_code = st.code
LEFT JOIN slots s ON s.center_id = c.id
ORDER BY st.code, c.id, s.slot_date, s.time_range, s.id`

// Snapshot reads every slot's counter over the lease's own connection: if
// the lease is lost, so is the ability to read, and the writer stops.
func (l *Lease) Snapshot(ctx context.Context) ([]listing.SlotRow, error) {
	rows, err := l.conn.Query(ctx, readSlots)
	if err != nil {
		return nil, fmt.Errorf("read slots: %w", err)
	}
	defer rows.Close()
	var out []listing.SlotRow
	for rows.Next() {
		var (
			r     listing.SlotRow
			opens *time.Time
		)
		if err := rows.Scan(&r.StateCode, &r.StateName, &r.StateMode, &opens, &r.StateClosed, &r.CenterID, &r.CenterName, &r.CenterAddress,
			&r.SlotID, &r.Date, &r.Time, &r.Capacity, &r.Booked); err != nil {
			return nil, fmt.Errorf("scan slot: %w", err)
		}
		if opens != nil {
			r.StateOpensAt = *opens
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read slots: %w", err)
	}
	return out, nil
}
