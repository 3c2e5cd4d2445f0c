package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// queueState gives a test its own database with perlis in queue mode,
// opening at opensAt (zero: no opening time).
func queueState(t *testing.T, opensAt time.Time) *pgxpool.Pool {
	t.Helper()
	pool := testenv.NewPool(t)
	if _, err := pool.Exec(t.Context(), `INSERT INTO states (code, name) VALUES ('perlis', 'Perlis')`); err != nil {
		t.Fatal(err)
	}
	change := postgres.OpensAtChange{Change: true, At: opensAt}
	if _, err := postgres.SetStateMode(t.Context(), pool, "perlis", queue.ModeQueue, change); err != nil {
		t.Fatal(err)
	}
	return pool
}

// registrarOn is queueState with the registrar over it.
func registrarOn(t *testing.T, opensAt time.Time) (*pgxpool.Pool, *postgres.Registrar) {
	t.Helper()
	pool := queueState(t, opensAt)
	return pool, postgres.NewRegistrar(pool, pii.Dev())
}

var t0 = time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)

func registration(person int, at time.Time) queue.Registration {
	return queue.Registration{
		Reference: booking.NewReference(), State: "perlis", Name: fmt.Sprintf("Person %d", person),
		IDNumber: fmt.Sprintf("9001011%05d", person), Phone: "+60123456789", Email: "p@example.com",
		Lang: "ms", Contact: booking.ContactEmail, ReceivedAt: at,
	}
}

func mustRecord(t *testing.T, r *postgres.Registrar, reg queue.Registration, msgID string) queue.Record {
	t.Helper()
	rec, err := r.Record(t.Context(), reg, msgID)
	if err != nil {
		t.Fatalf("Record(%s): %v", reg.Reference, err)
	}
	return rec
}

func TestSetStateMode_SetsKeepsAndClearsTheOpeningTime(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `INSERT INTO states (code, name) VALUES ('perlis', 'Perlis')`); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.FixedZone("MYT", 8*3600))
	steps := []struct {
		mode     queue.Mode
		change   postgres.OpensAtChange
		wantOpen *time.Time
	}{
		{queue.ModeQueue, postgres.OpensAtChange{Change: true, At: at}, &at},
		{queue.ModeOpen, postgres.OpensAtChange{}, &at},
		{queue.ModeQueue, postgres.OpensAtChange{Change: true}, nil},
	}
	for i, s := range steps {
		got, err := postgres.SetStateMode(ctx, pool, "perlis", s.mode, s.change)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got.Code != "perlis" || got.Mode != s.mode || (got.OpensAt == nil) != (s.wantOpen == nil) ||
			(got.OpensAt != nil && !got.OpensAt.Equal(*s.wantOpen)) {
			t.Errorf("step %d: got %+v (opens %v), want mode %s opens %v", i, got, got.OpensAt, s.mode, s.wantOpen)
		}
		if got.OpensAt != nil && got.OpensAt.Location() != time.UTC {
			t.Errorf("step %d: opens_at in %v, want UTC", i, got.OpensAt.Location())
		}
	}
	_, err := postgres.SetStateMode(ctx, pool, "atlantis", queue.ModeQueue, postgres.OpensAtChange{})
	if !errors.Is(err, postgres.ErrUnknownState) || !strings.Contains(err.Error(), "atlantis") {
		t.Errorf("unknown state: error = %v, want ErrUnknownState naming atlantis", err)
	}
}

func TestRecord_QueuesByArrivalAndASecondRegistrationIsDuplicateKeepingTheFirstPlace(t *testing.T) {
	t.Parallel()
	pool, r := registrarOn(t, time.Time{})
	first, other := registration(1, t0), registration(2, t0.Add(time.Second))
	if rec := mustRecord(t, r, first, "m1"); rec.Status != queue.StatusQueued || rec.Place != 1 {
		t.Fatalf("first: got %+v, want queued at place 1", rec)
	}
	if rec := mustRecord(t, r, other, "m2"); rec.Status != queue.StatusQueued || rec.Place != 2 {
		t.Fatalf("other: got %+v, want queued at place 2", rec)
	}
	again := registration(1, t0.Add(time.Minute))
	if rec := mustRecord(t, r, again, "m3"); rec.Status != queue.StatusDuplicate || rec.Place != 0 {
		t.Errorf("again: got %+v, want duplicate with no place", rec)
	}
	if n := queryInt(t, pool, `SELECT place FROM registrations WHERE reference = $1 AND status = 'queued'`, first.Reference); n != 1 {
		t.Errorf("first's place after the duplicate: got %d, want 1", n)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM registrations WHERE reference = $1 AND status = 'duplicate' AND queue_key IS NULL`, again.Reference); n != 1 {
		t.Errorf("duplicate rows: got %d, want 1 without a queue key", n)
	}
}

func TestRecord_RedeliveryHasItsEffectOnceAndReturnsTheRecordAsItStands(t *testing.T) {
	t.Parallel()
	pool, r := registrarOn(t, time.Time{})
	reg := registration(1, t0)
	first := mustRecord(t, r, reg, "m1")
	if again := mustRecord(t, r, reg, "m1-redelivered"); again != first {
		t.Errorf("redelivery: got %+v, want %+v", again, first)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM registrations`); n != 1 {
		t.Errorf("rows: got %d, want 1", n)
	}
	// Once the loop has invited it, a redelivery reports the invitation.
	exp := t0.Add(48 * time.Hour)
	if _, err := pool.Exec(t.Context(), `UPDATE registrations SET status = 'invited' WHERE reference = $1`, reg.Reference); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), `INSERT INTO invitations (token_hash, registration, state_code, id_number, expires_at)
		VALUES ('h', $1, 'perlis', $2, $3)`, reg.Reference, reg.IDNumber, exp); err != nil {
		t.Fatal(err)
	}
	got := mustRecord(t, r, reg, "m1-late")
	if got.Status != queue.StatusInvited || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.Place != 1 {
		t.Errorf("redelivery after invitation: got %+v, want invited expiring %s", got, exp)
	}
}

