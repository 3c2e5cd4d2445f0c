package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pii"
)

// Bookings runs the worker's transaction.
type Bookings struct {
	pool   *pgxpool.Pool
	ids    *pii.Pepper
	manage *booking.ManageSigner // nil: no manage links
}

// NewBookings wraps a pool; ids hashes the ID numbers it stores and looks
// up (ID_PEPPER), so no raw ID number reaches Postgres.
func NewBookings(pool *pgxpool.Pool, ids *pii.Pepper) *Bookings {
	return &Bookings{pool: pool, ids: ids}
}

// WithManage gives every confirmed booking a manage token signed with s:
// its hash is stored with the booking and the token goes in the outcome,
// for the confirmation's link. Without it (no MANAGE_SECRET) bookings have
// no manage link and cannot be cancelled or changed by their person.
func (b *Bookings) WithManage(s *booking.ManageSigner) *Bookings {
	c := *b
	c.manage = s
	return &c
}

// The per-person advisory lock serialises every message about one person,
// including two deliveries of the same message, so the duplicate check and
// the idempotency check below cannot race. Messages about different people
// only meet on the slot rows. It is keyed on the ID hash, like everything
// else the database sees of the person.
const lockPerson = `SELECT pg_advisory_xact_lock(hashtextextended($1, ` + personLockSeed + `))`

// One read answers both questions: has this reference been decided already
// (a redelivery), and does this person already hold a confirmed place? The
// existing_reference a duplicate stores stays in Postgres: it says whom the
// attempt was told to, and is never shown or sent to the submitter.
const findPrior = `
SELECT b.reference, b.status, COALESCE(b.existing_reference, ''),
       COALESCE(s.id, ''), COALESCE(c.id, ''), COALESCE(c.name, ''), COALESCE(c.address, ''),
       COALESCE(to_char(s.slot_date, 'YYYY-MM-DD'), ''), COALESCE(s.time_range, ''), b.lang,
       b.name, b.email, b.state_code, b.preferences, b.processed_at, b.manage_hash IS NOT NULL, b.phone, b.contact
FROM bookings b
LEFT JOIN slots s ON s.id = b.slot_id
LEFT JOIN centers c ON c.id = s.center_id
WHERE b.reference = $1 OR (b.id_hash = $2 AND b.status = 'confirmed')`

// The conditional UPDATE is the whole overbooking defence: the row lock makes
// concurrent bumps queue, and Postgres re-checks booked < capacity on the
// newest row version after the wait, so the last place goes to one booking.
// A closed session takes nobody, even in a place given back while it closes.
const takePlace = `
UPDATE slots s SET booked = s.booked + 1
FROM centers c
WHERE s.id = $1 AND s.booked < s.capacity AND s.closed_at IS NULL AND c.id = s.center_id
RETURNING s.id, c.id, c.name, c.address, to_char(s.slot_date, 'YYYY-MM-DD'), s.time_range`

const insertBooking = `
INSERT INTO bookings (reference, id_hash, status, slot_id, existing_reference, state_code,
                      name, phone, email, lang, preferences, message_id, submitted_at, manage_hash, contact)
VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6, $7, $8, $9, $10, $11, $12, $13, NULLIF($14, ''), $15)
RETURNING processed_at`

// For a full booking's e-mail: the person's choices as they stand, most
// wanted first.
const choicesOf = `
SELECT s.id, c.id, c.name, c.address, to_char(s.slot_date, 'YYYY-MM-DD'), s.time_range
FROM unnest($1::text[]) WITH ORDINALITY AS p (slot_id, n)
JOIN slots s ON s.id = p.slot_id
JOIN centers c ON c.id = s.center_id
ORDER BY p.n`

// Decide decides a booking request in one transaction and returns the
// status record to show, what the e-mail to the person needs and, for a
// duplicate, the holder to tell. A reference decided before returns what was
// stored for it unchanged, so a redelivery can ask for the same e-mails
// again.
func (b *Bookings) Decide(ctx context.Context, req booking.Request, messageID string) (booking.Outcome, error) {
	var o booking.Outcome
	err := InTx(ctx, b.pool, func(tx pgx.Tx) error {
		var err error
		o, err = book(ctx, tx, req, b.ids.Hash(req.IDNumber), messageID, b.manage)
		return err
	})
	if err != nil {
		return booking.Outcome{}, fmt.Errorf("book %s: %w", req.Reference, err)
	}
	return o, nil
}

