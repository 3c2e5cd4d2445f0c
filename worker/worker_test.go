package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub/pubsubtest"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	pool     *pgxpool.Pool
	statuses *redis.Statuses
	handler  http.Handler
}

// newFixture gives a test its own database with two slots at one centre:
// sel-001-am (capacity amCap) and sel-001-pm (capacity pmCap).
func newFixture(t *testing.T, amCap, pmCap int) fixture {
	t.Helper()
	pool := testenv.NewPool(t)
	testenv.MustSeed(t, pool,
		listing.SlotRow{CenterName: "Dewan A", CenterAddress: "Jalan 1, Shah Alam", SlotID: "sel-001-am", Capacity: amCap},
		listing.SlotRow{CenterName: "Dewan A", CenterAddress: "Jalan 1, Shah Alam", SlotID: "sel-001-pm", Time: "14:00-18:00", Capacity: pmCap},
	)
	statuses := redis.NewStatuses(testenv.NewRedis(t), time.Hour)
	return fixture{pool: pool, statuses: statuses, handler: newWorker(pool, statuses, worker.WithoutPushAuth())}
}

// quiet is the log of the workers under test.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newWorker is the worker over pool, deciding with the dev pepper.
func newWorker(pool *pgxpool.Pool, statuses worker.StatusWriter, opts ...worker.Option) http.Handler {
	return worker.NewHandler(quiet, "test", postgres.NewBookings(pool, pii.Dev()), statuses, opts...)
}

// envelope is the push body for a message under messageID whose data is v
// as JSON, or v itself when it is already bytes.
func envelope(t testing.TB, messageID string, v any) []byte {
	t.Helper()
	data, raw := v.([]byte)
	if !raw {
		data = pubsubtest.JSON(t, v)
	}
	return pubsubtest.Envelope(t, pubsubtest.Message{ID: messageID, Data: data, Attributes: map[string]string{"k": "v"}})
}

// push posts body to h at path and returns the status code.
func push(t testing.TB, h http.Handler, path string, body []byte) int {
	t.Helper()
	return pushWith(t, h, path, "", body)
}

// count runs a query that counts rows.
func count(t testing.TB, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// pushEach pushes reqs in order as messages m1, m2, … and returns the
// status code the last one got.
func (f fixture) pushEach(t *testing.T, reqs ...booking.Request) int {
	t.Helper()
	var code int
	for i, req := range reqs {
		code = push(t, f.handler, worker.PushPath, envelope(t, fmt.Sprintf("m%d", i+1), req))
	}
	return code
}

func (f fixture) status(t *testing.T, ref string) booking.StatusRecord {
	t.Helper()
	rec, err := f.statuses.Get(context.Background(), ref)
	if err != nil {
		t.Fatalf("status of %s: %v", ref, err)
	}
	return rec
}

func (f fixture) booked(t *testing.T, slot string) int {
	t.Helper()
	return count(t, f.pool, `SELECT booked FROM slots WHERE id = $1`, slot)
}

func TestPush_ConfirmsFirstPreferenceWithRoom(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, 5)
	req := testenv.NewRequest(1, "sel-001-am", "sel-001-pm")

	if got := push(t, f.handler, worker.PushPath, envelope(t, "m1", req)); got != http.StatusNoContent {
		t.Fatalf("push: got %d, want 204", got)
	}
	got := f.status(t, req.Reference)
	if got.Status != booking.StatusConfirmed || got.Slot == nil || got.Slot.ID != "sel-001-pm" {
		t.Fatalf("status: got %+v, want confirmed in sel-001-pm", got)
	}
	want := booking.SlotInfo{ID: "sel-001-pm", CenterID: "sel-001", CenterName: "Dewan A", Address: "Jalan 1, Shah Alam", Date: "2026-12-01", Time: "14:00-18:00"}
	if *got.Slot != want {
		t.Errorf("slot: got %+v, want %+v", *got.Slot, want)
	}
	if n := f.booked(t, "sel-001-pm"); n != 1 {
		t.Errorf("booked: got %d, want 1", n)
	}
}

