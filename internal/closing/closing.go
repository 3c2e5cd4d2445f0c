// Package closing finishes closing sessions: when a closed session's time
// to move is up, it cancels what is still booked on it, rewrites each
// person's status record and asks for their message, and only then marks
// the closing done. A failure part way is finished by the next run, and
// nobody is told twice: each message has its send-once key. It runs as
// `vaxbook closings` (a scheduled job) and in the admin role, when staff
// close a session without offering a change of time.
package closing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/postgres"
)

// Mailer asks for messages on the channels each person chose.
type Mailer interface {
	Publish(ctx context.Context, r email.Request) error
}

// Statuses rewrites a booking's status record (redis.Statuses), so a
// cancelled booking's page and GET /status say so.
type Statuses interface {
	SetNewer(ctx context.Context, rec booking.StatusRecord) error
}

// Closer finishes closings.
type Closer struct {
	Store    *postgres.Admin
	Statuses Statuses
	Mail     Mailer
}

// Finish cancels what is still on the closed session slot, under actor in
// the audit log, tells each person, and marks the closing done. It returns
// how many bookings its closing cancelled (now or on an earlier try).
func (c Closer) Finish(ctx context.Context, slot, actor string) (int, error) {
	outs, err := c.Store.FinishClosing(ctx, slot, actor)
	if err != nil {
		return 0, err
	}
	for _, o := range outs {
		if err := c.Statuses.SetNewer(ctx, o.Booking); err != nil {
			return 0, fmt.Errorf("closing %s: status of %s: %w", slot, o.Booking.Reference, err)
		}
		if err := c.Mail.Publish(ctx, email.ManageRequest(o, notify.KindClosed, "")); err != nil {
			return 0, fmt.Errorf("closing %s: message to %s: %w", slot, o.Booking.Reference, err)
		}
	}
	if err := c.Store.ClosingDone(ctx, slot); err != nil {
		return 0, err
	}
	return len(outs), nil
}

// FinishDue finishes every closing whose time to move is up at now, and
// logs each. One session failing does not keep the others waiting; the
// error joins every failure, for the next run to retry.
func (c Closer) FinishDue(ctx context.Context, log *slog.Logger, now time.Time) (sessions, cancelled int, err error) {
	due, err := c.Store.DueClosings(ctx, now)
	if err != nil {
		return 0, 0, err
	}
	var errs []error
	for _, slot := range due {
		n, err := c.Finish(ctx, slot, Actor)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sessions++
		cancelled += n
		log.Info("closing finished", "slot", slot, "cancelled", n)
	}
	return sessions, cancelled, errors.Join(errs...)
}

// Actor is who the audit log names for what the scheduled job cancels.
const Actor = "vaxbook closings"

// Every finishes what is due every interval until ctx is done: `vaxbook
// dev`'s stand-in for the scheduled job. A failed run is logged and the
// next one retries it.
func (c Closer) Every(ctx context.Context, log *slog.Logger, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			if _, _, err := c.FinishDue(ctx, log, now); err != nil && ctx.Err() == nil {
				log.Error("closings run failed; the next retries it", "error", err)
			}
		}
	}
}