func book(ctx context.Context, tx pgx.Tx, req booking.Request, idHash, messageID string, manage *booking.ManageSigner) (booking.Outcome, error) {
	rec := booking.StatusRecord{Reference: req.Reference, Lang: req.Lang}
	out := booking.Outcome{Name: req.Name, Email: req.Email, State: req.State, Phone: req.Phone, Contact: req.Contact.Or()}

	batch := &pgx.Batch{}
	batch.Queue(lockPerson, idHash)
	batch.Queue(findPrior, req.Reference, idHash)
	br := tx.SendBatch(ctx, batch)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return out, fmt.Errorf("lock person: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return out, fmt.Errorf("find prior bookings: %w", err)
	}
	// Both rows may come back, in either order: this reference's, when it
	// was decided before, and the person's confirmed booking, whose holder
	// a duplicate tells of the attempt.
	var (
		prior      *booking.Outcome
		priorPrefs []string
		priorOther string // the existing_reference stored with prior
		holder     *booking.Holder
	)
	for rows.Next() {
		var r booking.StatusRecord
		var s booking.SlotInfo
		var o booking.Outcome
		var other string
		var prefs []string
		if err := rows.Scan(&r.Reference, &r.Status, &other,
			&s.ID, &s.CenterID, &s.CenterName, &s.Address, &s.Date, &s.Time, &r.Lang,
			&o.Name, &o.Email, &o.State, &prefs, &o.DecidedAt, &o.ManageStored, &o.Phone, &o.Contact); err != nil {
			rows.Close()
			br.Close()
			return out, fmt.Errorf("scan prior booking: %w", err)
		}
		if s.ID != "" {
			r.Slot = &s
		}
		o.Record = r
		if r.Reference == req.Reference {
			prior, priorPrefs, priorOther = &o, prefs, other
			continue
		}
		holder = &booking.Holder{Reference: r.Reference, Email: o.Email, Lang: r.Lang, Phone: o.Phone, Contact: o.Contact}
	}
	rows.Close()
	if err := br.Close(); err != nil {
		return out, fmt.Errorf("find prior bookings: %w", err)
	}
	if prior != nil {
		// A redelivery tells the same holder again; the send-once record
		// keeps it to one message.
		if prior.Record.Status == booking.StatusDuplicate && holder != nil && holder.Reference == priorOther {
			prior.Holder = holder
		}
		// A redelivery writes the registration's booked record again.
		if prior.Record.Status == booking.StatusConfirmed && req.Invitation != "" {
			if prior.Registration, err = bookedRegistration(ctx, tx, req.Reference); err != nil {
				return out, err
			}
		}
		// The token is the same every time it is signed; only a booking
		// stored with its hash gets one (it may predate manage links).
		if prior.Record.Status == booking.StatusConfirmed && manage != nil && prior.ManageStored {
			prior.Manage = manage.Sign(req.Reference, prior.State)
		}
		return withChoices(ctx, tx, *prior, priorPrefs)
	}

	// A queue state's booking holds its invitation locked until commit and
	// takes what the person was not asked again from its registration.
	var inv *invitation
	if req.Invitation != "" {
		i, err := lockInvitationOf(ctx, tx, req, idHash)
		if err != nil {
			return out, err
		}
		inv, req = &i, i.fill(req)
		out.Name, out.Email, rec.Lang = req.Name, req.Email, req.Lang
		out.Phone, out.Contact = req.Phone, req.Contact.Or()
	}

	existing := ""
	switch {
	case holder != nil:
		rec.Status = booking.StatusDuplicate
		existing = holder.Reference
		out.Holder = holder
	case inv != nil && inv.used:
		// Bound to this id_number, so the booking it made is normally the
		// holder found above; the row is the last word all the same.
		rec.Status = booking.StatusDuplicate
		existing = inv.bookedAs
	case inv != nil && !req.SubmittedAt.Before(inv.expiresAt):
		// Accepted by an API whose clock ran behind: refused, and the
		// invitation stays as it was.
		rec.Status = booking.StatusFull
	default:
		rec.Status = booking.StatusFull
		for _, slotID := range req.Preferences {
			var s booking.SlotInfo
			err := tx.QueryRow(ctx, takePlace, slotID).Scan(&s.ID, &s.CenterID, &s.CenterName, &s.Address, &s.Date, &s.Time)
			if errors.Is(err, pgx.ErrNoRows) {
				continue // full, or no such slot any more
			}
			if err != nil {
				return out, fmt.Errorf("take place in %s: %w", slotID, err)
			}
			rec.Status = booking.StatusConfirmed
			rec.Slot = &s
			break
		}
	}

	slotID, manageHash := "", ""
	if rec.Slot != nil {
		slotID = rec.Slot.ID
		if manage != nil {
			out.Manage = manage.Sign(req.Reference, req.State)
			manageHash = booking.ManageTokenHash(out.Manage)
		}
	}
	err = tx.QueryRow(ctx, insertBooking, req.Reference, idHash, string(rec.Status), slotID,
		existing, req.State, req.Name, req.Phone, req.Email, req.Lang,
		req.Preferences, messageID, req.SubmittedAt, manageHash, string(out.Contact)).Scan(&out.DecidedAt)
	if err != nil {
		return out, fmt.Errorf("insert booking: %w", err)
	}
	// Only a confirmed booking uses the invitation: after full the person
	// chooses again with the same link.
	if inv != nil && rec.Status == booking.StatusConfirmed {
		if err := inv.consume(ctx, tx, req.Invitation, req.Reference); err != nil {
			return out, err
		}
		out.Registration = inv.registration
	}
	out.Record = rec
	return withChoices(ctx, tx, out, req.Preferences)
}