func TestPush_FullWhenEveryPreferenceIsTaken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, 0)
	first, second := testenv.NewRequest(1, "sel-001-am"), testenv.NewRequest(2, "sel-001-am", "sel-001-pm")
	if got := f.pushEach(t, first, second); got != http.StatusNoContent {
		t.Fatalf("push: got %d, want 204", got)
	}
	if got := f.status(t, second.Reference); got.Status != booking.StatusFull || got.Slot != nil {
		t.Errorf("status: got %+v, want full without a slot", got)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings WHERE reference = $1 AND status = 'full'`, second.Reference); n != 1 {
		t.Errorf("full bookings recorded: got %d, want 1", n)
	}
}

// A person's second booking turns on how their first one ended: after a
// confirmed one it is a duplicate and takes no place, after a full one it
// is a fresh try.
func TestPush_SecondBookingBySamePerson(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		amCap, pmCap int
		want         booking.Status
		wantBookedPM int
	}{
		{"IsDuplicateAfterAConfirmedOne", 5, 5, booking.StatusDuplicate, 0},
		{"MayTryAgainAfterAFullOne", 0, 1, booking.StatusConfirmed, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.amCap, tt.pmCap)
			first, again := testenv.NewRequest(7, "sel-001-am"), testenv.NewRequest(7, "sel-001-pm")
			f.pushEach(t, first, again)
			if got := f.status(t, again.Reference); got.Status != tt.want {
				t.Errorf("status after the first booking: got %+v, want %s", got, tt.want)
			}
			if n := f.booked(t, "sel-001-pm"); n != tt.wantBookedPM {
				t.Errorf("places booked by the second: got %d, want %d", n, tt.wantBookedPM)
			}
		})
	}
}

// GET /status serves a duplicate's record as it is: knowing someone's IC
// must not reveal their booking's reference, centre, date or time.
func TestPush_DuplicateStatusNamesNothingOfTheOtherBooking(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 5)
	first, again := testenv.NewRequest(7, "sel-001-am"), testenv.NewRequest(7, "sel-001-pm")
	f.pushEach(t, first, again)
	body, err := f.statuses.GetRaw(context.Background(), again.Reference)
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{first.Reference, "sel-001", "Dewan A", "Jalan 1", `2026-12-01"`, "08:00", "existing"} {
		if bytes.Contains(body, []byte(other)) {
			t.Errorf("the duplicate's status names the other booking (%q): %s", other, body)
		}
	}
}

func TestPush_RedeliveryHasItsEffectOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 5)
	req := testenv.NewRequest(1, "sel-001-am")
	body := envelope(t, "m1", req)
	for i := range 3 {
		if got := push(t, f.handler, worker.PushPath, body); got != http.StatusNoContent {
			t.Fatalf("delivery %d: got %d, want 204", i+1, got)
		}
	}
	// The same reference under a new message id (a publish retried by the
	// API after a lost acknowledgement) is the same booking too.
	push(t, f.handler, worker.PushPath, envelope(t, "m1-republished", req))

	if n := f.booked(t, "sel-001-am"); n != 1 {
		t.Errorf("booked: got %d, want 1", n)
	}
	if got := f.status(t, req.Reference); got.Status != booking.StatusConfirmed {
		t.Errorf("status: got %s, want confirmed", got.Status)
	}
}

func TestPush_ConcurrentPushesNeverOverbook(t *testing.T) {
	t.Parallel()
	const capacity, people = 7, 60
	f := newFixture(t, capacity, capacity)

	var wg sync.WaitGroup
	reqs := make([]booking.Request, people)
	for i := range people {
		reqs[i] = testenv.NewRequest(i, "sel-001-am", "sel-001-pm")
		wg.Go(func() {
			// Every message is delivered twice, concurrently.
			body := envelope(t, fmt.Sprintf("m%d", i), reqs[i])
			var inner sync.WaitGroup
			for range 2 {
				inner.Go(func() {
					if got := push(t, f.handler, worker.PushPath, body); got != http.StatusNoContent {
						t.Errorf("push %d: got %d, want 204", i, got)
					}
				})
			}
			inner.Wait()
		})
	}
	wg.Wait()

	if am, pm := f.booked(t, "sel-001-am"), f.booked(t, "sel-001-pm"); am != capacity || pm != capacity {
		t.Errorf("booked: got am %d pm %d, want %d each", am, pm, capacity)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings`); n != people {
		t.Errorf("bookings: got %d, want one per person (%d)", n, people)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings WHERE status = 'confirmed'`); n != 2*capacity {
		t.Errorf("confirmed: got %d, want %d", n, 2*capacity)
	}
	var confirmed int
	for _, r := range reqs {
		if f.status(t, r.Reference).Status == booking.StatusConfirmed {
			confirmed++
		}
	}
	if confirmed != 2*capacity {
		t.Errorf("confirmed status records: got %d, want %d", confirmed, 2*capacity)
	}
}

