package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The SQL of `vaxbook loadtest register`: it prepares one queue state of a
// dev system it owns, follows the invitation rounds it drives, and reads
// back the promises of the registration queue (docs/queue.md) as counts
// that must be zero.

// ErrStateHasRegistrations means a load test was pointed at a state that
// already has a queue: its counts and its opening would mix with the run's.
var ErrStateHasRegistrations = errors.New("state already has registrations: use a fresh database or another state")

const readStateRegistrations = `
SELECT EXISTS (SELECT 1 FROM states WHERE code = $1),
       (SELECT count(*) FROM registrations WHERE state_code = $1)`

// opened_at is cleared so that the run's early batch is shuffled at its
// opening; with no registrations in the state nothing else depends on it.
const setLoadQueueState = `UPDATE states SET mode = 'queue', opens_at = $2, opened_at = NULL WHERE code = $1`

// The places are spread as evenly as the slots allow over the state's
// slots from today on (the slots the loop counts free places in); a slot
// keeps whatever it had booked on top.
const spreadPlaces = `
WITH s AS (
    SELECT sl.id, row_number() OVER (ORDER BY sl.slot_date, sl.id) - 1 AS i, count(*) OVER () AS n
    FROM slots sl JOIN centers c ON c.id = sl.center_id
    WHERE c.state_code = $1 AND sl.slot_date >= $3
)
UPDATE slots SET capacity = slots.booked + $2::bigint / s.n + CASE WHEN s.i < $2::bigint % s.n THEN 1 ELSE 0 END
FROM s WHERE slots.id = s.id`

