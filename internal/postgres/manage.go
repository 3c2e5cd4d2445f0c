package postgres

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// ErrManageRefused means a cancel or change carried a token that does not
// act on its booking: the booking has no manage hash (made before manage
// links, or its person's details were removed) or another one. The API
// only queues tokens signed with MANAGE_SECRET, so the message is not one
// to deliver again.
var ErrManageRefused = errors.New("the manage token does not act on this booking")

// The booking row is the lock every request about one booking queues on:
// a cancel and a change, or two deliveries of one, run one after the other,
// and the second sees what the first committed.
const lockBooking = `
SELECT status, COALESCE(manage_hash, ''), sequence, name, email, lang, state_code, COALESCE(slot_id, ''), phone, contact
FROM bookings WHERE reference = $1 FOR UPDATE`

const findChange = `
SELECT outcome, COALESCE(to_slot, ''), sequence, decided_at FROM booking_changes WHERE request = $1`

const insertChange = `
INSERT INTO booking_changes (request, booking, action, outcome, from_slot, to_slot, sequence, message_id, requested_at)
VALUES ($1, $2, $3, $4, NULLIF($5, ''), NULLIF($6, ''), $7, $8, $9)
RETURNING decided_at`

// The place goes back in the same transaction that marks the booking, so
// the counter always equals the confirmed bookings.
const releasePlace = `UPDATE slots SET booked = booked - 1 WHERE id = $1`

const cancelBooking = `
UPDATE bookings SET status = 'cancelled', cancelled_at = now(), sequence = sequence + 1
WHERE reference = $1 RETURNING sequence`

const moveBooking = `
UPDATE bookings SET slot_id = $2, sequence = sequence + 1 WHERE reference = $1 RETURNING sequence`

// A change touches two slot rows; taking them in id order means two changes
// in opposite directions cannot deadlock. A booking's transaction holds one
// slot row at a time, so it cannot close a cycle either.
const lockSlots = `SELECT id FROM slots WHERE id = ANY($1) ORDER BY id FOR UPDATE`

const findForResend = `
SELECT b.name, b.email, b.lang, b.state_code, b.slot_id, b.phone, b.contact
FROM bookings b
WHERE b.reference = $1 AND b.id_hash = $2 AND b.status = 'confirmed' AND b.manage_hash IS NOT NULL`

// held is the booking row as lockBooking reads it.
type held struct {
	status   booking.Status
	hash     string
	sequence int
	name     string
	email    string
	lang     string
	state    string
	slot     string
	phone    string
	contact  booking.Contact
}

// Manage decides a cancel or a change in one transaction. A request
// decided before (a redelivery, or a twin that waited on the booking's
// lock) returns what was decided, so the records and the message can be
// asked for again; nothing changes twice.
func (b *Bookings) Manage(ctx context.Context, m booking.ManageRequest, messageID string) (booking.ManageOutcome, error) {
	var o booking.ManageOutcome
	err := InTx(ctx, b.pool, func(tx pgx.Tx) error {
		var err error
		o, err = manage(ctx, tx, m, messageID)
		return err
	})
	if err != nil {
		return booking.ManageOutcome{}, fmt.Errorf("%s %s for %s: %w", m.Action, m.Request, m.Booking, err)
	}
	return o, nil
}

func manage(ctx context.Context, tx pgx.Tx, m booking.ManageRequest, messageID string) (booking.ManageOutcome, error) {
	h, err := lockHeld(ctx, tx, m.Booking)
	if errors.Is(err, pgx.ErrNoRows) {
		return booking.ManageOutcome{}, ErrManageRefused
	}
	if err != nil {
		return booking.ManageOutcome{}, err
	}
	want := booking.ManageTokenHash(m.Token)
	if h.hash == "" || subtle.ConstantTimeCompare([]byte(h.hash), []byte(want)) != 1 {
		return booking.ManageOutcome{}, ErrManageRefused
	}
	return decide(ctx, tx, m, h, messageID)
}

// lockHeld takes the booking's row lock and reads it.
func lockHeld(ctx context.Context, tx pgx.Tx, reference string) (held, error) {
	var h held
	err := tx.QueryRow(ctx, lockBooking, reference).Scan(&h.status, &h.hash, &h.sequence, &h.name, &h.email, &h.lang, &h.state, &h.slot, &h.phone, &h.contact)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("lock booking: %w", err)
	}
	return h, err
}

