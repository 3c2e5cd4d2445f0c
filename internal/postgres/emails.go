package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Emails keeps the record of e-mails sent, so each (reference, kind) is sent
// once however often its request is delivered.
type Emails struct{ pool *pgxpool.Pool }

// NewEmails wraps a pool.
func NewEmails(pool *pgxpool.Pool) *Emails { return &Emails{pool: pool} }

// EmailKey names one e-mail and the delivery that asks for it.
type EmailKey struct {
	Reference       string
	Kind            string
	MessageID       string
	DeliveryAttempt int
	RequestedAt     time.Time // the request's publish time, when known
}

// EmailOutcome is how an e-mail ended.
type EmailOutcome struct {
	Outcome        string // "sent" or "rejected"
	ProviderStatus int
	ProviderID     string
	Detail         string
}

// The two outcomes worth recording.
const (
	EmailSent     = "sent"
	EmailRejected = "rejected"
)

// ErrEmailBusy means another delivery of the same e-mail is being sent right
// now; ask again later and the record will answer.
var ErrEmailBusy = errors.New("this e-mail is being sent by another delivery")

// A different key space from lockPerson's, so an e-mail never waits on a
// booking.
const tryLockEmail = `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 20212))`

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
// redelivery finds the record and a concurrent twin gets ErrEmailBusy; the
// one gap is a crash (or a lost commit) after the provider accepted and
// before the record committed, when the next delivery sends again.
//
// A send error is returned as it is and nothing is recorded: the caller
// decides whether it is worth another try. already reports an outcome found
// rather than made.
func (e *Emails) SendOnce(ctx context.Context, k EmailKey, send func(context.Context) (EmailOutcome, error)) (out EmailOutcome, already bool, err error) {
	err = InTx(ctx, e.pool, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		batch.Queue(tryLockEmail, k.Reference+"/"+k.Kind)
		batch.Queue(findSent, k.Reference, k.Kind)
		br := tx.SendBatch(ctx, batch)
		var locked bool
		if err := br.QueryRow().Scan(&locked); err != nil {
			br.Close()
			return fmt.Errorf("lock e-mail: %w", err)
		}
		// Read the record even when the lock is refused: a finished e-mail
		// is the answer whoever holds the lock now.
		err := br.QueryRow().Scan(&out.Outcome, &out.ProviderStatus, &out.ProviderID, &out.Detail)
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
			return ErrEmailBusy
		}

		out, err = send(ctx)
		if err != nil {
			return err
		}
		var requested *time.Time
		if !k.RequestedAt.IsZero() {
			requested = &k.RequestedAt
		}
		if _, err := tx.Exec(ctx, insertSent, k.Reference, k.Kind, out.Outcome, out.ProviderStatus,
			out.ProviderID, out.Detail, k.MessageID, k.DeliveryAttempt, requested); err != nil {
			return fmt.Errorf("record sent e-mail: %w", err)
		}
		return nil
	})
	if err != nil {
		return EmailOutcome{}, false, fmt.Errorf("e-mail %s/%s: %w", k.Reference, k.Kind, err)
	}
	return out, already, nil
}

// Reject records a request the e-mail handler could not use.
func (e *Emails) Reject(ctx context.Context, m RejectedMessage) error {
	return reject(ctx, e.pool, m)
}
