package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/notify"
)

// Emails keeps the record of e-mails sent, so each e-mail is sent once
// however often its request is delivered.
type Emails struct{ pool *pgxpool.Pool }

// NewEmails wraps a pool.
func NewEmails(pool *pgxpool.Pool) *Emails { return &Emails{pool: pool} }

// A different key space from lockPerson's, so an e-mail never waits on a
// booking.
const tryLockEmail = `SELECT pg_try_advisory_xact_lock(hashtextextended($1, ` + emailSendLockSeed + `))`

const findSent = `
SELECT outcome, provider_status, provider_id, detail
FROM sent_emails WHERE reference = $1 AND kind = $2`

const insertSent = `
INSERT INTO sent_emails (reference, kind, outcome, provider_status, provider_id, detail,
                         message_id, delivery_attempt, requested_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

// SendOnce calls send unless the e-mail was finished before, and records
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
	// sent_emails has no channel column: every row is an e-mail. The
	// channel joins its key, and the lock name below, with the migration
	// that lets another channel's messages be recorded; until then the lock
	// is the one the previous release takes, so instances of both running
	// side by side during a rollout still send once.
	if k.Channel != notify.ChannelEmail {
		return notify.Outcome{}, false, fmt.Errorf("message %s: only e-mails are recorded", k)
	}
	err = InTx(ctx, e.pool, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		batch.Queue(tryLockEmail, k.Reference+"/"+string(k.Kind))
		batch.Queue(findSent, k.Reference, k.Kind)
		br := tx.SendBatch(ctx, batch)
		var locked bool
		if err := br.QueryRow().Scan(&locked); err != nil {
			br.Close()
			return fmt.Errorf("lock e-mail: %w", err)
		}
		// Read the record even when the lock is refused: a finished e-mail
		// is the answer whoever holds the lock now.
		err := br.QueryRow().Scan(&out.Result, &out.ProviderStatus, &out.ProviderID, &out.Detail)
		if cerr := br.Close(); err == nil && cerr != nil {
			err = cerr
		}
		switch {
		case err == nil:
			already = true
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("find sent e-mail: %w", err)
		case !locked:
			return notify.ErrBusy
		}

		out, err = send(ctx)
		if err != nil {
			return err
		}
		var requested *time.Time
		if !d.RequestedAt.IsZero() {
			requested = &d.RequestedAt
		}
		if _, err := tx.Exec(ctx, insertSent, k.Reference, k.Kind, out.Result, out.ProviderStatus,
			out.ProviderID, out.Detail, d.MessageID, d.Attempt, requested); err != nil {
			return fmt.Errorf("record sent e-mail: %w", err)
		}
		return nil
	})
	if err != nil {
		return notify.Outcome{}, false, fmt.Errorf("e-mail %s/%s: %w", k.Reference, k.Kind, err)
	}
	return out, already, nil
}

// Reject records a request the e-mail handler could not use.
func (e *Emails) Reject(ctx context.Context, m RejectedMessage) error {
	return reject(ctx, e.pool, m)
}
