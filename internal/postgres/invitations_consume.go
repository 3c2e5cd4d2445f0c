package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/queue"
)

// ErrUnusableInvitation means a booking request carries an invitation that
// no row holds, or one issued to another person or for another state. The
// API refuses such tokens, so the message did not come from it as
// published: it is recorded and acknowledged, never booked.
var ErrUnusableInvitation = errors.New("invitation unknown, or issued to another person or state")

// The row lock makes the invitation's check and its consumption one step:
// two bookings with one token (which the per-person lock already
// serialises, the token being bound to one id_number) cannot both see it
// unused.
const lockInvitation = `
SELECT i.registration, i.state_code, COALESCE(i.id_hash, ''), i.expires_at, i.used_at IS NOT NULL,
       COALESCE(i.booking_reference, ''), r.name, r.phone, r.email, r.lang, r.contact
FROM invitations i
JOIN registrations r ON r.reference = i.registration
WHERE i.token_hash = $1
FOR UPDATE OF i`

// The registration turns booked whatever it showed: an invitation the API
// accepted before it expired is honoured even when the loop has expired it
// since (docs/queue.md).
const consumeInvitation = `
WITH used AS (
    UPDATE invitations SET used_at = now(), booking_reference = $2
    WHERE token_hash = $1 AND used_at IS NULL
    RETURNING registration
)
UPDATE registrations r SET status = 'booked'
FROM used WHERE r.reference = used.registration`

const registrationBookedBy = `SELECT registration FROM invitations WHERE booking_reference = $1`

// invitation is a locked invitations row with what its registration knows
// of the person.
type invitation struct {
	registration string
	expiresAt    time.Time
	used         bool
	bookedAs     string // the booking it made, once used
	name, phone  string
	email, lang  string
	contact      booking.Contact
}

// lockInvitationOf locks the invitation req carries and checks it was
// issued for req's person (idHash, the hash of req.IDNumber) and state.
func lockInvitationOf(ctx context.Context, tx pgx.Tx, req booking.Request, idHash string) (invitation, error) {
	var (
		inv          invitation
		state, bound string
	)
	err := tx.QueryRow(ctx, lockInvitation, queue.TokenHash(req.Invitation)).Scan(&inv.registration, &state, &bound,
		&inv.expiresAt, &inv.used, &inv.bookedAs, &inv.name, &inv.phone, &inv.email, &inv.lang, &inv.contact)
	if errors.Is(err, pgx.ErrNoRows) {
		return inv, ErrUnusableInvitation
	}
	if err != nil {
		return inv, fmt.Errorf("lock invitation: %w", err)
	}
	if state != req.State || bound != idHash {
		return inv, ErrUnusableInvitation
	}
	return inv, nil
}

// fill gives req the registration's name, contact and language where the
// submission left them out.
func (inv invitation) fill(req booking.Request) booking.Request {
	if req.Name == "" {
		req.Name = inv.name
	}
	if req.Phone == "" {
		req.Phone = inv.phone
	}
	if req.Email == "" {
		req.Email = inv.email
	}
	if req.Lang == "" {
		req.Lang = inv.lang
	}
	if req.Contact == "" {
		req.Contact = inv.contact
	}
	return req
}

// consume marks the invitation used by the booking reference and its
// registration booked.
func (inv invitation) consume(ctx context.Context, tx pgx.Tx, token, reference string) error {
	tag, err := tx.Exec(ctx, consumeInvitation, queue.TokenHash(token), reference)
	if err != nil {
		return fmt.Errorf("consume invitation of %s: %w", inv.registration, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("consume invitation of %s: %d registrations booked, want 1", inv.registration, tag.RowsAffected())
	}
	return nil
}

// bookedRegistration is the registration whose invitation the confirmed
// booking reference used, or "" when it used none.
func bookedRegistration(ctx context.Context, tx pgx.Tx, reference string) (string, error) {
	var reg string
	err := tx.QueryRow(ctx, registrationBookedBy, reference).Scan(&reg)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find invitation used by %s: %w", reference, err)
	}
	return reg, nil
}