func TestPush_SamePersonConcurrentlyHoldsOneBooking(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 50, 50)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			push(t, f.handler, worker.PushPath, envelope(t, fmt.Sprintf("m%d", i), testenv.NewRequest(42, "sel-001-am", "sel-001-pm")))
		})
	}
	wg.Wait()
	if n := count(t, f.pool, `SELECT count(*) FROM bookings WHERE status = 'confirmed'`); n != 1 {
		t.Errorf("confirmed bookings for one person: got %d, want 1", n)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings WHERE status = 'duplicate'`); n != 9 {
		t.Errorf("duplicates: got %d, want 9", n)
	}
	if got := f.booked(t, "sel-001-am") + f.booked(t, "sel-001-pm"); got != 1 {
		t.Errorf("places taken: got %d, want 1", got)
	}
}

func TestPush_MalformedMessageIsRecordedAndAcknowledged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 5)
	noPrefs := testenv.NewRequest(1)
	badRef := testenv.NewRequest(2, "sel-001-am")
	badRef.Reference = "not a reference"
	cases := []struct {
		name, messageID string
		body            []byte
	}{
		{"data not JSON", "bad-json", envelope(t, "bad-json", []byte("{nope"))},
		{"no preferences", "no-prefs", envelope(t, "no-prefs", noPrefs)},
		{"bad reference", "bad-ref", envelope(t, "bad-ref", badRef)},
		{"data not base64", "bad-b64", []byte(`{"message":{"data":"%%%","messageId":"bad-b64"},"subscription":"s"}`)},
		{"no data", "no-data", []byte(`{"message":{"messageId":"no-data"},"subscription":"s"}`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // a redelivery is recorded once
				if got := push(t, f.handler, worker.PushPath, tc.body); got != http.StatusNoContent {
					t.Fatalf("push: got %d, want 204 (acknowledged)", got)
				}
			}
			if n := count(t, f.pool, `SELECT count(*) FROM rejected_messages WHERE message_id = $1 AND reason <> ''`, tc.messageID); n != 1 {
				t.Errorf("rejected rows: got %d, want 1", n)
			}
		})
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings`); n != 0 {
		t.Errorf("bookings from malformed messages: got %d, want 0", n)
	}
}

func TestPush_DatabaseDownAsksForRedelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 5)
	f.pool.Close()
	if got := push(t, f.handler, worker.PushPath, envelope(t, "m1", testenv.NewRequest(1, "sel-001-am"))); got < 500 {
		t.Errorf("push with the database down: got %d, want 5xx so Pub/Sub redelivers", got)
	}
}

func TestPush_RedisDownAsksForRedeliveryAndRedeliveryWritesStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 5)
	req := testenv.NewRequest(1, "sel-001-am")
	body := envelope(t, "m1", req)

	down, err := redis.Open(context.Background(), testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	down.Close() // every command now fails
	broken := newWorker(f.pool, redis.NewStatuses(down, time.Hour), worker.WithoutPushAuth())
	if got := push(t, broken, worker.PushPath, body); got < 500 {
		t.Fatalf("push with Redis down: got %d, want 5xx", got)
	}
	for h, want := range map[http.Handler]int{broken: 503, f.handler: 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != want {
			t.Errorf("readyz: got %d, want %d", rec.Code, want)
		}
	}
	if got := push(t, f.handler, worker.PushPath, body); got != http.StatusNoContent {
		t.Fatalf("redelivery: got %d, want 204", got)
	}
	if got := f.status(t, req.Reference); got.Status != booking.StatusConfirmed {
		t.Errorf("status after redelivery: got %s, want confirmed", got.Status)
	}
	if n := f.booked(t, "sel-001-am"); n != 1 {
		t.Errorf("booked: got %d, want 1", n)
	}
}
