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

func TestRegistrations_NeverGoBackToAnEarlierStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := NewRegistrations(testenv.NewRedis(t), time.Hour)
	for from, fromRank := range statusRank {
		for to, toRank := range statusRank {
			ref := booking.NewReference()
			if err := r.Set(ctx, queue.Record{Reference: ref, State: "selangor", Status: from}); err != nil {
				t.Fatal(err)
			}
			if err := r.Set(ctx, queue.Record{Reference: ref, State: "selangor", Status: to, BookingReference: "B"}); err != nil {
				t.Fatal(err)
			}
			got, err := r.Get(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			want := to
			if toRank < fromRank {
				want = from
			}
			if got.Status != want {
				t.Errorf("%s then %s: got %s, want %s", from, to, got.Status, want)
			}
			if got.Status == to && got.BookingReference != "B" {
				t.Errorf("%s then %s: the later write's fields were not kept: %+v", from, to, got)
			}
		}
	}
}

func TestRegistrations_BookedIsNotUndoneByALateExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.NewRedis(t)
	r := NewRegistrations(rdb, time.Hour)
	ref := booking.NewReference()
	booked := queue.Record{Reference: ref, State: "selangor", Status: queue.StatusBooked, BookingReference: booking.NewReference()}
	for _, rec := range []queue.Record{booked, {Reference: ref, State: "selangor", Status: queue.StatusExpired}} {
		if err := r.Set(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := r.Get(ctx, ref); err != nil || got != booked {
		t.Errorf("Get() = %+v, %v; want %+v", got, err, booked)
	}
	if ttl, err := rdb.PTTL(ctx, keyRegistration(ref)).Result(); err != nil || ttl <= 0 || ttl > time.Hour {
		t.Errorf("PTTL = %v, %v; want up to an hour", ttl, err)
	}
}

func TestRegistrations_UnknownReferenceAndUnknownStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := NewRegistrations(testenv.NewRedis(t), 0)
	if _, err := r.Get(ctx, booking.NewReference()); !errors.Is(err, booking.ErrUnknownReference) {
		t.Errorf("Get(unknown) error = %v, want ErrUnknownReference", err)
	}
	if err := r.Set(ctx, queue.Record{Reference: booking.NewReference(), Status: "lost"}); err == nil {
		t.Error("Set(status lost) error = nil, want one")
	}
	// A ttl of 0 keeps the record.
	ref := booking.NewReference()
	if err := r.Set(ctx, queue.Record{Reference: ref, State: "johor", Status: queue.StatusQueued}); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(ctx, ref); err != nil || got.Status != queue.StatusQueued {
		t.Errorf("Get() = %+v, %v; want queued", got, err)
	}
}
