package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/queue"
)

// InvitationSecret is the INVITATION_SECRET of tests that need no other.
const InvitationSecret = "testenv-invitation-secret-32-bytes"

// InvitationSigner signs and checks tokens with InvitationSecret.
func InvitationSigner(t testing.TB) *queue.Signer {
	t.Helper()
	s, err := queue.NewSigner(InvitationSecret)
	if err != nil {
		t.Fatalf("testenv: invitation signer: %v", err)
	}
	return s
}

// Invited is a registration the invitation loop has invited, with its token.
type Invited struct {
	Registration string
	State        string
	IDNumber     string // normalised, NewRequest(n)'s
	Token        string
	ExpiresAt    time.Time
}

// MustInvite records person n (NewRequest's id_number) as registered in
// state and invited, as the invitation loop leaves them: a registration
// row with status invited and its invitations row, whose token signer
// signs; the ID is hashed with pii.Dev, the pepper tests give the worker.
// The registration's name is "Registrant n", its e-mail
// regN@example.com, its phone +60198765432, its lang en and its contact
// both (none of them NewRequest's). The state must exist.
func MustInvite(t testing.TB, db *pgxpool.Pool, signer *queue.Signer, state string, n int, expiresAt time.Time) Invited {
	t.Helper()
	inv := Invited{
		Registration: booking.NewReference(),
		State:        state,
		IDNumber:     NewRequest(n).IDNumber,
		ExpiresAt:    expiresAt.UTC().Truncate(time.Second),
	}
	inv.Token = signer.Sign(inv.Registration, state, pii.Dev().Hash(inv.IDNumber), inv.ExpiresAt)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := db.Exec(ctx, `
WITH reg AS (
    INSERT INTO registrations (reference, state_code, id_hash, status, name, phone, email, lang, contact,
                               received_at, queue_key, place, message_id)
    VALUES ($1, $2, $3, 'invited', $4, '+60198765432', $5, 'en', 'both', now(), $6, $6, $7)
    RETURNING reference
)
INSERT INTO invitations (token_hash, registration, state_code, id_hash, expires_at)
SELECT $8, reference, $2, $3, $9 FROM reg`,
		inv.Registration, state, pii.Dev().Hash(inv.IDNumber), fmt.Sprintf("Registrant %d", n), fmt.Sprintf("reg%d@example.com", n),
		n, "reg-"+inv.Registration, queue.TokenHash(inv.Token), inv.ExpiresAt)
	if err != nil {
		t.Fatalf("testenv: invite person %d in %s: %v", n, state, err)
	}
	return inv
}
