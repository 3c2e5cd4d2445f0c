package redis

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestKeys_StateDocumentsAndStatesListNeverCollide(t *testing.T) {
	t.Parallel()
	if keyState("states") == keyStates {
		t.Errorf("keyState(%q) = %q collides with keyStates", "states", keyStates)
	}
	if got, want := keyState("selangor"), "listppv:state:selangor"; got != want {
		t.Errorf("keyState: got %q, want %q", got, want)
	}
}

func TestListings_WriteStoresWhatStateStatesAndHeartbeatReadBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.NewRedis(t)
	l := NewListings(rdb)
	docs, err := listing.RenderAll([]listing.SlotRow{
		{StateCode: "perlis", StateName: "Perlis"},
		{StateCode: "selangor", StateName: "Selangor", CenterID: "sel-001", CenterName: "Dewan A", CenterAddress: "Jalan 1", SlotID: "sel-001-am", Date: "2026-12-01", Time: "08:00-13:00", Capacity: 10, Booked: 3},
	}, time.Now(), listing.Documents{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Truncate(time.Millisecond)
	if err := l.Write(ctx, docs, at); err != nil {
		t.Fatal(err)
	}

	same := func(got, want listing.Rendered) bool {
		return bytes.Equal(got.Body, want.Body) && bytes.Equal(got.Gzip, want.Gzip) && got.ETag == want.ETag
	}
	for code, want := range docs.ByState {
		if got, err := l.State(ctx, code); err != nil || !same(got, want) {
			t.Errorf("State(%s): got %s, %v; want %s", code, got.Body, err, want.Body)
		}
	}
	if got, err := l.States(ctx); err != nil || !same(got, docs.States) {
		t.Errorf("States: got %s, %v; want %s", got.Body, err, docs.States.Body)
	}
	if got, err := l.Heartbeat(ctx); err != nil || !got.Equal(at) {
		t.Errorf("Heartbeat: got %v, %v; want %v", got, err, at)
	}

	// A reader gets a document in one HMGET, so each is exactly one hash of
	// the three fields it asks for.
	for _, key := range []string{keyState("perlis"), keyState("selangor"), keyStates} {
		h, err := rdb.HGetAll(ctx, key).Result()
		if err != nil {
			t.Fatalf("HGETALL %s: %v", key, err)
		}
		if len(h) != 3 || h[fieldBody] == "" || h[fieldGzip] == "" || h[fieldETag] == "" {
			t.Errorf("HGETALL %s: got %d fields, want body, gzip and etag", key, len(h))
		}
	}
	if n, err := rdb.DBSize(ctx).Result(); err != nil || n != 4 {
		t.Errorf("keys: got %d, %v; want 4 (two states, the states list, the heartbeat)", n, err)
	}
}

func TestListings_NothingWrittenIsErrNotFilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := NewListings(testenv.NewRedis(t))
	if _, err := l.State(ctx, "selangor"); !errors.Is(err, listing.ErrNotFilled) {
		t.Errorf("State: got %v, want ErrNotFilled", err)
	}
	if _, err := l.States(ctx); !errors.Is(err, listing.ErrNotFilled) {
		t.Errorf("States: got %v, want ErrNotFilled", err)
	}
	if _, err := l.Heartbeat(ctx); !errors.Is(err, listing.ErrNotFilled) {
		t.Errorf("Heartbeat: got %v, want ErrNotFilled", err)
	}
}

func TestStatuses_PendingNeverReplacesAFinalStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.NewRedis(t)
	s := NewStatuses(rdb, time.Hour)
	filled(t, rdb)
	ref := booking.NewReference()
	if _, err := s.GetRaw(ctx, ref); !errors.Is(err, booking.ErrUnknownReference) {
		t.Errorf("unknown reference: got %v, want ErrUnknownReference", err)
	}

	if err := s.SetPending(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, ref); err != nil || got.Status != booking.StatusPending {
		t.Errorf("after SetPending: got %+v, %v; want pending", got, err)
	}
	if err := s.Set(ctx, booking.StatusRecord{Reference: ref, Status: booking.StatusFull}); err != nil {
		t.Fatal(err)
	}
	// The API's pending write can arrive after the worker's final one.
	if err := s.SetPending(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, ref); err != nil || got.Status != booking.StatusFull || got.Reference != ref {
		t.Errorf("after a late SetPending: got %+v, %v; want full", got, err)
	}
}
