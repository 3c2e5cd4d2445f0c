package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Erased is what an erasure changed, and which references it touched.
type Erased struct {
	Removed
	BookingRefs      []string // bookings whose details were removed
	RegistrationRefs []string // registrations whose details were removed
	EndedRefs        []string // live registrations ended (queued or invited before)
}

// The person's ID hashes, from the reference an operator was given: both
// tables, since a reference names a booking or a registration.
const idHashesOf = `
SELECT id_hash FROM bookings WHERE reference = $1 AND id_hash IS NOT NULL
UNION
SELECT id_hash FROM registrations WHERE reference = $1 AND id_hash IS NOT NULL`

// A confirmed booking keeps its slot, so slots.booked still counts it:
// nothing the counters depend on changes, only who it was for.
const eraseBookings = `
UPDATE bookings SET ` + scrubBooking + `
WHERE id_hash = ANY($2) OR reference = $3
RETURNING reference`

const liveRegistrationsOf = `
SELECT reference FROM registrations
WHERE (id_hash = ANY($1) OR reference = $2) AND status IN ('queued', 'invited')`

// A live registration cannot keep its place without anyone to invite: it
// ends expired, marked told so that no "expired" message goes out (there
// is no address left to send it to), and its invitation's place goes back.
const eraseRegistrations = `
WITH r AS (
    UPDATE registrations SET ` + scrubRegistration + `,
        status = CASE WHEN status IN ('queued', 'invited') THEN 'expired' ELSE status END,
        expiry_notified_at = CASE WHEN status IN ('queued', 'invited') THEN $1 ELSE expiry_notified_at END
    WHERE id_hash = ANY($2) OR reference = $3
    RETURNING reference
)
SELECT reference FROM r`

const eraseSentEmails = `
UPDATE sent_emails SET detail = '', provider_id = '', recipient = ''
WHERE reference = ANY($1) AND (detail <> '' OR provider_id <> '' OR recipient <> '')`

// Erase removes one person's details everywhere, found by idHash (their
// ID number's hash; empty when unknown) or by a reference of theirs (empty
// when not given): every booking and registration with that hash or
// reference, their invitations and the provider details of the messages
// sent about them. It waits for a running retention pass.
func Erase(ctx context.Context, pool *pgxpool.Pool, idHash, reference string, now time.Time) (Erased, error) {
	var out Erased
	err := InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(RetentionLock)); err != nil {
			return fmt.Errorf("take %s: %w", RetentionLock, err)
		}
		hashes := []string{}
		if idHash != "" {
			hashes = append(hashes, idHash)
		}
		if reference != "" {
			rows, err := tx.Query(ctx, idHashesOf, reference)
			if err != nil {
				return fmt.Errorf("find the person of %s: %w", reference, err)
			}
			more, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("find the person of %s: %w", reference, err)
			}
			hashes = append(hashes, more...)
		}
		rows, err := tx.Query(ctx, eraseBookings, now, hashes, reference)
		if err != nil {
			return fmt.Errorf("erase bookings: %w", err)
		}
		if out.BookingRefs, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fmt.Errorf("erase bookings: %w", err)
		}
		if rows, err = tx.Query(ctx, liveRegistrationsOf, hashes, reference); err != nil {
			return fmt.Errorf("find live registrations: %w", err)
		}
		if out.EndedRefs, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fmt.Errorf("find live registrations: %w", err)
		}
		if out.RegistrationRefs, err = scrubRegistrations(ctx, tx, eraseRegistrations, now, hashes, reference); err != nil {
			return err
		}
		if out.Removed.Invitations, err = scrubInvitationsOf(ctx, tx, out.RegistrationRefs); err != nil {
			return err
		}
		refs := append(append([]string{}, out.BookingRefs...), out.RegistrationRefs...)
		tag, err := tx.Exec(ctx, eraseSentEmails, refs)
		if err != nil {
			return fmt.Errorf("erase sent e-mail details: %w", err)
		}
		out.Removed.SentEmails = int(tag.RowsAffected())
		out.Removed.Bookings, out.Removed.Registrations = len(out.BookingRefs), len(out.RegistrationRefs)
		return nil
	})
	if err != nil {
		return Erased{}, fmt.Errorf("erase: %w", err)
	}
	return out, nil
}