// PrepareLoadQueueState turns state into a queue state opening at opensAt
// with exactly places free places over its slots from today (Malaysia's
// day) on, in one transaction. It refuses a state that has registrations.
// It returns how many slots hold the places.
func PrepareLoadQueueState(ctx context.Context, db Beginner, state string, places int, opensAt, now time.Time) (int, error) {
	var slots int
	err := InTx(ctx, db, func(tx pgx.Tx) error {
		var exists bool
		var regs int
		if err := tx.QueryRow(ctx, readStateRegistrations, state).Scan(&exists, &regs); err != nil {
			return fmt.Errorf("read state: %w", err)
		}
		if !exists {
			return ErrUnknownState
		}
		if regs > 0 {
			return fmt.Errorf("%d registrations: %w", regs, ErrStateHasRegistrations)
		}
		if _, err := tx.Exec(ctx, setLoadQueueState, state, opensAt); err != nil {
			return fmt.Errorf("set queue mode: %w", err)
		}
		tag, err := tx.Exec(ctx, spreadPlaces, state, places, now.In(malaysia).Format(time.DateOnly))
		if err != nil {
			return fmt.Errorf("spread %d places: %w", places, err)
		}
		if slots = int(tag.RowsAffected()); slots == 0 {
			return errors.New("no slots from today on to hold the places")
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prepare queue state %s: %w", state, err)
	}
	return slots, nil
}

const countRegistered = `SELECT count(*) FROM registrations WHERE reference = ANY($1)`

// CountRegistered counts the references given that the worker has recorded.
func CountRegistered(ctx context.Context, db RowQuerier, refs []string) (int, error) {
	var n int
	if err := db.QueryRow(ctx, countRegistered, refs).Scan(&n); err != nil {
		return 0, fmt.Errorf("count recorded registrations: %w", err)
	}
	return n, nil
}

// QueueProgress is where a queue state stands between rounds.
type QueueProgress struct {
	Queued      int // waiting for an invitation
	Outstanding int // invited, neither booked nor expired: places held
	Invitations int // ever issued
	Expired     int // registrations whose invitation ran out
	Free        int // places neither booked nor held
}

// As the loop counts them (freePlaces, expireInvitations), from one snapshot.
const readQueueProgress = `
WITH held AS (
    SELECT count(*) AS n FROM invitations i JOIN registrations r ON r.reference = i.registration
    WHERE i.state_code = $1 AND i.used_at IS NULL AND r.status = 'invited'
)
SELECT (SELECT count(*) FROM registrations WHERE state_code = $1 AND status = 'queued'),
       held.n,
       (SELECT count(*) FROM invitations WHERE state_code = $1),
       (SELECT count(*) FROM registrations WHERE state_code = $1 AND status = 'expired'),
       COALESCE((SELECT sum(GREATEST(s.capacity - s.booked, 0)) FROM slots s JOIN centers c ON c.id = s.center_id
                 WHERE c.state_code = $1 AND s.slot_date >= $2), 0) - held.n
FROM held`

// ReadQueueProgress reads a queue state's counts at now.
func ReadQueueProgress(ctx context.Context, db RowQuerier, state string, now time.Time) (QueueProgress, error) {
	var p QueueProgress
	err := db.QueryRow(ctx, readQueueProgress, state, now.In(malaysia).Format(time.DateOnly)).
		Scan(&p.Queued, &p.Outstanding, &p.Invitations, &p.Expired, &p.Free)
	if err != nil {
		return QueueProgress{}, fmt.Errorf("read queue progress of %s: %w", state, err)
	}
	return p, nil
}

// IssuedInvitation is an invitation as the loop stored it: enough to sign
// its token again (queue.Signer is deterministic).
type IssuedInvitation struct {
	Registration string
	IDHash       string
	ExpiresAt    time.Time
}

const readIssuedSince = `
SELECT registration, id_hash, expires_at FROM invitations
WHERE state_code = $1 AND issued_at >= $2
ORDER BY issued_at, registration`

// InvitationsIssuedSince lists the invitations of state issued at or after
// since.
func InvitationsIssuedSince(ctx context.Context, db *pgxpool.Pool, state string, since time.Time) ([]IssuedInvitation, error) {
	rows, err := db.Query(ctx, readIssuedSince, state, since)
	if err != nil {
		return nil, fmt.Errorf("read invitations of %s: %w", state, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (IssuedInvitation, error) {
		var v IssuedInvitation
		return v, r.Scan(&v.Registration, &v.IDHash, &v.ExpiresAt)
	})
	if err != nil {
		return nil, fmt.Errorf("read invitations of %s: %w", state, err)
	}
	return out, nil
}

// QueueEntry is one non-duplicate registration's arrival and its place in
// the order of invitation.
type QueueEntry struct {
	ReceivedAt time.Time
	QueueKey   *int64     // nil: never put in order (an early one the opening missed)
	InvitedAt  *time.Time // nil: not invited
}

const readQueueOrder = `
SELECT r.received_at, r.queue_key, i.issued_at
FROM registrations r LEFT JOIN invitations i ON i.registration = r.reference
WHERE r.state_code = $1 AND r.status <> 'duplicate'`

// ReadQueueOrder returns every non-duplicate registration of state, in no
// particular order.
func ReadQueueOrder(ctx context.Context, db *pgxpool.Pool, state string) ([]QueueEntry, error) {
	rows, err := db.Query(ctx, readQueueOrder, state)
	if err != nil {
		return nil, fmt.Errorf("read queue order of %s: %w", state, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (QueueEntry, error) {
		var e QueueEntry
		return e, r.Scan(&e.ReceivedAt, &e.QueueKey, &e.InvitedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("read queue order of %s: %w", state, err)
	}
	return out, nil
}

// QueueInvariants are the registration queue's promises in one state,
// counted: every field but the last group must be zero.
type QueueInvariants struct {
	PeopleInvitedTwice      int // ID numbers with two invitations, or an invited duplicate registration
	InvitationsUsedTwice    int // invitations whose person holds more than one confirmed booking in the state
	BookedWithoutInvitation int // confirmed bookings since the run began without their person's unexpired invitation
	RegistrationsMissing    int // accepted references the worker never recorded

	Registrations map[string]int // by status
	Invitations   int
	Used          int
	Places        int // capacity of the slots from today on
	Booked        int // their booked counters
	// The worker's pace: first and last processed_at of the accepted
	// references it recorded.
	FirstRecorded, LastRecorded time.Time
}

// One statement, so every count comes from the same snapshot.
const checkQueueInvariants = `
SELECT
  (SELECT count(*) FROM (SELECT id_hash FROM invitations WHERE state_code = $1
                         GROUP BY id_hash HAVING count(*) > 1) x)
  + (SELECT count(*) FROM registrations r JOIN invitations i ON i.registration = r.reference
     WHERE r.state_code = $1 AND r.status = 'duplicate'),
  (SELECT count(*) FROM invitations i
   WHERE i.state_code = $1
     AND (SELECT count(*) FROM bookings b WHERE b.state_code = i.state_code AND b.id_hash = i.id_hash
          AND b.status = 'confirmed') > 1),
  (SELECT count(*) FROM bookings b
   WHERE b.state_code = $1 AND b.status = 'confirmed' AND b.submitted_at >= $2
     AND NOT EXISTS (SELECT 1 FROM invitations i
                     WHERE i.booking_reference = b.reference AND i.id_hash = b.id_hash
                       AND i.state_code = b.state_code AND b.submitted_at < i.expires_at)),
  (SELECT count(*) FROM unnest($3::text[]) a(ref)
   WHERE NOT EXISTS (SELECT 1 FROM registrations r WHERE r.reference = a.ref)),
  (SELECT count(*) FROM invitations WHERE state_code = $1),
  (SELECT count(*) FROM invitations WHERE state_code = $1 AND used_at IS NOT NULL),
  (SELECT COALESCE(sum(s.capacity), 0) FROM slots s JOIN centers c ON c.id = s.center_id
   WHERE c.state_code = $1 AND s.slot_date >= $4),
  (SELECT COALESCE(sum(s.booked), 0) FROM slots s JOIN centers c ON c.id = s.center_id
   WHERE c.state_code = $1 AND s.slot_date >= $4),
  (SELECT min(processed_at) FROM registrations WHERE reference = ANY($3)),
  (SELECT max(processed_at) FROM registrations WHERE reference = ANY($3))`

const countRegistrationsByStatus = `SELECT status, count(*) FROM registrations WHERE state_code = $1 GROUP BY status`

// CheckQueueInvariants counts the queue's promises in state: accepted are
// the registration references a run was answered 202 for, since when it
// began (bookings before it are not its own). Read-only.
func CheckQueueInvariants(ctx context.Context, db *pgxpool.Pool, state string, since time.Time, accepted []string) (QueueInvariants, error) {
	if accepted == nil {
		accepted = []string{}
	}
	var (
		q           QueueInvariants
		first, last *time.Time
	)
	err := db.QueryRow(ctx, checkQueueInvariants, state, since, accepted, since.In(malaysia).Format(time.DateOnly)).Scan(
		&q.PeopleInvitedTwice, &q.InvitationsUsedTwice, &q.BookedWithoutInvitation, &q.RegistrationsMissing,
		&q.Invitations, &q.Used, &q.Places, &q.Booked, &first, &last)
	if err != nil {
		return QueueInvariants{}, fmt.Errorf("check queue invariants of %s: %w", state, err)
	}
	if first != nil && last != nil {
		q.FirstRecorded, q.LastRecorded = *first, *last
	}
	rows, err := db.Query(ctx, countRegistrationsByStatus, state)
	if err != nil {
		return QueueInvariants{}, fmt.Errorf("count registrations of %s: %w", state, err)
	}
	q.Registrations = map[string]int{}
	var status string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&status, &n}, func() error { q.Registrations[status] = n; return nil }); err != nil {
		return QueueInvariants{}, fmt.Errorf("count registrations of %s: %w", state, err)
	}
	return q, nil
}
