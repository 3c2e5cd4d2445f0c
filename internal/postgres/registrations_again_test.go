package postgres_test

import (
	"sync"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/queue"
)

// A second registration: duplicate while the first is live (queued or
// invited), a fresh place at the back once the first expired.
func TestRecord_SecondRegistrationWhileInvitedIsDuplicateAndAfterExpiryQueuesAgain(t *testing.T) {
	t.Parallel()
	pool, r := registrarOn(t, time.Time{})
	first := registration(1, t0)
	mustRecord(t, r, first, "m1")
	mustRecord(t, r, registration(2, t0.Add(time.Second)), "m2")
	if _, err := pool.Exec(t.Context(), `UPDATE registrations SET status = 'invited' WHERE reference = $1`, first.Reference); err != nil {
		t.Fatal(err)
	}
	if rec := mustRecord(t, r, registration(1, t0.Add(time.Minute)), "m3"); rec.Status != queue.StatusDuplicate {
		t.Errorf("again while invited: got %+v, want duplicate", rec)
	}
	if _, err := pool.Exec(t.Context(), `UPDATE registrations SET status = 'expired' WHERE reference = $1`, first.Reference); err != nil {
		t.Fatal(err)
	}
	// The expired e-mail says: register again. That is a new place, at
	// the back, not the old one.
	if rec := mustRecord(t, r, registration(1, t0.Add(time.Hour)), "m4"); rec.Status != queue.StatusQueued || rec.Place != 3 {
		t.Errorf("again after expiry: got %+v, want queued at place 3", rec)
	}
}

// The same person registering from two tabs at once: whatever the
// interleaving of the two transactions, one place is taken, the other is
// duplicate.
func TestRecord_SamePersonManyTimesAtOnceQueuesExactlyOne(t *testing.T) {
	t.Parallel()
	pool, r := registrarOn(t, time.Time{})
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[queue.Status]int{}
	)
	for i := range n {
		reg := registration(1, t0.Add(time.Duration(i)*time.Millisecond))
		wg.Go(func() {
			rec, err := r.Record(t.Context(), reg, "m-"+reg.Reference)
			if err != nil {
				t.Errorf("Record: %v", err)
				return
			}
			mu.Lock()
			seen[rec.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if seen[queue.StatusQueued] != 1 || seen[queue.StatusDuplicate] != n-1 {
		t.Errorf("outcomes: got %v, want 1 queued and %d duplicate", seen, n-1)
	}
	if got := queryInt(t, pool, `SELECT count(*) FROM registrations WHERE status = 'queued' AND place = 1`); got != 1 {
		t.Errorf("queued at place 1: got %d, want 1", got)
	}
}
