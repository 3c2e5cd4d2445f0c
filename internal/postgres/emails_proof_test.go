package postgres_test

import (
	"context"
	"testing"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// A contact-proof code e-mail goes through the send-once record like every
// other message (migration 000006): sent once, however often delivered.
func TestSendOnce_RecordsAProofCodeEmailOnce(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	emails := postgres.NewEmails(pool)
	k := notify.Key{Reference: booking.NewReference(), Kind: notify.KindProof, Channel: notify.ChannelEmail}
	sends := 0
	send := func(context.Context) (notify.Outcome, error) {
		sends++
		return notify.Outcome{Result: notify.Sent, ProviderStatus: 202}, nil
	}
	for i := range 2 {
		_, already, err := emails.SendOnce(context.Background(), k, notify.Delivery{MessageID: "m1", Attempt: i + 1}, send)
		if err != nil {
			t.Fatalf("SendOnce #%d: %v", i+1, err)
		}
		if already != (i == 1) {
			t.Errorf("SendOnce #%d: already = %t", i+1, already)
		}
	}
	if sends != 1 {
		t.Errorf("sent %d times, want 1", sends)
	}
}
