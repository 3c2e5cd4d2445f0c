package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/queue"
)

// The reads the loops rebuild Redis from when Redis lost what they or the
// worker wrote: the invitation loop the registration records (docs/queue.md,
// "When Redis loses the records"), the cache-fill loop the booking status
// records. Like the rest of the loops' SQL they run over the lease's
// connection.

// Each page is one range of the primary key; the joins give a confirmed
// booking its slot as the worker's transaction returned it (takePlace).
const readDecidedPage = `
SELECT b.reference, b.status, b.lang, b.processed_at,
       COALESCE(s.id, ''), COALESCE(c.id, ''), COALESCE(c.name, ''), COALESCE(c.address, ''),
       COALESCE(to_char(s.slot_date, 'YYYY-MM-DD'), ''), COALESCE(s.time_range, '')
FROM bookings b
LEFT JOIN slots s ON s.id = b.slot_id
LEFT JOIN centers c ON c.id = s.center_id
WHERE b.reference > $1 AND b.processed_at > $2
ORDER BY b.reference
LIMIT $3`

// Decided returns up to limit bookings decided after since, with
// references after after, each with the status record the worker wrote for
// it (GET /status). An empty page is the end.
func (l *Lease) Decided(ctx context.Context, after string, since time.Time, limit int) ([]booking.Decided, error) {
	out, err := queryAll(ctx, l, func(r pgx.CollectableRow) (booking.Decided, error) {
		var (
			d booking.Decided
			s booking.SlotInfo
		)
		if err := r.Scan(&d.Record.Reference, &d.Record.Status, &d.Record.Lang, &d.At,
			&s.ID, &s.CenterID, &s.CenterName, &s.Address, &s.Date, &s.Time); err != nil {
			return d, err
		}
		if s.ID != "" {
			d.Record.Slot = &s
		}
		return d, nil
	}, readDecidedPage, after, since, limit)
	if err != nil {
		return nil, fmt.Errorf("read decided bookings after %q: %w", after, err)
	}
	return out, nil
}

const readQueueModeStates = `SELECT code FROM states WHERE mode = 'queue' ORDER BY code`

// QueueModeStates lists every state in queue mode, whether or not its
// opening time has come: a state not yet open has registrations whose
// records can be lost too.
func (l *Lease) QueueModeStates(ctx context.Context) ([]string, error) {
	out, err := queryAll(ctx, l, pgx.RowTo[string], readQueueModeStates)
	if err != nil {
		return nil, fmt.Errorf("read queue-mode states: %w", err)
	}
	return out, nil
}

// Pages walk the primary key from the last reference read, so each page is
// one index range however far the walk has gone. The invitation (one per
// registration, unique) gives an invited record its expiry and a booked
// one its booking.
const readRecordsPage = `
SELECT r.reference, r.status, COALESCE(r.place, 0), i.expires_at, COALESCE(i.booking_reference, '')
FROM registrations r
LEFT JOIN invitations i ON i.registration = r.reference
WHERE r.state_code = $1 AND r.reference > $2
ORDER BY r.reference
LIMIT $3`

// Records returns up to limit of state's registrations with references
// after after, as GET /registration would show them: the place for queued
// and invited ones (what `ahead` is counted from), the expiry for invited
// ones, the booking for booked ones. An empty page is the end.
func (l *Lease) Records(ctx context.Context, state, after string, limit int) ([]queue.Record, error) {
	out, err := queryAll(ctx, l, func(r pgx.CollectableRow) (queue.Record, error) {
		rec := queue.Record{State: state}
		var (
			place   int64
			expires *time.Time
			booked  string
		)
		if err := r.Scan(&rec.Reference, &rec.Status, &place, &expires, &booked); err != nil {
			return rec, err
		}
		switch rec.Status {
		case queue.StatusQueued:
			rec.Place = place
		case queue.StatusInvited:
			rec.Place = place
			if expires != nil {
				at := expires.UTC()
				rec.ExpiresAt = &at
			}
		case queue.StatusBooked:
			rec.BookingReference = booked
		}
		return rec, nil
	}, readRecordsPage, state, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read registration records of %s after %q: %w", state, after, err)
	}
	return out, nil
}
