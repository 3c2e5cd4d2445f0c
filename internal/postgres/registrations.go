package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/queue"
)

// Registrar records registrations: the worker's transaction for
// registrations-topic (docs/queue.md, "Registering").
type Registrar struct {
	pool *pgxpool.Pool
	ids  *pii.Pepper
}

// NewRegistrar wraps a pool; ids hashes ID numbers (ID_PEPPER), as
// NewBookings'.
func NewRegistrar(pool *pgxpool.Pool, ids *pii.Pepper) *Registrar {
	return &Registrar{pool: pool, ids: ids}
}

// lockStateQueue is held by whatever moves a queue state's places around
// (Lease.Open's shuffle and shift); the worker holds it shared
// (shareStateQueue) while it places one registration. Registrations then
// run side by side — two at once may count the same place, which an
// approximate `ahead` allows — but none counts halfway through an opening,
// which would miss the early batch it puts in front.
const (
	lockStateQueue  = `SELECT pg_advisory_xact_lock(hashtextextended($1, ` + stateQueueLockSeed + `))`
	shareStateQueue = `SELECT pg_advisory_xact_lock_shared(hashtextextended($1, ` + stateQueueLockSeed + `))`
)

const readQueueState = `SELECT opens_at, opened_at FROM states WHERE code = $1`

// One read answers both questions: was this reference recorded already (a
// redelivery), and does this person hold a live registration in the state?
// The invitation, if any, is what the record shows for invited and booked.
const findPriorRegistration = `
SELECT r.reference, r.state_code, r.status, r.place, i.expires_at, COALESCE(i.booking_reference, '')
FROM registrations r
LEFT JOIN invitations i ON i.registration = r.reference
WHERE r.reference = $1 OR (r.state_code = $2 AND r.id_hash = $3 AND r.status IN ('queued', 'invited'))`

// placeAfterQueued is the place after the nearest queued registration
// before key: walking registrations_waiting backwards from key finds it in
// one index probe however long the queue. The loop invites in queue order,
// so everything between that one and key is queued too.
const placeAfterQueued = `
SELECT place + 1 FROM registrations
WHERE state_code = $1 AND status = 'queued' AND (queue_key, reference) < ($2, $3)
ORDER BY queue_key DESC, reference DESC
LIMIT 1`

// placeAfterInvited is the fallback when nobody before key is still
// queued: everyone before was invited already (or there is nobody), so the
// place follows the highest place they held.
const placeAfterInvited = `
SELECT COALESCE(max(place), 0) + 1 FROM registrations
WHERE state_code = $1 AND status IN ('invited', 'booked', 'expired') AND (queue_key, reference) < ($2, $3)`