// withChoices adds, for a full booking only, the slots the person chose:
// the e-mail says which were taken.
func withChoices(ctx context.Context, tx pgx.Tx, o booking.Outcome, prefs []string) (booking.Outcome, error) {
	if o.Record.Status != booking.StatusFull {
		return o, nil
	}
	rows, err := tx.Query(ctx, choicesOf, prefs)
	if err != nil {
		return o, fmt.Errorf("read choices: %w", err)
	}
	o.Taken, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (booking.SlotInfo, error) {
		var s booking.SlotInfo
		err := row.Scan(&s.ID, &s.CenterID, &s.CenterName, &s.Address, &s.Date, &s.Time)
		return s, err
	})
	if err != nil {
		return o, fmt.Errorf("read choices: %w", err)
	}
	return o, nil
}

// RejectedMessage is a push message the worker could not use.
type RejectedMessage struct {
	MessageID    string
	Subscription string
	Data         []byte
	Attributes   map[string]string
	Reason       string
}

const insertRejected = `
INSERT INTO rejected_messages (message_id, subscription, data, attributes, reason)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (message_id) DO NOTHING`

// Reject records a message for a human to look at, as a redacted excerpt
// (see excerpt); recording it twice keeps the first.
func (b *Bookings) Reject(ctx context.Context, m RejectedMessage) error {
	return reject(ctx, b.pool, m)
}

// reject stores m redacted and bounded (rejected.go): never the message
// itself.
func reject(ctx context.Context, pool *pgxpool.Pool, m RejectedMessage) error {
	attrs, err := json.Marshal(redactAttributes(m.Attributes))
	if err != nil {
		return fmt.Errorf("encode attributes of %s: %w", m.MessageID, err)
	}
	id := clip(m.MessageID, maxRejectedIDLen)
	if _, err := pool.Exec(ctx, insertRejected, id, clip(m.Subscription, maxSubscriptionLen), excerpt(m.Data), attrs, clip(m.Reason, maxReasonLen)); err != nil {
		return fmt.Errorf("record rejected message %s: %w", m.MessageID, err)
	}
	return nil
}

// Ping checks the database answers, for readiness.
func (b *Bookings) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return b.pool.Ping(ctx)
}