// decide carries out a request on a booking whose lock the transaction
// holds: the person's, once their token matched, or staff closing its
// session.
func decide(ctx context.Context, tx pgx.Tx, m booking.ManageRequest, h held, messageID string) (booking.ManageOutcome, error) {
	o := booking.ManageOutcome{Name: h.name, Email: h.email, Phone: h.phone, Contact: h.contact, State: h.state, Sequence: h.sequence}
	var err error

	var (
		outcome booking.Status
		toSlot  string
	)
	err = tx.QueryRow(ctx, findChange, m.Request).Scan(&outcome, &toSlot, &o.Sequence, &o.DecidedAt)
	switch {
	case err == nil:
		// Decided before: the booking row as it stands is the record.
	case !errors.Is(err, pgx.ErrNoRows):
		return o, fmt.Errorf("find request: %w", err)
	case h.status != booking.StatusConfirmed:
		// Cancelled before: nothing to cancel or move any more.
		outcome = booking.StatusCancelled
		if o.DecidedAt, err = recordChange(ctx, tx, m, outcome, h.slot, "", h.sequence, messageID); err != nil {
			return o, err
		}
	case m.Action == booking.ActionCancel:
		outcome = booking.StatusCancelled
		if _, err := tx.Exec(ctx, releasePlace, h.slot); err != nil {
			return o, fmt.Errorf("release %s: %w", h.slot, err)
		}
		if err := tx.QueryRow(ctx, cancelBooking, m.Booking).Scan(&o.Sequence); err != nil {
			return o, fmt.Errorf("cancel: %w", err)
		}
		h.status, h.sequence = booking.StatusCancelled, o.Sequence
		if o.DecidedAt, err = recordChange(ctx, tx, m, outcome, h.slot, "", o.Sequence, messageID); err != nil {
			return o, err
		}
	default:
		if outcome, toSlot, err = move(ctx, tx, m, h.slot); err != nil {
			return o, err
		}
		if outcome == booking.StatusChanged {
			if err := tx.QueryRow(ctx, moveBooking, m.Booking, toSlot).Scan(&o.Sequence); err != nil {
				return o, fmt.Errorf("move: %w", err)
			}
			h.slot, h.sequence = toSlot, o.Sequence
		}
		if o.DecidedAt, err = recordChange(ctx, tx, m, outcome, h.slot, toSlot, o.Sequence, messageID); err != nil {
			return o, err
		}
	}

	// The booking as it now stands: a redelivery reads it again, since a
	// later request may have moved or cancelled it meanwhile.
	slot, err := slotInfo(ctx, tx, h.slot)
	if err != nil {
		return o, err
	}
	o.Booking = booking.StatusRecord{Reference: m.Booking, Status: h.status, Slot: &slot, Lang: h.lang, Sequence: h.sequence}
	o.Request = booking.StatusRecord{Reference: m.Request, Status: outcome, Lang: h.lang}
	if outcome == booking.StatusChanged {
		to, err := slotInfo(ctx, tx, toSlot)
		if err != nil {
			return o, err
		}
		o.Request.Slot = &to
	}
	// A full change leaves everything as it was: the page says so, and no
	// message is due.
	o.Notify = outcome != booking.StatusFull
	return o, nil
}

// move takes the first preference with room other than the booking's own
// slot, and gives that slot's place back; or, when none has room, changes
// nothing and answers full.
func move(ctx context.Context, tx pgx.Tx, m booking.ManageRequest, from string) (booking.Status, string, error) {
	if _, err := tx.Exec(ctx, lockSlots, append([]string{from}, m.Preferences...)); err != nil {
		return "", "", fmt.Errorf("lock slots: %w", err)
	}
	for _, to := range m.Preferences {
		if to == from {
			continue
		}
		var s booking.SlotInfo
		err := tx.QueryRow(ctx, takePlace, to).Scan(&s.ID, &s.CenterID, &s.CenterName, &s.Address, &s.Date, &s.Time)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return "", "", fmt.Errorf("take place in %s: %w", to, err)
		}
		if _, err := tx.Exec(ctx, releasePlace, from); err != nil {
			return "", "", fmt.Errorf("release %s: %w", from, err)
		}
		return booking.StatusChanged, to, nil
	}
	return booking.StatusFull, "", nil
}

func recordChange(ctx context.Context, tx pgx.Tx, m booking.ManageRequest, outcome booking.Status, from, to string, seq int, messageID string) (time.Time, error) {
	var at time.Time
	if err := tx.QueryRow(ctx, insertChange, m.Request, m.Booking, string(m.Action), string(outcome),
		from, to, seq, messageID, m.RequestedAt).Scan(&at); err != nil {
		return at, fmt.Errorf("record request: %w", err)
	}
	return at, nil
}

const slotByID = `
SELECT s.id, c.id, c.name, c.address, to_char(s.slot_date, 'YYYY-MM-DD'), s.time_range
FROM slots s JOIN centers c ON c.id = s.center_id WHERE s.id = $1`

func slotInfo(ctx context.Context, db RowQuerier, id string) (booking.SlotInfo, error) {
	var s booking.SlotInfo
	if err := db.QueryRow(ctx, slotByID, id).Scan(&s.ID, &s.CenterID, &s.CenterName, &s.Address, &s.Date, &s.Time); err != nil {
		return s, fmt.Errorf("read slot %s: %w", id, err)
	}
	return s, nil
}

// Resend finds the confirmed booking under reference whose person has
// idNumber, for sending its manage link again. Found is false when they do
// not match, which only the worker's log may tell.
func (b *Bookings) Resend(ctx context.Context, m booking.ManageRequest) (booking.ManageOutcome, error) {
	o := booking.ManageOutcome{DecidedAt: m.RequestedAt}
	var lang, slot string
	err := b.pool.QueryRow(ctx, findForResend, m.Booking, b.ids.Hash(m.IDNumber)).Scan(&o.Name, &o.Email, &lang, &o.State, &slot, &o.Phone, &o.Contact)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, nil
	}
	if err != nil {
		return o, fmt.Errorf("find booking %s for resend: %w", m.Booking, err)
	}
	s, err := slotInfo(ctx, b.pool, slot)
	if err != nil {
		return o, err
	}
	o.Booking = booking.StatusRecord{Reference: m.Booking, Status: booking.StatusConfirmed, Slot: &s, Lang: lang}
	o.Found, o.Notify = true, true
	return o, nil
}