// Only the ID's hash is stored: the invitation token binds the hash
// (queue.Signer), so nothing needs the number once it is hashed.
const insertRegistration = `
INSERT INTO registrations (reference, state_code, id_hash, status, name, phone, email, lang, contact,
                           received_at, queue_key, place, message_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

// Record records a registration in one transaction and returns the record
// GET /registration shows for it (with the place, for the API's `ahead`).
// A reference recorded before returns its record as it stands now, so a
// redelivery rewrites Redis with the truth. A registration for a state that
// does not exist is ErrUnknownState, which no redelivery can fix.
func (r *Registrar) Record(ctx context.Context, reg queue.Registration, messageID string) (queue.Record, error) {
	var rec queue.Record
	err := InTx(ctx, r.pool, func(tx pgx.Tx) error {
		var err error
		rec, err = record(ctx, tx, reg, r.ids.Hash(reg.IDNumber), messageID)
		return err
	})
	if err != nil {
		return queue.Record{}, fmt.Errorf("record registration %s: %w", reg.Reference, err)
	}
	return rec, nil
}

func record(ctx context.Context, tx pgx.Tx, reg queue.Registration, idHash, messageID string) (queue.Record, error) {
	batch := &pgx.Batch{}
	batch.Queue(shareStateQueue, reg.State)
	// Twins of one person (two tabs, a retried form) now record side by
	// side: the person's lock makes the second see the first and end
	// duplicate, rather than fail on the one-live index and wait for a
	// redelivery.
	batch.Queue(lockPerson, idHash)
	batch.Queue(readQueueState, reg.State)
	batch.Queue(findPriorRegistration, reg.Reference, reg.State, idHash)
	br := tx.SendBatch(ctx, batch)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return queue.Record{}, fmt.Errorf("lock state queue: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return queue.Record{}, fmt.Errorf("lock person: %w", err)
	}
	var opensAt, openedAt *time.Time
	switch err := br.QueryRow().Scan(&opensAt, &openedAt); {
	case errors.Is(err, pgx.ErrNoRows):
		return queue.Record{}, fmt.Errorf("state %q: %w", reg.State, ErrUnknownState)
	case err != nil:
		return queue.Record{}, fmt.Errorf("read state %s: %w", reg.State, err)
	}
	rows, err := br.Query()
	if err != nil {
		return queue.Record{}, fmt.Errorf("find prior registrations: %w", err)
	}
	var prior, live *queue.Record
	for rows.Next() {
		var (
			p       queue.Record
			place   *int64
			expires *time.Time
		)
		if err := rows.Scan(&p.Reference, &p.State, &p.Status, &place, &expires, &p.BookingReference); err != nil {
			rows.Close()
			return queue.Record{}, fmt.Errorf("scan prior registration: %w", err)
		}
		if place != nil {
			p.Place = *place
		}
		if p.Status == queue.StatusInvited && expires != nil {
			at := expires.UTC()
			p.ExpiresAt = &at
		}
		if p.Reference == reg.Reference {
			prior = &p
		} else {
			live = &p
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return queue.Record{}, fmt.Errorf("find prior registrations: %w", err)
	}
	if err := br.Close(); err != nil {
		return queue.Record{}, fmt.Errorf("find prior registrations: %w", err)
	}
	if prior != nil {
		return *prior, nil
	}

	rec := queue.Record{Reference: reg.Reference, State: reg.State, Status: queue.StatusQueued}
	var key, place *int64
	switch {
	case live != nil:
		// The first registration keeps its place; this one holds none.
		rec.Status = queue.StatusDuplicate
	case opensAt != nil && reg.ReceivedAt.Before(*opensAt) && openedAt == nil:
		// Early: ordered by the shuffle at opening, not by arrival, and
		// placed then. Once the state has opened there is no later
		// shuffle, so a registration received before a moved opens_at
		// queues by arrival like any other.
	default:
		k := reg.ReceivedAt.UnixMicro()
		p, err := placeBefore(ctx, tx, reg.State, k, reg.Reference)
		if err != nil {
			return queue.Record{}, err
		}
		key, place, rec.Place = &k, &p, p
	}
	_, err = tx.Exec(ctx, insertRegistration, reg.Reference, reg.State, idHash, string(rec.Status),
		reg.Name, reg.Phone, reg.Email, reg.Lang, string(reg.Contact), reg.ReceivedAt, key, place, messageID)
	if err != nil {
		return queue.Record{}, fmt.Errorf("insert registration: %w", err)
	}
	return rec, nil
}

// placeBefore is the place of a registration at key: one after the
// registrations of the state ordered before it. Registrations already
// placed after it (a message delivered late) keep their places; the
// contract promises only an approximate `ahead`.
func placeBefore(ctx context.Context, tx pgx.Tx, state string, key int64, reference string) (int64, error) {
	var place int64
	err := tx.QueryRow(ctx, placeAfterQueued, state, key, reference).Scan(&place)
	if errors.Is(err, pgx.ErrNoRows) {
		err = tx.QueryRow(ctx, placeAfterInvited, state, key, reference).Scan(&place)
	}
	if err != nil {
		return 0, fmt.Errorf("place in %s: %w", state, err)
	}
	return place, nil
}

// Reject records a registration message for a human to look at.
func (r *Registrar) Reject(ctx context.Context, m RejectedMessage) error {
	return reject(ctx, r.pool, m)
}
