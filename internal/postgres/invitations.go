package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// The invitation loop's SQL (docs/queue.md, "The invitation loop"). Every
// statement runs over the lease's own connection, as Snapshot does: a loop
// that lost its lease has lost the connection with it, so it cannot go on
// inviting beside the new holder, which would count the same free places
// twice.

// QueueState is a queue state whose opening time has come (or that has
// none).
type QueueState struct {
	Code    string
	OpensAt *time.Time
	Opened  bool
}

// Addressee is the registration a loop message goes to.
type Addressee struct {
	Reference string
	State     string
	Name      string
	Email     string
	Lang      string
	Contact   booking.Contact
	Phone     string // E.164; for SMS, and for e-mail's fallback
}

// scanTargets are the columns every untold-registration query selects
// first, in this order: reference, name, email, lang, contact, phone.
func (a *Addressee) scanTargets(more ...any) []any {
	return append([]any{&a.Reference, &a.Name, &a.Email, &a.Lang, &a.Contact, &a.Phone}, more...)
}

// Invitee is an invited registration whose message has not been queued yet.
type Invitee struct {
	Addressee
	IDHash    string // the person's ID hash; the token is bound to it
	Place     int64
	ExpiresAt time.Time
}

// Expiree is a registration whose invitation ran out unused, not yet told.
type Expiree struct{ Addressee }

const readQueueStates = `
SELECT code, opens_at, opened_at IS NOT NULL
FROM states
WHERE mode = 'queue' AND (opens_at IS NULL OR opens_at <= $1)
ORDER BY code`

// QueueStates lists the queue states the loop works on at now.
func (l *Lease) QueueStates(ctx context.Context, now time.Time) ([]QueueState, error) {
	out, err := queryAll(ctx, l, func(r pgx.CollectableRow) (QueueState, error) {
		var s QueueState
		return s, r.Scan(&s.Code, &s.OpensAt, &s.Opened)
	}, readQueueStates, now)
	if err != nil {
		return nil, fmt.Errorf("read queue states: %w", err)
	}
	return out, nil
}

// The state row is locked so that two openings, or an opening and an
// operator's `state set`, serialise; opened_at is re-read under the lock.
const lockQueueState = `SELECT opens_at, opened_at IS NOT NULL FROM states WHERE code = $1 FOR UPDATE`

// The early batch: queued before opens_at, so without a key until opening.
const readEarly = `
SELECT reference FROM registrations
WHERE state_code = $1 AND status = 'queued' AND queue_key IS NULL
ORDER BY reference
FOR UPDATE`

// Every registration already placed moves back by the size of the early
// batch, which goes ahead of them all.
const shiftPlaces = `UPDATE registrations SET place = place + $2 WHERE state_code = $1 AND place IS NOT NULL`

const setKeys = `
UPDATE registrations r SET queue_key = v.key, place = v.place
FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v (reference, key, place)
WHERE r.reference = v.reference`

const markOpened = `UPDATE states SET opened_at = $2 WHERE code = $1`

// A registration received before opens_at whose message arrived after the
// opening (Pub/Sub may deliver late) missed the shuffle. It is keyed at
// opens_at itself: behind the shuffled batch, ahead of everyone who came
// after opening, and shown the place of the first of those (ties are fine
// for an approximate `ahead`; shifting everyone again would not be).
const keyStragglers = `
WITH behind AS (
    SELECT count(*) AS n FROM registrations
    WHERE state_code = $1 AND queue_key < $2 AND status <> 'duplicate'
)
UPDATE registrations SET queue_key = $2, place = behind.n + 1
FROM behind
WHERE state_code = $1 AND status = 'queued' AND queue_key IS NULL`

