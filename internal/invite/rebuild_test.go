package invite_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/invite"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/queue"
)

// answer is what GET /registration shows, computed from Redis as the API
// computes it (api/registration.go).
type answer struct {
	Status           queue.Status
	Ahead            int64 // -1: none shown
	ExpiresAt        string
	BookingReference string
}

func (f *fixture) answers(t *testing.T, refs []string) map[string]answer {
	t.Helper()
	ctx := context.Background()
	out := map[string]answer{}
	for _, ref := range refs {
		rec, err := f.recs.Get(ctx, ref)
		if err != nil {
			t.Fatalf("record of %s: %v", ref, err)
		}
		a := answer{Status: rec.Status, Ahead: -1, BookingReference: rec.BookingReference}
		if rec.ExpiresAt != nil {
			a.ExpiresAt = rec.ExpiresAt.UTC().Format(time.RFC3339)
		}
		if rec.Status == queue.StatusQueued && rec.Place > 0 {
			mark, err := f.recs.Mark(ctx, rec.State)
			if err != nil {
				t.Fatal(err)
			}
			a.Ahead = max(0, rec.Place-mark-1)
		}
		out[ref] = a
	}
	return out
}

// recordVia records a registration as the intake worker does: Postgres
// first, then the record it returns into Redis.
func (f *fixture) recordVia(t *testing.T, state, id string, at time.Time) string {
	t.Helper()
	ref := booking.NewReference()
	rec, err := postgres.NewRegistrar(f.pool, pii.Dev()).Record(context.Background(), queue.Registration{
		Reference: ref, State: state, Name: "Siti", IDNumber: id, Phone: "+60123456789",
		Email: "siti@example.com", Lang: "ms", Contact: booking.ContactEmail, ReceivedAt: at,
	}, "m-"+ref)
	if err != nil {
		t.Fatalf("record registration of %s: %v", id, err)
	}
	if err := f.recs.Set(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestRound_RedisWipeRebuildsEveryRecordAndMarkFromPostgres: after Redis
// lost everything, one round gives every registration (queued with its
// place, invited, booked, expired, duplicate, and one in a state not yet
// open) the same answer as before, and the mark its `ahead` counts from.
func TestRound_RedisWipeRebuildsEveryRecordAndMarkFromPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 3)
	f.exec(t, `UPDATE states SET mode = 'queue', opens_at = $1 WHERE code = 'johor'`, t0.Add(24*time.Hour))
	var refs []string
	for i := range 8 {
		refs = append(refs, f.recordVia(t, state, fmt.Sprintf("A%07d", i), opensAt.Add(time.Duration(i)*time.Second)))
	}
	early := f.recordVia(t, "johor", "A9999999", t0)
	cfg := f.config()
	cfg.TTL = time.Hour
	l := f.loop(t, cfg, nil)
	pass(t, l) // invites 0, 1, 2

	// 0 books with its invitation, and the worker records it booked.
	token := f.messages(t)[notify.KindInvitation][refs[0]][0].Token
	req := booking.Request{Reference: booking.NewReference(), State: state, IDNumber: "A0000000",
		Preferences: []string{"sel-001-2026-12-01-am"}, SubmittedAt: t0.Add(time.Minute), Invitation: token}
	out, err := postgres.NewBookings(f.pool, pii.Dev()).Decide(ctx, req, "b-1")
	if err != nil || out.Record.Status != booking.StatusConfirmed {
		t.Fatalf("book with the invitation: %s, %v", out.Record.Status, err)
	}
	if err := f.recs.Set(ctx, queue.Record{Reference: refs[0], State: state, Status: queue.StatusBooked, BookingReference: req.Reference}); err != nil {
		t.Fatal(err)
	}
	f.setNow(t0.Add(time.Hour))
	pass(t, l) // 1 and 2 expire; their places go to 3 and 4
	dup := f.recordVia(t, state, "A0000006", t0.Add(time.Hour))
	all := append(refs, early, dup)

	before := f.answers(t, all)
	want := []queue.Status{queue.StatusBooked, queue.StatusExpired, queue.StatusExpired, queue.StatusInvited, queue.StatusInvited,
		queue.StatusQueued, queue.StatusQueued, queue.StatusQueued, queue.StatusQueued, queue.StatusDuplicate}
	for i, ref := range all {
		if before[ref].Status != want[i] {
			t.Fatalf("before the wipe, registration %d: %+v, want %s", i, before[ref], want[i])
		}
	}
	if a := before[refs[7]]; a.Ahead != 2 {
		t.Fatalf("before the wipe, the last queued has %d ahead, want 2", a.Ahead)
	}

	if err := f.rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	f.setNow(t0.Add(time.Hour + time.Minute))
	pass(t, l)
	if after := f.answers(t, all); !reflect.DeepEqual(after, before) {
		for i, ref := range all {
			if after[ref] != before[ref] {
				t.Errorf("registration %d after the wipe and a round: %+v, want %+v as before", i, after[ref], before[ref])
			}
		}
	}
	if got := f.invited(t); got != 2 {
		t.Errorf("invited %d after the rebuild, want still 2: a rebuild invites nobody", got)
	}
}

