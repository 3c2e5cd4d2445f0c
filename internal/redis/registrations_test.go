package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestRegistrations_SetNeverMovesARecordBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := NewRegistrations(testenv.NewRedis(t))
	const ref = "ABCDEFGHJKMNPQRS"
	exp := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		rec  queue.Record
		want queue.Status
	}{
		{queue.Record{Reference: ref, State: "perlis", Status: queue.StatusQueued, Place: 7}, queue.StatusQueued},
		{queue.Record{Reference: ref, State: "perlis", Status: queue.StatusReceived}, queue.StatusQueued},
		{queue.Record{Reference: ref, State: "perlis", Status: queue.StatusQueued, Place: 3}, queue.StatusQueued},
		{queue.Record{Reference: ref, State: "perlis", Status: queue.StatusInvited, Place: 3, ExpiresAt: &exp}, queue.StatusInvited},
		{queue.Record{Reference: ref, State: "perlis", Status: queue.StatusQueued, Place: 3}, queue.StatusInvited},
		{queue.Record{Reference: ref, State: "perlis", Status: queue.StatusBooked, BookingReference: "BBBBBBBBBBBBBBBB"}, queue.StatusBooked},
		{queue.Record{Reference: ref, State: "perlis", Status: queue.StatusInvited, Place: 3}, queue.StatusBooked},
	}
	for i, s := range steps {
		if err := r.Set(ctx, s.rec); err != nil {
			t.Fatalf("step %d: Set(%s): %v", i, s.rec.Status, err)
		}
		got, err := r.Get(ctx, ref)
		if err != nil {
			t.Fatalf("step %d: Get: %v", i, err)
		}
		if got.Status != s.want {
			t.Errorf("step %d: after Set(%s) status = %s, want %s", i, s.rec.Status, got.Status, s.want)
		}
		if i == 2 && got.Place != 3 {
			t.Errorf("step 2: a queued record's place = %d, want the newer 3", got.Place)
		}
	}
	if _, err := r.Get(ctx, "ZZZZZZZZZZZZZZZZ"); !errors.Is(err, booking.ErrUnknownReference) {
		t.Errorf("Get(unknown) error = %v, want ErrUnknownReference", err)
	}
	if err := r.Set(ctx, queue.Record{Reference: ref, Status: "lost"}); err == nil {
		t.Error("Set(unknown status) error = nil, want one")
	}
}

func TestRegistrations_MarkStartsAtZeroAndNeverGoesDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := NewRegistrations(testenv.NewRedis(t))
	if m, err := r.Mark(ctx, "perlis"); err != nil || m != 0 {
		t.Fatalf("Mark() before any = %d, %v; want 0, nil", m, err)
	}
	for _, v := range []int64{5, 3, 9} {
		if err := r.SetMark(ctx, "perlis", v); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := r.Mark(ctx, "perlis"); m != 9 {
		t.Errorf("Mark() = %d, want 9", m)
	}
	if m, _ := r.Mark(ctx, "johor"); m != 0 {
		t.Errorf("Mark(johor) = %d, want 0: marks are per state", m)
	}
}
