package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// filled writes what a cache-fill pass writes first: a listing and its
// heartbeat.
func filled(t *testing.T, rdb *goredis.Client) {
	t.Helper()
	if err := NewListings(rdb).Write(context.Background(), listing.Documents{}, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func wantMissing(t *testing.T, s *Statuses, ref string, want error) {
	t.Helper()
	if _, err := s.GetRaw(context.Background(), ref); !errors.Is(err, want) {
		t.Errorf("GetRaw(%s): got %v, want %v", ref, err, want)
	}
}

// TestStatuses_AMissingRecordIsRestoringUntilARebuildFinished: before the
// cache-fill loop wrote anything, and while its rebuild runs, a reference
// Redis does not know may be one it lost; only after the rebuild is it
// unknown.
func TestStatuses_AMissingRecordIsRestoringUntilARebuildFinished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.NewRedis(t)
	s := NewStatuses(rdb, time.Hour)
	ref := booking.NewReference()
	wantMissing(t, s, ref, booking.ErrStatusesRestoring)

	token, err := s.ClaimRestore(ctx, "", time.Minute)
	if err != nil || token == "" {
		t.Fatalf("ClaimRestore with no mark: %q, %v; want a token", token, err)
	}
	filled(t, rdb)
	wantMissing(t, s, ref, booking.ErrStatusesRestoring)
	if again, err := s.ClaimRestore(ctx, token, time.Minute); err != nil || again != token {
		t.Errorf("ClaimRestore holding the rebuild: %q, %v; want the same token", again, err)
	}
	if done, err := s.FinishRestore(ctx, token); err != nil || !done {
		t.Fatalf("FinishRestore: %v, %v; want true", done, err)
	}
	wantMissing(t, s, ref, booking.ErrUnknownReference)
	if none, err := s.ClaimRestore(ctx, "", time.Minute); err != nil || none != "" {
		t.Errorf("ClaimRestore with the mark there: %q, %v; want none", none, err)
	}
}

// TestStatuses_AHeartbeatWrittenAfterALossStillSaysRestoring: the loop
// found the mark, Redis then lost everything, and the loop's next write is
// its heartbeat: until it claims again, a missing record must read
// "restoring", not unknown. That claim replaces the stand-in token.
func TestStatuses_AHeartbeatWrittenAfterALossStillSaysRestoring(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.NewRedis(t)
	s := NewStatuses(rdb, time.Hour)
	loop := NewListings(rdb).GuardingStatuses()
	ref := booking.NewReference()
	token, err := s.ClaimRestore(ctx, "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if done, err := s.FinishRestore(ctx, token); err != nil || !done {
		t.Fatalf("FinishRestore: %v, %v", done, err)
	}
	if err := loop.Write(ctx, listing.Documents{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, s, ref, booking.ErrUnknownReference)

	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := loop.Write(ctx, listing.Documents{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, s, ref, booking.ErrStatusesRestoring)
	fresh, err := s.ClaimRestore(ctx, "", time.Minute)
	if err != nil || fresh == "" || fresh == "lost" {
		t.Fatalf("ClaimRestore after the loss: %q, %v; want a rebuild's own token", fresh, err)
	}
	wantMissing(t, s, ref, booking.ErrStatusesRestoring)
	if done, err := s.FinishRestore(ctx, fresh); err != nil || !done {
		t.Fatalf("FinishRestore: %v, %v", done, err)
	}
	wantMissing(t, s, ref, booking.ErrUnknownReference)
}

// TestStatuses_ALossDuringARebuildStartsItOver: Redis losing its data
// again while a rebuild runs takes the token, so the rebuild cannot mark
// the records whole, and the next claim starts another.
func TestStatuses_ALossDuringARebuildStartsItOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.NewRedis(t)
	s := NewStatuses(rdb, time.Hour)
	first, err := s.ClaimRestore(ctx, "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if done, err := s.FinishRestore(ctx, first); err != nil || done {
		t.Errorf("FinishRestore after a second loss: %v, %v; want false", done, err)
	}
	if n, _ := rdb.Exists(ctx, keyStatusMark).Result(); n != 0 {
		t.Error("the mark was written after a second loss")
	}
	second, err := s.ClaimRestore(ctx, first, time.Minute)
	if err != nil || second == "" || second == first {
		t.Errorf("ClaimRestore after a second loss: %q, %v; want a new token", second, err)
	}
}

// TestStatuses_RestoreWritesWhatIsMissingOrPendingAndKeepsFinalRecords: a
// rebuild replaces nothing the worker wrote, replaces a pending record that
// outlived its final one, and gives each record the rest of its life.
func TestStatuses_RestoreWritesWhatIsMissingOrPendingAndKeepsFinalRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.NewRedis(t)
	s := NewStatuses(rdb, time.Hour)
	now := time.Now()
	slot := &booking.SlotInfo{ID: "sel-001-2026-12-01-am", CenterID: "sel-001", CenterName: "Dewan A", Address: "Jalan 1", Date: "2026-12-01", Time: "08:00-13:00"}
	missing := booking.Decided{Record: booking.StatusRecord{Reference: booking.NewReference(), Status: booking.StatusConfirmed, Slot: slot, Lang: "ms"}, At: now.Add(-30 * time.Minute)}
	pending := booking.Decided{Record: booking.StatusRecord{Reference: booking.NewReference(), Status: booking.StatusFull, Lang: "en"}, At: now}
	final := booking.Decided{Record: booking.StatusRecord{Reference: booking.NewReference(), Status: booking.StatusFull, Lang: "ms"}, At: now}
	expired := booking.Decided{Record: booking.StatusRecord{Reference: booking.NewReference(), Status: booking.StatusFull}, At: now.Add(-2 * time.Hour)}
	if err := s.SetPending(ctx, pending.Record.Reference); err != nil {
		t.Fatal(err)
	}
	// What the worker wrote stands, even if it differs from Postgres's.
	worker := booking.StatusRecord{Reference: final.Record.Reference, Status: booking.StatusDuplicate, Lang: "ms"}
	if err := s.Set(ctx, worker); err != nil {
		t.Fatal(err)
	}

	n, err := s.Restore(ctx, []booking.Decided{missing, pending, final, expired}, now)
	if err != nil || n != 2 {
		t.Fatalf("Restore: wrote %d, %v; want 2 (the missing and the pending)", n, err)
	}
	for _, want := range []booking.StatusRecord{missing.Record, pending.Record, worker} {
		got, err := s.Get(ctx, want.Reference)
		if err != nil || got.Status != want.Status || got.Lang != want.Lang || (want.Slot != nil && *got.Slot != *want.Slot) {
			t.Errorf("%s after Restore: %+v, %v; want %+v", want.Reference, got, err, want)
		}
	}
	filled(t, rdb)
	wantMissing(t, s, expired.Record.Reference, booking.ErrUnknownReference) // its record would have expired
	if ttl := rdb.PTTL(ctx, keyStatus(missing.Record.Reference)).Val(); ttl > 30*time.Minute || ttl < 29*time.Minute {
		t.Errorf("TTL of a record decided 30 minutes ago: %s, want the 30 minutes left of its hour", ttl)
	}
}