// TestOpening_GivesTheEarlyBatchTheirPlacesInRedis: the records of people
// who registered before opening show no place until the opening draws
// their order; the round that opens the state writes every record again,
// so each sees how many are ahead.
func TestOpening_GivesTheEarlyBatchTheirPlacesInRedis(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	f.exec(t, `UPDATE slots SET booked = capacity`) // nobody invited: every place counts
	var refs []string
	for i := range 4 {
		refs = append(refs, f.recordVia(t, state, fmt.Sprintf("A%07d", i), opensAt.Add(-time.Duration(i+1)*time.Minute)))
	}
	late := f.recordVia(t, state, "A0000009", opensAt.Add(time.Minute))
	if a := f.answers(t, refs)[refs[0]]; a.Ahead != -1 {
		t.Fatalf("before opening: %+v, want no place shown", a)
	}
	pass(t, f.loop(t, f.config(), nil))
	got := map[int64]bool{}
	for ref, a := range f.answers(t, append(refs, late)) {
		if a.Status != queue.StatusQueued || a.Ahead < 0 {
			t.Errorf("%s after opening: %+v, want queued with a place", ref, a)
		}
		got[a.Ahead] = true
	}
	if len(got) != 5 || !got[0] || !got[4] {
		t.Errorf("ahead after opening: got %v, want 0..4 once each", got)
	}
	if a := f.answers(t, []string{late})[late]; a.Ahead != 4 {
		t.Errorf("the one registered after opening: %d ahead, want 4 (behind the early batch)", a.Ahead)
	}
}

// TestRound_CrashHalfwayThenAnotherLoopFinishes: the lease holder dies
// after its first committed batch, before telling anyone; the standby takes
// over and finishes the round. Nobody is invited twice, no place is held
// twice, and every invitee is asked for exactly once.
func TestRound_CrashHalfwayThenAnotherLoopFinishes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 9)
	f.register(t, times(15, opensAt, time.Second)...)
	cfg := f.config()
	cfg.Batch = 4
	a, b := f.loop(t, cfg, nil), f.loop(t, cfg, nil)
	crashAfterFirstBatch(t, a)
	a.Close() // the process is gone, and its lease with it
	if got := f.invited(t); got != 4 {
		t.Fatalf("after the crash: invited %d, want the first batch of 4", got)
	}
	pass(t, b)
	if got := f.invited(t); got != 9 {
		t.Errorf("after the take-over: invited %d, want the 9 free places", got)
	}
	if n := f.count(t, `SELECT count(*) FROM invitations`); n != 9 {
		t.Errorf("%d invitations hold places, want 9", n)
	}
	msgs := f.messages(t)[notify.KindInvitation]
	if len(msgs) != 9 {
		t.Errorf("%d registrations asked for an invitation message, want 9", len(msgs))
	}
	for ref, reqs := range msgs {
		if len(reqs) != 1 {
			t.Errorf("%s asked for %d invitation messages, want 1", ref, len(reqs))
		}
	}
}

// crashAfterFirstBatch runs a pass of l that dies (its context cancelled)
// right after its first committed batch of invitations.
func crashAfterFirstBatch(t *testing.T, l *invite.Loop) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l.AfterBatch(cancel)
	if err := l.Pass(ctx); err == nil {
		t.Fatal("Pass with a crash mid-round: error nil")
	}
	l.AfterBatch(nil)
}
