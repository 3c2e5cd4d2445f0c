package api

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/queue"
)

// Invitations is what POST /submit needs to judge the invitation a queue
// state asks for (docs/queue.md, "Booking with an invitation").
type Invitations struct {
	// Signer checks tokens with INVITATION_SECRET. Nil when the secret is
	// not set: a submission in a queue state is then answered 503
	// invitations_unavailable, and every open state works as before.
	Signer *queue.Signer
	// IDs hashes the ID number a submission gives as the worker stored
	// it (ID_PEPPER), the form tokens are bound to; set with Signer.
	IDs *pii.Pepper
	// Records reads the registrations' records, so a token whose booking
	// is already made is refused at once. Nil skips that check: the
	// worker's, in the booking's transaction, is the one that counts.
	Records RegistrationRecords
}

// RegistrationRecords reads the record GET /registration shows; an unknown
// reference is booking.ErrUnknownReference.
type RegistrationRecords interface {
	Get(ctx context.Context, reference string) (queue.Record, error)
}

// invitationCheck judges submissions against their state's mode.
type invitationCheck struct {
	Invitations
	log   *slog.Logger
	noKey sync.Once // the missing secret is logged once, not per person
}

func newInvitationCheck(log *slog.Logger, inv Invitations) *invitationCheck {
	return &invitationCheck{Invitations: inv, log: log}
}

// check returns the request to queue for a submission in state st. An open
// state needs no invitation: the submission is judged as if it carried none
// and none is queued, except that one which left out what the invitation
// page does not ask for still books with the person's own invitation (a
// state switched to open keeps outstanding links working, docs/queue.md).
// A queue state needs the person's own unexpired invitation for this state,
// whose booking is not made yet; only the secret and Redis are asked, never
// Postgres.
func (c *invitationCheck) check(ctx context.Context, log *slog.Logger, st listing.State, sub booking.Submission, req booking.Request) (booking.Request, error) {
	if queue.Mode(st.Mode) != queue.ModeQueue {
		if req.Invitation == "" {
			return req, nil
		}
		sub.Invitation = ""
		plain, err := sub.Validate()
		if err != nil && c.Signer != nil {
			// Validate passed with the invitation, so only fields left
			// for the registration are missing: the token must fill them.
			if inv, verr := c.Signer.Verify(req.Invitation, c.IDs.Hash(req.IDNumber), time.Now()); verr == nil && inv.State == req.State {
				return req, nil
			}
		}
		return plain, err
	}
	if req.Invitation == "" {
		return req, errInvitationRequired
	}
	if c.Signer == nil {
		c.noKey.Do(func() {
			c.log.Error("INVITATION_SECRET is not set, so no submission in a queue state can be checked", "state", st.Code)
		})
		return req, errInvitationsUnavailable
	}
	inv, err := c.Signer.Verify(req.Invitation, c.IDs.Hash(req.IDNumber), time.Now())
	switch {
	case errors.Is(err, queue.ErrInvitationNotYours):
		return req, errInvitationNotYours
	case errors.Is(err, queue.ErrInvitationExpired):
		return req, errInvitationExpired
	case err != nil:
		return req, errInvitationInvalid
	case inv.State != req.State:
		// Genuine, but for another state's queue: its place is held there.
		return req, errInvitationInvalid
	}
	if c.Records == nil {
		return req, nil
	}
	rec, err := c.Records.Get(ctx, inv.Registration)
	switch {
	case err == nil && rec.Status == queue.StatusBooked:
		return req, errInvitationUsed
	case err != nil && !errors.Is(err, booking.ErrUnknownReference):
		// The worker refuses a used token whatever the API let through;
		// this check only spares the person a pending that ends duplicate.
		log.Warn("read registration for invitation", "registration", inv.Registration, "error", err)
	}
	return req, nil
}
