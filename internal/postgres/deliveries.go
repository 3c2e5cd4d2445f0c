package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/notify"
)

// Deliveries records what the providers report of messages after they
// accepted them (the delivery hooks, `vaxbook hooks`).
type Deliveries struct{ pool *pgxpool.Pool }

// NewDeliveries wraps a pool (the hooks' role, vaxbook_hooks).
func NewDeliveries(pool *pgxpool.Pool) *Deliveries { return &Deliveries{pool: pool} }

const findRecipient = `SELECT recipient FROM sent_emails WHERE channel = $1 AND provider_id = $2 LIMIT 1`

const insertEvent = `
INSERT INTO delivery_events (channel, provider_id, event, detail) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING`

const markUndeliverable = `
INSERT INTO undeliverable_contacts (recipient, channel, reason, provider_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (recipient) DO NOTHING`

// Record keeps event e for the message the provider calls providerID on
// channel ch, and marks its address undeliverable when e says so. An event
// already recorded changes nothing, so a replayed or repeated callback is
// harmless. known is false for an id no message of ours was sent under
// (another system on the same provider account, or a message whose record
// retention cleared): nothing is recorded.
func (d *Deliveries) Record(ctx context.Context, ch notify.Channel, providerID string, e notify.Event, detail string) (known bool, err error) {
	err = InTx(ctx, d.pool, func(tx pgx.Tx) error {
		var recipient string
		err := tx.QueryRow(ctx, findRecipient, ch, providerID).Scan(&recipient)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find message: %w", err)
		}
		known = true
		if _, err := tx.Exec(ctx, insertEvent, ch, providerID, e, clipDetail(detail)); err != nil {
			return fmt.Errorf("record event: %w", err)
		}
		if e.Undeliverable() && recipient != "" {
			if _, err := tx.Exec(ctx, markUndeliverable, recipient, ch, string(e)+": "+clipDetail(detail), providerID); err != nil {
				return fmt.Errorf("mark undeliverable: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("delivery event %s %s %s: %w", ch, providerID, e, err)
	}
	return known, nil
}

// Ping checks the database answers.
func (d *Deliveries) Ping(ctx context.Context) error { return d.pool.Ping(ctx) }

func clipDetail(s string) string {
	const max = 300
	if len(s) > max {
		return s[:max]
	}
	return s
}
