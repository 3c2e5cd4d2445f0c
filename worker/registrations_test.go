package worker_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

type queueFixture struct {
	pool    *pgxpool.Pool
	rdb     *goredis.Client
	records *redis.Registrations
	handler http.Handler
}

var opened = time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)

// newQueueFixture gives a test its own database with perlis in queue mode
// opening at opensAt (zero: none), and the worker's routes over it.
func newQueueFixture(t *testing.T, opensAt time.Time) queueFixture {
	t.Helper()
	pool := testenv.NewPool(t)
	if _, err := pool.Exec(t.Context(), `INSERT INTO states (code, name) VALUES ('perlis', 'Perlis')`); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.SetStateMode(t.Context(), pool, "perlis", queue.ModeQueue, postgres.OpensAtChange{Change: true, At: opensAt}); err != nil {
		t.Fatal(err)
	}
	rdb := testenv.NewRedis(t)
	f := queueFixture{pool: pool, rdb: rdb, records: redis.NewRegistrations(rdb, time.Hour)}
	f.handler = f.handlerWith(f.records)
	return f
}

func (f queueFixture) handlerWith(records worker.RegistrationRecords) http.Handler {
	return newWorker(f.pool, redis.NewStatuses(f.rdb, time.Hour),
		worker.WithRegistrationsPush(worker.HandleRegistrations(quiet, postgres.NewRegistrar(f.pool, pii.Dev()), records)), worker.WithoutPushAuth())
}

func (f queueFixture) record(t *testing.T, ref string) queue.Record {
	t.Helper()
	rec, err := f.records.Get(context.Background(), ref)
	if err != nil {
		t.Fatalf("record of %s: %v", ref, err)
	}
	return rec
}

func newRegistration(person int, at time.Time) queue.Registration {
	return queue.Registration{
		Reference: booking.NewReference(), State: "perlis", Name: fmt.Sprintf("Person %d", person),
		IDNumber: fmt.Sprintf("9001011%05d", person), Phone: "+60123456789", Email: "p@example.com",
		Lang: "ms", Contact: booking.ContactEmail, ReceivedAt: at,
	}
}

func pushRegistration(t *testing.T, h http.Handler, id string, reg any) int {
	t.Helper()
	return push(t, h, worker.RegistrationsPushPath, envelope(t, id, reg))
}

