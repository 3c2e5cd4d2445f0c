package invite_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// TestRound_APlaceFreedByACancellationIsOfferedAtTheNextRound: a booking
// cancelled through the worker's manage path gives its place back, and the
// next invitation round offers it to the next registrant in order, once.
func TestRound_APlaceFreedByACancellationIsOfferedAtTheNextRound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3) // 3 places left, all in sel-001-2026-12-01-am
	ctx := context.Background()
	b := postgres.NewBookings(f.pool, pii.Dev()).WithManage(testenv.ManageSigner())
	held, err := b.Decide(ctx, testenv.NewRequest(1, "sel-001-2026-12-01-am"), "m-book")
	if err != nil || held.Record.Status != booking.StatusConfirmed {
		t.Fatalf("Decide: %+v, %v", held.Record, err)
	}
	refs := f.register(t, times(4, opensAt, time.Second)...)
	l := f.loop(t, f.config(), nil)
	pass(t, l)
	status := func() []string {
		t.Helper()
		rows := f.rows(t)
		out := make([]string, len(refs))
		for i, ref := range refs {
			out[i] = rows[ref].status
		}
		return out
	}
	want := []string{"invited", "invited", "queued", "queued"}
	if got := status(); !slices.Equal(got, want) {
		t.Fatalf("first round, 2 places after the booking: got %v, want %v", got, want)
	}
	f.setNow(t0.Add(time.Minute))
	pass(t, l)
	if got := status(); !slices.Equal(got, want) {
		t.Fatalf("a round with no place freed: got %v, want %v", got, want)
	}

	cancel := testenv.NewManage(booking.ActionCancel, held.Record.Reference, held.Manage)
	for range 2 { // a delivery and its redelivery free one place
		if o, err := b.Manage(ctx, cancel, "m-cancel"); err != nil || o.Booking.Status != booking.StatusCancelled {
			t.Fatalf("cancel: %+v, %v", o.Booking, err)
		}
	}
	f.setNow(t0.Add(2 * time.Minute))
	pass(t, l)
	want = []string{"invited", "invited", "invited", "queued"}
	if got := status(); !slices.Equal(got, want) {
		t.Fatalf("the round after the cancellation: got %v, want %v", got, want)
	}
	f.setNow(t0.Add(3 * time.Minute))
	pass(t, l)
	if got := status(); !slices.Equal(got, want) {
		t.Errorf("another round: got %v, want %v (the freed place is offered once)", got, want)
	}
	if n := len(f.messages(t)[notify.KindInvitation][refs[2]]); n != 1 {
		t.Errorf("invitations sent to the registrant given the freed place: %d, want 1", n)
	}
}
