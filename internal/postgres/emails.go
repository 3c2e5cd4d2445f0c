package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pii"
)

// Emails keeps the record of messages sent on every channel (the table
// kept its first name, sent_emails), so each is sent once however often its
// request is delivered; it also holds back messages to addresses that
// bounced and past the recipient's daily cap.
type Emails struct {
	pool     *pgxpool.Pool
	ids      *pii.Pepper
	dailyCap int
}

// NewEmails wraps a pool. Recipients are hashed with the dev pepper and
// uncapped until Guarded says otherwise.
func NewEmails(pool *pgxpool.Pool) *Emails { return &Emails{pool: pool, ids: pii.Dev()} }

// Guarded is e with recipients hashed under ids (ID_PEPPER) and at most
// dailyCap messages per recipient per day, Malaysia time (0: no cap).
func (e *Emails) Guarded(ids *pii.Pepper, dailyCap int) *Emails {
	return &Emails{pool: e.pool, ids: ids, dailyCap: dailyCap}
}

// A different key space from lockPerson's, so a message never waits on a
// booking.
const tryLockEmail = `SELECT pg_try_advisory_xact_lock(hashtextextended($1, ` + emailSendLockSeed + `))`

const findSent = `
SELECT outcome, provider_status, provider_id, detail
FROM sent_emails WHERE reference = $1 AND kind = $2 AND channel = $3`

const insertSent = `
INSERT INTO sent_emails (reference, kind, outcome, provider_status, provider_id, detail,
                         message_id, delivery_attempt, requested_at, channel, recipient)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

const isUndeliverable = `SELECT EXISTS (SELECT 1 FROM undeliverable_contacts WHERE recipient = $1)`

// The row lock on the recipient's day orders concurrent sends to one
// address, so the cap holds exactly; no row back means the day is full.
const bumpCap = `
INSERT INTO message_caps (recipient, day, sent)
VALUES ($1, (now() AT TIME ZONE 'Asia/Kuala_Lumpur')::date, 1)
ON CONFLICT (recipient, day) DO UPDATE SET sent = message_caps.sent + 1
WHERE message_caps.sent < $2
RETURNING sent`

// Recipient is the stored form of an address on a channel: a keyed hash,
// so the record ties bounces and caps to an address without holding it.
func (e *Emails) Recipient(ch notify.Channel, address string) string {
	if address == "" {
		return ""
	}
	return e.ids.Hash(string(ch) + ":" + strings.ToLower(strings.TrimSpace(address)))
}

// SendOnce calls send unless the message was finished before, and records
// what send reports, all in one transaction that holds a lock on the
// e-mail's key from before the check until after the record commits. So a
// redelivery finds the record and a concurrent twin gets notify.ErrBusy; the
// one gap is a crash (or a lost commit) after the provider accepted and
// before the record committed, when the next delivery sends again.
//
// A send error is returned as it is and nothing is recorded: the caller
// decides whether it is worth another try. already reports an outcome found
// rather than made.
func (e *Emails) SendOnce(ctx context.Context, k notify.Key, d notify.Delivery, send func(context.Context) (notify.Outcome, error)) (out notify.Outcome, already bool, err error) {
	// An e-mail's lock name is the one releases before SMS took, so
	// instances of both running side by side during a rollout still send
	// once; another channel's joins its name.
	lockName := k.Reference + "/" + string(k.Kind)
	if k.Channel != notify.ChannelEmail {
		lockName += "/" + string(k.Channel)
	}
	recipient := e.Recipient(k.Channel, d.Recipient)
	err = InTx(ctx, e.pool, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		batch.Queue(tryLockEmail, lockName)
		batch.Queue(findSent, k.Reference, k.Kind, k.Channel)
		br := tx.SendBatch(ctx, batch)
		var locked bool
		if err := br.QueryRow().Scan(&locked); err != nil {
			br.Close()
			return fmt.Errorf("lock message: %w", err)
		}
		// Read the record even when the lock is refused: a finished
		// message is the answer whoever holds the lock now.
		err := br.QueryRow().Scan(&out.Result, &out.ProviderStatus, &out.ProviderID, &out.Detail)
		if cerr := br.Close(); err == nil && cerr != nil {
			err = cerr
		}
		switch {
		case err == nil:
			already = true
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("find sent message: %w", err)
		case !locked:
			return notify.ErrBusy
		}

		out, err = e.guard(ctx, tx, recipient)
		if err == nil && out.Result == "" {
			out, err = send(ctx)
		}
		if err != nil {
			return err
		}
		var requested *time.Time
		if !d.RequestedAt.IsZero() {
			requested = &d.RequestedAt
		}
		if _, err := tx.Exec(ctx, insertSent, k.Reference, k.Kind, out.Result, out.ProviderStatus,
			out.ProviderID, out.Detail, d.MessageID, d.Attempt, requested, k.Channel, recipient); err != nil {
			return fmt.Errorf("record sent message: %w", err)
		}
		return nil
	})
	if err != nil {
		return notify.Outcome{}, false, fmt.Errorf("message %s: %w", k, err)
	}
	return out, already, nil
}

// guard is the outcome of a message that must not be sent: to an address
// that bounced, or past its recipient's cap for the day. An empty Result
// lets it go (and counts it against the cap, in the caller's transaction).
func (e *Emails) guard(ctx context.Context, tx pgx.Tx, recipient string) (notify.Outcome, error) {
	if recipient == "" {
		return notify.Outcome{}, nil
	}
	var bounced bool
	if err := tx.QueryRow(ctx, isUndeliverable, recipient).Scan(&bounced); err != nil {
		return notify.Outcome{}, fmt.Errorf("check undeliverable: %w", err)
	}
	if bounced {
		return notify.Outcome{Result: notify.Undeliverable, Detail: "the address bounced or was blocked before"}, nil
	}
	if e.dailyCap <= 0 {
		return notify.Outcome{}, nil
	}
	var n int
	err := tx.QueryRow(ctx, bumpCap, recipient, e.dailyCap).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return notify.Outcome{Result: notify.Capped, Detail: fmt.Sprintf("the recipient had %d messages today", e.dailyCap)}, nil
	}
	if err != nil {
		return notify.Outcome{}, fmt.Errorf("count the recipient's day: %w", err)
	}
	return notify.Outcome{}, nil
}

// Reject records a request the e-mail handler could not use.
func (e *Emails) Reject(ctx context.Context, m RejectedMessage) error {
	return reject(ctx, e.pool, m)
}
