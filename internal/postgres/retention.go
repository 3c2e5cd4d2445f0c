package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrRetentionBusy means another retention pass or erasure holds
// RetentionLock: this one did nothing, and the next run catches up.
var ErrRetentionBusy = errors.New("another retention pass or erasure is running")

// Removed counts the rows a retention pass or an erasure changed, per
// table. Counters (slots.booked) are never among them.
type Removed struct {
	Bookings         int // personal data removed, row and place kept
	Registrations    int // personal data removed; a live one also ended
	Invitations      int // ID hash removed
	SentEmails       int // provider details removed
	RejectedMessages int // deleted
}

// What a booking keeps once its person's details are removed: reference,
// status, slot, state, preferences, language and times, which the counters
// and the statistics need and which name nobody. existing_reference goes
// too: it ties a duplicate attempt to the holder's booking, and so does
// the manage hash: with nobody to tell, nobody may cancel or change it.
const scrubBooking = `name = '', phone = '', email = '', id_hash = NULL, id_number = NULL,
    existing_reference = NULL, manage_hash = NULL, personal_data_removed_at = $1`

// A confirmed booking whose person attended is kept until the check-in
// ($3 = now - after) is past: attending is seed 000's "vaccination
// complete", from which the rules count, whatever day the slot was. One not
// checked in as attended is kept until its appointment's day ($2,
// Malaysia's date of now - after) is past (a centre may still ask who
// came). A cancelled one counts from its cancellation, not from when it was
// booked (older rows have no cancelled_at); one that got no place is of no
// use once decided.
const retainBookings = `
UPDATE bookings b SET ` + scrubBooking + `
WHERE b.personal_data_removed_at IS NULL
  AND CASE
      WHEN b.status = 'cancelled' THEN COALESCE(b.cancelled_at, b.processed_at) < $3
      WHEN b.status <> 'confirmed' THEN b.processed_at < $3
      WHEN b.attendance = 'attended' AND b.attendance_at IS NOT NULL THEN b.attendance_at < $3
      ELSE EXISTS (SELECT 1 FROM slots s WHERE s.id = b.slot_id AND s.slot_date < $2::date)
      END`

const scrubRegistration = `name = '', phone = '', email = '', id_hash = NULL, id_number = NULL,
    personal_data_removed_at = $1`

// Only a final registration (booked, expired, duplicate) loses its
// details: a live one is still waiting for, or holding, an invitation.
const retainRegistrations = `
WITH r AS (
    UPDATE registrations SET ` + scrubRegistration + `
    WHERE personal_data_removed_at IS NULL AND processed_at < $2
      AND status IN ('booked', 'expired', 'duplicate')
    RETURNING reference
)
SELECT reference FROM r`

const scrubInvitations = `
UPDATE invitations SET id_hash = NULL, id_number = NULL
WHERE registration = ANY($1) AND (id_hash IS NOT NULL OR id_number IS NOT NULL)`

// The send-once rows stay (a stray redelivery must still find them); what
// the provider said, which may quote the address, goes, and so does the
// recipient's hash, which ties the row to an address.
const retainSentEmails = `
UPDATE sent_emails SET detail = '', provider_id = '', recipient = ''
WHERE recorded_at < $1 AND (detail <> '' OR provider_id <> '' OR recipient <> '')`

// A day's message counts matter only on that day (the daily cap).
const purgeMessageCaps = `DELETE FROM message_caps WHERE day < ($1::timestamptz AT TIME ZONE 'Asia/Kuala_Lumpur')::date - 1`

const purgeRejected = `DELETE FROM rejected_messages WHERE received_at < $1`

// RetentionPolicy says how long personal data is kept.
type RetentionPolicy struct {
	// After is how long a person's details are kept after their check-in
	// as attended, else after the appointment's day; for a cancelled
	// booking after its cancellation, and for what got no appointment
	// after it was decided.
	After time.Duration
	// Rejected is how long a rejected message's excerpt is kept.
	Rejected time.Duration
}

// Retain removes, in one transaction under RetentionLock, the personal
// data policy no longer allows keeping at now. Rows younger than the
// cutoffs, live registrations and every counter are left as they are.
func Retain(ctx context.Context, pool *pgxpool.Pool, policy RetentionPolicy, now time.Time) (Removed, error) {
	var out Removed
	cutoff := now.Add(-policy.After)
	err := InTx(ctx, pool, func(tx pgx.Tx) error {
		if err := lockRetention(ctx, tx); err != nil {
			return err
		}
		lastDay := cutoff.In(malaysia).Format(time.DateOnly)
		tag, err := tx.Exec(ctx, retainBookings, now, lastDay, cutoff)
		if err != nil {
			return fmt.Errorf("remove booking details: %w", err)
		}
		out.Bookings = int(tag.RowsAffected())
		regs, err := scrubRegistrations(ctx, tx, retainRegistrations, now, cutoff)
		if err != nil {
			return err
		}
		out.Registrations = len(regs)
		if out.Invitations, err = scrubInvitationsOf(ctx, tx, regs); err != nil {
			return err
		}
		if tag, err = tx.Exec(ctx, retainSentEmails, cutoff); err != nil {
			return fmt.Errorf("remove sent e-mail details: %w", err)
		}
		out.SentEmails = int(tag.RowsAffected())
		if _, err = tx.Exec(ctx, purgeMessageCaps, now); err != nil {
			return fmt.Errorf("purge message counts: %w", err)
		}
		if tag, err = tx.Exec(ctx, purgeRejected, now.Add(-policy.Rejected)); err != nil {
			return fmt.Errorf("purge rejected messages: %w", err)
		}
		out.RejectedMessages = int(tag.RowsAffected())
		return nil
	})
	if err != nil {
		return Removed{}, fmt.Errorf("retention: %w", err)
	}
	return out, nil
}

func lockRetention(ctx context.Context, tx pgx.Tx) error {
	var got bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(RetentionLock)).Scan(&got); err != nil {
		return fmt.Errorf("try %s: %w", RetentionLock, err)
	}
	if !got {
		return ErrRetentionBusy
	}
	return nil
}

func scrubRegistrations(ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]string, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("remove registration details: %w", err)
	}
	refs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("remove registration details: %w", err)
	}
	return refs, nil
}

func scrubInvitationsOf(ctx context.Context, tx pgx.Tx, registrations []string) (int, error) {
	if len(registrations) == 0 {
		return 0, nil
	}
	tag, err := tx.Exec(ctx, scrubInvitations, registrations)
	if err != nil {
		return 0, fmt.Errorf("remove invitation ID hashes: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