func TestRecord_OrdersByReceivedAtWhateverTheDeliveryOrder(t *testing.T) {
	t.Parallel()
	pool, r := registrarOn(t, time.Time{})
	early, late := registration(1, t0), registration(2, t0.Add(time.Millisecond))
	mustRecord(t, r, late, "m2")
	mustRecord(t, r, early, "m1")
	var refs []string
	rows, err := pool.Query(t.Context(), `SELECT reference FROM registrations ORDER BY queue_key, reference`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		refs = append(refs, s)
	}
	if len(refs) != 2 || refs[0] != early.Reference || refs[1] != late.Reference {
		t.Errorf("queue order: got %v, want [%s %s]", refs, early.Reference, late.Reference)
	}
	if n := queryInt(t, pool, `SELECT queue_key FROM registrations WHERE reference = $1`, early.Reference); int64(n) != t0.UnixMicro() {
		t.Errorf("queue_key: got %d, want received_at in microseconds %d", n, t0.UnixMicro())
	}
}

func TestRecord_BeforeOpeningHasNoKeyOrPlaceUntilTheStateOpens(t *testing.T) {
	t.Parallel()
	opens := t0.Add(time.Hour)
	pool, r := registrarOn(t, opens)
	early := registration(1, opens.Add(-time.Second))
	if rec := mustRecord(t, r, early, "m1"); rec.Status != queue.StatusQueued || rec.Place != 0 {
		t.Errorf("early: got %+v, want queued with no place", rec)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM registrations WHERE queue_key IS NULL AND place IS NULL`); n != 1 {
		t.Errorf("early rows without key and place: got %d, want 1", n)
	}
	onTime := registration(2, opens)
	if rec := mustRecord(t, r, onTime, "m2"); rec.Place != 1 {
		t.Errorf("at opens_at: got %+v, want place 1 (the early batch is placed at opening)", rec)
	}
	// Once the state has opened there is no second shuffle: a late message
	// received before opens_at queues by arrival.
	if _, err := pool.Exec(t.Context(), `UPDATE states SET opened_at = now() WHERE code = 'perlis'`); err != nil {
		t.Fatal(err)
	}
	if rec := mustRecord(t, r, registration(3, opens.Add(-time.Minute)), "m3"); rec.Place == 0 {
		t.Errorf("early after opening: got %+v, want a place", rec)
	}
}

func TestRecord_UnknownStateIsErrUnknownState(t *testing.T) {
	t.Parallel()
	_, r := registrarOn(t, time.Time{})
	reg := registration(1, t0)
	reg.State = "atlantis"
	if _, err := r.Record(context.Background(), reg, "m1"); !errors.Is(err, postgres.ErrUnknownState) {
		t.Errorf("Record() error = %v, want ErrUnknownState", err)
	}
}

func TestRecord_PlacesAfterTheInvitedWhenNobodyBeforeIsQueued(t *testing.T) {
	t.Parallel()
	pool, r := registrarOn(t, time.Time{})
	for i := 1; i <= 3; i++ {
		mustRecord(t, r, registration(i, t0.Add(time.Duration(i)*time.Second)), fmt.Sprint("m", i))
	}
	if _, err := pool.Exec(t.Context(), `UPDATE registrations SET status = 'invited'`); err != nil {
		t.Fatal(err)
	}
	if rec := mustRecord(t, r, registration(4, t0.Add(time.Minute)), "m4"); rec.Place != 4 {
		t.Errorf("after three invited: got %+v, want place 4", rec)
	}
}

func TestRecord_ConcurrentTwinsOfOnePersonQueueOnceAndTheRestAreDuplicates(t *testing.T) {
	t.Parallel()
	pool, r := registrarOn(t, time.Time{})
	const twins = 8
	errs := make(chan error, twins)
	for i := range twins {
		go func() {
			_, err := r.Record(t.Context(), registration(1, t0.Add(time.Duration(i)*time.Millisecond)), fmt.Sprintf("m%d", i))
			errs <- err
		}()
	}
	for range twins {
		if err := <-errs; err != nil {
			t.Errorf("Record: %v (a twin must end duplicate, not fail)", err)
		}
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM registrations WHERE status = 'queued'`); n != 1 {
		t.Errorf("queued: got %d, want 1", n)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM registrations WHERE status = 'duplicate'`); n != twins-1 {
		t.Errorf("duplicates: got %d, want %d", n, twins-1)
	}
}

func TestRecord_PeopleRegisteringAtOnceAllQueueWithPlacesInTheState(t *testing.T) {
	t.Parallel()
	pool, r := registrarOn(t, time.Time{})
	const people = 40
	errs := make(chan error, people)
	for i := range people {
		go func() {
			_, err := r.Record(t.Context(), registration(i, t0.Add(time.Duration(i)*time.Millisecond)), fmt.Sprintf("m%d", i))
			errs <- err
		}()
	}
	for range people {
		if err := <-errs; err != nil {
			t.Errorf("Record: %v", err)
		}
	}
	// Side by side, two may count the same place; none is outside 1..people.
	if n := queryInt(t, pool, `SELECT count(*) FROM registrations WHERE status = 'queued' AND place BETWEEN 1 AND $1`, people); n != people {
		t.Errorf("queued with a place in 1..%d: got %d, want %d", people, n, people)
	}
}
