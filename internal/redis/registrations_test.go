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
	r := NewRegistrations(testenv.NewRedis(t), time.Hour)
	exp := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	steps := []struct {
		write queue.Record
		want  queue.Status
	}{
		{queue.Record{Status: queue.StatusQueued, Place: 7}, queue.StatusQueued},
		{queue.Record{Status: queue.StatusReceived}, queue.StatusQueued},         // the API's late write
		{queue.Record{Status: queue.StatusQueued, Place: 3}, queue.StatusQueued}, // same status: new place
		{queue.Record{Status: queue.StatusInvited, ExpiresAt: &exp}, queue.StatusInvited},
		{queue.Record{Status: queue.StatusQueued, Place: 3}, queue.StatusInvited}, // a worker redelivery
		{queue.Record{Status: queue.StatusBooked, BookingReference: "B"}, queue.StatusBooked},
		{queue.Record{Status: queue.StatusExpired}, queue.StatusBooked}, // final stays final
		{queue.Record{Status: queue.StatusInvited, ExpiresAt: &exp}, queue.StatusBooked},
	}
	for i, s := range steps {
		s.write.Reference, s.write.State = "ABCDEFGHJK234567", "selangor"
		if err := r.Set(ctx, s.write); err != nil {
			t.Fatalf("step %d: Set: %v", i, err)
		}
		got, err := r.Get(ctx, s.write.Reference)
		if err != nil {
			t.Fatalf("step %d: Get: %v", i, err)
		}
		if got.Status != s.want {
			t.Errorf("step %d: after writing %s, got %s, want %s", i, s.write.Status, got.Status, s.want)
		}
	}
	got, _ := r.Get(ctx, "ABCDEFGHJK234567")
	if got.BookingReference != "B" {
		t.Errorf("booked record lost its booking reference: %+v", got)
	}
	if _, err := r.Get(ctx, "NOSUCHREFERENCE2"); !errors.Is(err, booking.ErrUnknownReference) {
		t.Errorf("Get(unknown) error = %v, want ErrUnknownReference", err)
	}
	if err := r.Set(ctx, queue.Record{Reference: "X", Status: "pending"}); err == nil {
		t.Error("Set(unknown status) error = nil")
	}
}

func TestRegistrations_ALateBookingFollowsAnExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := NewRegistrations(testenv.NewRedis(t), time.Hour)
	rec := queue.Record{Reference: "ABCDEFGHJK234567", State: "selangor"}
	for _, s := range []queue.Status{queue.StatusInvited, queue.StatusExpired, queue.StatusBooked, queue.StatusExpired, queue.StatusDuplicate} {
		rec.Status = s
		if err := r.Set(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := r.Get(ctx, rec.Reference); got.Status != queue.StatusBooked {
		t.Errorf("invited, expired, booked, expired, duplicate: got %s, want booked", got.Status)
	}
}

func TestRegistrations_QueuedPlaceUpdatesAndExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.NewRedis(t)
	r := NewRegistrations(rdb, time.Minute)
	rec := queue.Record{Reference: "ABCDEFGHJK234567", State: "johor", Status: queue.StatusQueued, Place: 9}
	if err := r.Set(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.Place = 4
	if err := r.Set(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Get(ctx, rec.Reference); got.Place != 4 {
		t.Errorf("place: got %d, want 4", got.Place)
	}
	if ttl := rdb.PTTL(ctx, keyRegistration(rec.Reference)).Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL: got %s, want within 1m", ttl)
	}
}

func TestRegistrations_MarkOnlyRises(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := NewRegistrations(testenv.NewRedis(t), time.Hour)
	if m, err := r.Mark(ctx, "selangor"); err != nil || m != 0 {
		t.Fatalf("Mark before any: got %d, %v; want 0", m, err)
	}
	restoreMark(t, r, "selangor", 10)
	for _, p := range []int64{25, 12} {
		if _, err := r.RaiseMark(ctx, "selangor", p); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := r.Mark(ctx, "selangor"); m != 25 {
		t.Errorf("Mark after 10, 25, 12: got %d, want 25", m)
	}
	if m, _ := r.Mark(ctx, "johor"); m != 0 {
		t.Errorf("another state's mark: got %d, want 0", m)
	}
}

// The mark's presence, even at 0, is how the invitation loop tells that
// Redis still holds a state's records.
func TestRegistrations_MarkExistsOnceWrittenEvenAtZero(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.NewRedis(t)
	r := NewRegistrations(rdb, time.Hour)
	if ok, err := r.MarkExists(ctx, "perlis"); err != nil || ok {
		t.Fatalf("MarkExists before any: got %t, %v; want false", ok, err)
	}
	restoreMark(t, r, "perlis", 0)
	if ok, err := r.MarkExists(ctx, "perlis"); err != nil || !ok {
		t.Errorf("MarkExists after a restore at 0: got %t, %v; want true", ok, err)
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := r.MarkExists(ctx, "perlis"); ok {
		t.Error("MarkExists after a flush: got true")
	}
}

// A flush in the middle of a round, or of a rebuild, must leave the mark
// missing, or the loop would never write the lost records again.
func TestRegistrations_OnlyARebuildThatSawNoFlushRestoresTheMark(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.NewRedis(t)
	r := NewRegistrations(rdb, time.Hour)

	if there, err := r.RaiseMark(ctx, "perlis", 4); err != nil || there {
		t.Fatalf("RaiseMark on no mark: got %t, %v; want false, nil", there, err)
	}
	if ok, _ := r.MarkExists(ctx, "perlis"); ok {
		t.Fatal("RaiseMark created a missing mark")
	}

	token, err := r.BeginRestore(ctx, "perlis")
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil { // lost again mid-rebuild
		t.Fatal(err)
	}
	if done, err := r.FinishRestore(ctx, "perlis", token, 4); err != nil || done {
		t.Fatalf("FinishRestore after a flush: got %t, %v; want false, nil", done, err)
	}
	if ok, _ := r.MarkExists(ctx, "perlis"); ok {
		t.Fatal("the mark came back over a rebuild that a flush cut through")
	}

	token, err = r.BeginRestore(ctx, "perlis")
	if err != nil {
		t.Fatal(err)
	}
	if done, err := r.FinishRestore(ctx, "perlis", token, 4); err != nil || !done {
		t.Fatalf("FinishRestore: got %t, %v; want true, nil", done, err)
	}
	if there, err := r.RaiseMark(ctx, "perlis", 7); err != nil || !there {
		t.Fatalf("RaiseMark on a restored mark: got %t, %v; want true, nil", there, err)
	}
	if m, _ := r.Mark(ctx, "perlis"); m != 7 {
		t.Errorf("Mark: got %d, want 7", m)
	}
	if done, _ := r.FinishRestore(ctx, "perlis", token, 9); done {
		t.Error("a finished rebuild's token was accepted twice")
	}
}

// restoreMark creates a state's mark the one way the loop does: a rebuild
// that no flush cut through.
func restoreMark(t *testing.T, r *Registrations, state string, place int64) {
	t.Helper()
	ctx := context.Background()
	token, err := r.BeginRestore(ctx, state)
	if err != nil {
		t.Fatal(err)
	}
	if done, err := r.FinishRestore(ctx, state, token, place); err != nil || !done {
		t.Fatalf("FinishRestore: got %t, %v; want true, nil", done, err)
	}
}