func TestRegistrations_QueuesThenASecondRegistrationIsDuplicateKeepingTheFirstPlace(t *testing.T) {
	t.Parallel()
	f := newQueueFixture(t, time.Time{})
	first, other, again := newRegistration(1, opened), newRegistration(2, opened.Add(time.Second)), newRegistration(1, opened.Add(time.Minute))
	for i, reg := range []queue.Registration{first, other, again} {
		if got := pushRegistration(t, f.handler, fmt.Sprint("m", i), reg); got != http.StatusNoContent {
			t.Fatalf("push %d: got %d, want 204", i, got)
		}
	}
	if got := f.record(t, first.Reference); got.Status != queue.StatusQueued || got.Place != 1 {
		t.Errorf("first: got %+v, want queued at place 1", got)
	}
	if got := f.record(t, other.Reference); got.Status != queue.StatusQueued || got.Place != 2 {
		t.Errorf("other: got %+v, want queued at place 2", got)
	}
	if got := f.record(t, again.Reference); got.Status != queue.StatusDuplicate || got.Place != 0 {
		t.Errorf("again: got %+v, want duplicate without a place", got)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM registrations WHERE reference = $1 AND status = 'queued' AND place = 1`, first.Reference); n != 1 {
		t.Errorf("first in Postgres after the duplicate: %d rows queued at place 1, want 1", n)
	}
}

func TestRegistrations_RedeliveryHasItsEffectOnce(t *testing.T) {
	t.Parallel()
	f := newQueueFixture(t, time.Time{})
	reg := newRegistration(1, opened)
	for range 3 {
		if got := pushRegistration(t, f.handler, "m1", reg); got != http.StatusNoContent {
			t.Fatalf("push: got %d, want 204", got)
		}
	}
	if n := count(t, f.pool, `SELECT count(*) FROM registrations`); n != 1 {
		t.Errorf("registrations: got %d, want 1", n)
	}
	if got := f.record(t, reg.Reference); got.Status != queue.StatusQueued || got.Place != 1 {
		t.Errorf("record: got %+v, want queued at place 1", got)
	}
}

func TestRegistrations_MalformedMessagesAreRecordedAndAcknowledged(t *testing.T) {
	t.Parallel()
	f := newQueueFixture(t, time.Time{})
	mod := func(change func(*queue.Registration)) queue.Registration {
		r := newRegistration(1, opened)
		change(&r)
		return r
	}
	cases := []struct {
		name string
		data any
	}{
		{"not JSON", []byte("not json")},
		{"no reference", mod(func(r *queue.Registration) { r.Reference = "" })},
		{"no received_at", mod(func(r *queue.Registration) { r.ReceivedAt = time.Time{} })},
		{"phone not normalised", mod(func(r *queue.Registration) { r.Phone = "0123456789" })},
		{"bad email", mod(func(r *queue.Registration) { r.Email = "nobody" })},
		{"no name", mod(func(r *queue.Registration) { r.Name = "" })},
		{"bad contact", mod(func(r *queue.Registration) { r.Contact = "fax" })},
		{"no lang", mod(func(r *queue.Registration) { r.Lang = "" })},
		{"unknown state", mod(func(r *queue.Registration) { r.State = "atlantis" })},
	}
	for i, tc := range cases {
		id := fmt.Sprint("bad-", i)
		if got := pushRegistration(t, f.handler, id, tc.data); got != http.StatusNoContent {
			t.Errorf("%s: got %d, want 204", tc.name, got)
		}
		if n := count(t, f.pool, `SELECT count(*) FROM rejected_messages WHERE message_id = $1 AND reason <> ''`, id); n != 1 {
			t.Errorf("%s: %d rejected records, want 1", tc.name, n)
		}
	}
	if n := count(t, f.pool, `SELECT count(*) FROM registrations`); n != 0 {
		t.Errorf("registrations: got %d, want 0", n)
	}
}

func TestRegistrations_OutOfOrderDeliveryQueuesByReceivedAt(t *testing.T) {
	t.Parallel()
	f := newQueueFixture(t, time.Time{})
	early, late := newRegistration(1, opened), newRegistration(2, opened.Add(time.Millisecond))
	pushRegistration(t, f.handler, "m2", late)
	pushRegistration(t, f.handler, "m1", early)
	if n := count(t, f.pool, `SELECT count(*) FROM registrations a JOIN registrations b ON a.queue_key < b.queue_key
		WHERE a.reference = $1 AND b.reference = $2`, early.Reference, late.Reference); n != 1 {
		t.Errorf("the earlier-received registration does not sort first")
	}
	if got := f.record(t, early.Reference); got.Place != 1 {
		t.Errorf("early, delivered last: got %+v, want place 1", got)
	}
}

func TestRegistrations_BeforeOpeningNoPlaceUntilTheStateOpens(t *testing.T) {
	t.Parallel()
	f := newQueueFixture(t, opened)
	reg := newRegistration(1, opened.Add(-time.Hour))
	if got := pushRegistration(t, f.handler, "m1", reg); got != http.StatusNoContent {
		t.Fatalf("push: got %d, want 204", got)
	}
	if got := f.record(t, reg.Reference); got.Status != queue.StatusQueued || got.Place != 0 {
		t.Errorf("record: got %+v, want queued without a place", got)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM registrations WHERE queue_key IS NULL AND place IS NULL`); n != 1 {
		t.Errorf("rows without key and place: got %d, want 1", n)
	}
}

// brokenRecords fails every write, as Redis down would.
type brokenRecords struct{}

func (brokenRecords) Set(context.Context, queue.Record) error { return errors.New("redis down") }

func TestRegistrations_RedisFailureIs503AndTheRedeliveryRewritesTheRecord(t *testing.T) {
	t.Parallel()
	f := newQueueFixture(t, time.Time{})
	reg := newRegistration(1, opened)
	if got := pushRegistration(t, f.handlerWith(brokenRecords{}), "m1", reg); got != http.StatusServiceUnavailable {
		t.Fatalf("push with Redis down: got %d, want 503 so Pub/Sub redelivers", got)
	}
	if got := pushRegistration(t, f.handler, "m1", reg); got != http.StatusNoContent {
		t.Fatalf("redelivery: got %d, want 204", got)
	}
	if got := f.record(t, reg.Reference); got.Status != queue.StatusQueued || got.Place != 1 {
		t.Errorf("record after redelivery: got %+v, want queued at place 1", got)
	}
	// Redis lost later (a fresh, empty store): a redelivery rebuilds it
	// from Postgres, invitation included.
	exp := opened.Add(48 * time.Hour)
	if _, err := f.pool.Exec(t.Context(), `UPDATE registrations SET status = 'invited' WHERE reference = $1`, reg.Reference); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(t.Context(), `INSERT INTO invitations (token_hash, registration, state_code, id_number, expires_at)
		VALUES ('h', $1, 'perlis', $2, $3)`, reg.Reference, reg.IDNumber, exp); err != nil {
		t.Fatal(err)
	}
	fresh := redis.NewRegistrations(testenv.NewRedis(t), time.Hour)
	if got := pushRegistration(t, f.handlerWith(fresh), "m1", reg); got != http.StatusNoContent {
		t.Fatalf("redelivery to a lost Redis: got %d, want 204", got)
	}
	got, err := fresh.Get(t.Context(), reg.Reference)
	if err != nil || got.Status != queue.StatusInvited || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
		t.Errorf("rebuilt record: got %+v, %v; want invited expiring %s", got, err, exp)
	}
}