// Open puts a queue state's early registrations in their invitation order,
// once: shuffle reorders their references in place (with a cryptographic
// random order; the caller's), they get keys just below opens_at in that
// order and places 1..N, later registrations move back by N, and opened_at
// is set, all in one transaction. For a state already opened it keys any
// early registration that arrived since. It returns how many registrations
// it keyed.
func (l *Lease) Open(ctx context.Context, state string, now time.Time, shuffle func([]string) error) (int, error) {
	var keyed int
	err := InTx(ctx, l.conn, func(tx pgx.Tx) error {
		// The worker records registrations under this lock: taking it
		// here means none is placed halfway through the shift below.
		if _, err := tx.Exec(ctx, lockStateQueue, state); err != nil {
			return fmt.Errorf("lock state queue: %w", err)
		}
		var opensAt *time.Time
		var opened bool
		if err := tx.QueryRow(ctx, lockQueueState, state).Scan(&opensAt, &opened); err != nil {
			return fmt.Errorf("lock state: %w", err)
		}
		// A queue state without opens_at has no early batch (the worker
		// keys every registration on arrival); a stray one counts from now.
		at := now
		if opensAt != nil {
			at = *opensAt
		}
		atKey := at.UnixMicro()
		if opened {
			tag, err := tx.Exec(ctx, keyStragglers, state, atKey)
			if err != nil {
				return fmt.Errorf("key late early registrations: %w", err)
			}
			keyed = int(tag.RowsAffected())
			return nil
		}
		rows, err := tx.Query(ctx, readEarly, state)
		if err != nil {
			return fmt.Errorf("read early registrations: %w", err)
		}
		refs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("read early registrations: %w", err)
		}
		if err := shuffle(refs); err != nil {
			return fmt.Errorf("shuffle: %w", err)
		}
		n := int64(len(refs))
		keys, places := make([]int64, n), make([]int64, n)
		for i := range n {
			keys[i], places[i] = atKey-n+i, i+1
		}
		if n > 0 {
			if _, err := tx.Exec(ctx, shiftPlaces, state, n); err != nil {
				return fmt.Errorf("move later places: %w", err)
			}
			if _, err := tx.Exec(ctx, setKeys, refs, keys, places); err != nil {
				return fmt.Errorf("key early registrations: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, markOpened, state, now); err != nil {
			return fmt.Errorf("mark opened: %w", err)
		}
		keyed = len(refs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", state, err)
	}
	return keyed, nil
}

// An invitation holds its place until it is used or the loop expires its
// registration: "unused" is the registration still invited. A booking with
// the invitation moves a place from held to booked, leaving free as it was.
const expireInvitations = `
UPDATE registrations r SET status = 'expired'
FROM invitations i
WHERE i.state_code = $1 AND i.used_at IS NULL AND i.expires_at <= $2
  AND r.reference = i.registration AND r.status = 'invited'`

// Expire turns the registrations whose invitations ran out unused by now
// expired, giving their places back; it returns how many.
func (l *Lease) Expire(ctx context.Context, state string, now time.Time) (int, error) {
	tag, err := l.conn.Exec(ctx, expireInvitations, state, now)
	if err != nil {
		return 0, fmt.Errorf("expire invitations of %s: %w", state, err)
	}
	return int(tag.RowsAffected()), nil
}

// Free places = what the state's open slots from today on (Malaysia's day,
// $2) have left, minus the places invitations hold.
const freePlaces = `
SELECT COALESCE((SELECT sum(GREATEST(s.capacity - s.booked, 0))
                 FROM slots s JOIN centers c ON c.id = s.center_id
                 WHERE c.state_code = $1 AND s.slot_date >= $2 AND s.closed_at IS NULL), 0)
     - (SELECT count(*) FROM invitations i JOIN registrations r ON r.reference = i.registration
        WHERE i.state_code = $1 AND i.used_at IS NULL AND r.status = 'invited')`

// SKIP LOCKED: a row another transaction is inviting is not waited for,
// and is not taken twice. A row from before migration 7 without its ID
// hash waits for `vaxbook pii backfill`: a token needs the hash.
const nextQueued = `
SELECT reference, id_hash FROM registrations
WHERE state_code = $1 AND status = 'queued' AND queue_key IS NOT NULL AND id_hash IS NOT NULL
ORDER BY queue_key, reference
LIMIT $2
FOR UPDATE SKIP LOCKED`

const insertInvitations = `
INSERT INTO invitations (token_hash, registration, state_code, id_hash, issued_at, expires_at)
SELECT v.token_hash, v.reference, $3, r.id_hash, $4, $5
FROM unnest($1::text[], $2::text[]) AS v (reference, token_hash)
JOIN registrations r ON r.reference = v.reference`

const setInvited = `UPDATE registrations SET status = 'invited' WHERE reference = ANY($1)`

// Invite invites, in one transaction, up to limit next queued registrants
// of state, never more than its free places: each gets an invitations row
// whose token_hash is hash(registration, idHash) (the caller signs with
// expiresAt) and turns invited. It returns how many it invited.
func (l *Lease) Invite(ctx context.Context, state string, now, expiresAt time.Time, limit int,
	hash func(registration, idHash string) string) (int, error) {
	var invited int
	err := InTx(ctx, l.conn, func(tx pgx.Tx) error {
		var free int64
		today := now.In(malaysia).Format(time.DateOnly)
		if err := tx.QueryRow(ctx, freePlaces, state, today).Scan(&free); err != nil {
			return fmt.Errorf("count free places: %w", err)
		}
		n := min(int64(limit), free)
		if n <= 0 {
			return nil
		}
		rows, err := tx.Query(ctx, nextQueued, state, n)
		if err != nil {
			return fmt.Errorf("lock next registrations: %w", err)
		}
		var refs, hashes []string
		var ref, idHash string
		_, err = pgx.ForEachRow(rows, []any{&ref, &idHash}, func() error {
			refs, hashes = append(refs, ref), append(hashes, hash(ref, idHash))
			return nil
		})
		if err != nil {
			return fmt.Errorf("lock next registrations: %w", err)
		}
		if len(refs) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, insertInvitations, refs, hashes, state, now, expiresAt); err != nil {
			return fmt.Errorf("insert invitations: %w", err)
		}
		if _, err := tx.Exec(ctx, setInvited, refs); err != nil {
			return fmt.Errorf("mark invited: %w", err)
		}
		invited = len(refs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("invite in %s: %w", state, err)
	}
	return invited, nil
}

// Outstanding invitations are few (at most the state's free places), and
// the partial index invitations_outstanding finds them.
const readUnnotified = `
SELECT r.reference, r.name, r.email, r.lang, r.contact, r.phone, r.id_hash, COALESCE(r.place, 0), i.expires_at
FROM invitations i JOIN registrations r ON r.reference = i.registration
WHERE i.state_code = $1 AND i.used_at IS NULL AND i.expires_at > $2
  AND i.notified_at IS NULL AND r.status = 'invited'
ORDER BY r.queue_key, r.reference
LIMIT $3`

// Unnotified returns up to limit invited registrations of state whose
// message was not queued yet, in queue order.
func (l *Lease) Unnotified(ctx context.Context, state string, now time.Time, limit int) ([]Invitee, error) {
	out, err := queryAll(ctx, l, func(r pgx.CollectableRow) (Invitee, error) {
		v := Invitee{Addressee: Addressee{State: state}}
		return v, r.Scan(v.scanTargets(&v.IDHash, &v.Place, &v.ExpiresAt)...)
	}, readUnnotified, state, now, limit)
	if err != nil {
		return nil, fmt.Errorf("read unnotified invitations of %s: %w", state, err)
	}
	return out, nil
}

const markInvitationsNotified = `
UPDATE invitations SET notified_at = $2 WHERE registration = ANY($1) AND notified_at IS NULL`

// MarkNotified records that the invitation messages of registrations were
// queued at.
func (l *Lease) MarkNotified(ctx context.Context, registrations []string, at time.Time) error {
	return l.markTold(ctx, markInvitationsNotified, registrations, at, "invitations notified")
}

const readUntoldExpired = `
SELECT reference, name, email, lang, contact, phone FROM registrations
WHERE state_code = $1 AND status = 'expired' AND expiry_notified_at IS NULL
ORDER BY reference
LIMIT $2`

// UntoldExpired returns up to limit expired registrations of state whose
// message was not queued yet.
func (l *Lease) UntoldExpired(ctx context.Context, state string, limit int) ([]Expiree, error) {
	out, err := queryAll(ctx, l, func(r pgx.CollectableRow) (Expiree, error) {
		v := Expiree{Addressee{State: state}}
		return v, r.Scan(v.scanTargets()...)
	}, readUntoldExpired, state, limit)
	if err != nil {
		return nil, fmt.Errorf("read untold expired registrations of %s: %w", state, err)
	}
	return out, nil
}

const markExpiredTold = `UPDATE registrations SET expiry_notified_at = $2 WHERE reference = ANY($1) AND expiry_notified_at IS NULL`

// MarkExpiredTold records that the expired messages of registrations were
// queued at.
func (l *Lease) MarkExpiredTold(ctx context.Context, registrations []string, at time.Time) error {
	return l.markTold(ctx, markExpiredTold, registrations, at, "expiries told")
}

// markTold runs a mark statement: $1 the registrations, $2 when.
func (l *Lease) markTold(ctx context.Context, sql string, registrations []string, at time.Time, what string) error {
	if _, err := l.conn.Exec(ctx, sql, registrations, at); err != nil {
		return fmt.Errorf("mark %d %s: %w", len(registrations), what, err)
	}
	return nil
}

const readInvitedThrough = `
SELECT COALESCE(max(r.place), 0)
FROM invitations i JOIN registrations r ON r.reference = i.registration
WHERE i.state_code = $1`

// InvitedThrough returns the highest place invited so far in state: the
// mark the API counts `ahead` from.
func (l *Lease) InvitedThrough(ctx context.Context, state string) (int64, error) {
	var n int64
	if err := l.conn.QueryRow(ctx, readInvitedThrough, state).Scan(&n); err != nil {
		return 0, fmt.Errorf("read invited-through mark of %s: %w", state, err)
	}
	return n, nil
}

// queryAll runs sql over the lease's connection and scans every row.
func queryAll[T any](ctx context.Context, l *Lease, scan pgx.RowToFunc[T], sql string, args ...any) ([]T, error) {
	rows, err := l.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

// Lost reports whether the lease's connection is gone, and the lock with
// it: the holder must stop and try to take the lease again.
func (l *Lease) Lost() bool { return l.conn.Conn().IsClosed() }

// malaysia is the day slots are dated in; fixed, as the container need
// not carry a time zone database.
var malaysia = time.FixedZone("MYT", 8*60*60)
