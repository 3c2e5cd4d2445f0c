package cachefill_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/cachefill"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// A long interval keeps Run to its first pass, so a test decides when the
// next one happens by calling Pass itself.
const never = time.Hour

var stateCodes = []string{"johor", "perlis", "selangor"}

type fixture struct {
	dbURL string
	pool  *pgxpool.Pool
	rdb   *goredis.Client
}

// newFixture gives a test its own database and Redis db holding: selangor
// with two centres and three slots, johor with one slot, and perlis with no
// centres at all.
func newFixture(t *testing.T) fixture {
	t.Helper()
	f := fixture{dbURL: testenv.DatabaseURL(t), rdb: testenv.NewRedis(t)}
	f.pool = f.openPool(t)
	testenv.MustSeed(t, f.pool,
		listing.SlotRow{StateCode: "johor", CenterID: "jhr-001", CenterName: "Dewan J", CenterAddress: "Jalan J", SlotID: "jhr-001-2026-12-01-am", Capacity: 40},
		listing.SlotRow{CenterName: "Dewan A", CenterAddress: "Jalan 1, Shah Alam", SlotID: "sel-001-2026-12-01-am", Capacity: 300, Booked: 288},
		listing.SlotRow{CenterName: "Dewan A", CenterAddress: "Jalan 1, Shah Alam", SlotID: "sel-001-2026-12-01-pm", Time: "14:00-18:00", Capacity: 100, Booked: 100},
		listing.SlotRow{CenterID: "sel-002", CenterName: "Dewan B", CenterAddress: "Jalan 2, Klang", SlotID: "sel-002-2026-12-02-am", Date: "2026-12-02", Capacity: 5},
	)
	// The seed format has no way to say "a state with no centres yet".
	f.exec(t, `INSERT INTO states (code, name) VALUES ('perlis', 'Perlis')`)
	return f
}

// openPool opens another pool on the test's database, as a second cache-fill
// process would.
func (f fixture) openPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return testenv.OpenPool(t, f.dbURL)
}

func (f fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := f.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// countingSink is the real Redis sink, counting writes so a test can tell a
// standby that wrote nothing from one that wrote what was already there.
type countingSink struct {
	*redis.Listings
	writes atomic.Int64
	// failing is how many of the next writes fail, as a Redis gone away
	// would make them.
	failing atomic.Int64
}

var errRedisAway = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func (s *countingSink) Write(ctx context.Context, docs listing.Documents, at time.Time) error {
	s.writes.Add(1)
	if s.failing.Add(-1) >= 0 {
		return errRedisAway
	}
	return s.Listings.Write(ctx, docs, at)
}

func (f fixture) newLoop(t *testing.T, pool *pgxpool.Pool, interval time.Duration) (*cachefill.Loop, *countingSink) {
	t.Helper()
	return f.newLoopLogging(t, pool, interval, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func (f fixture) newLoopLogging(t *testing.T, pool *pgxpool.Pool, interval time.Duration, log *slog.Logger) (*cachefill.Loop, *countingSink) {
	t.Helper()
	// As production wires it (cmd/vaxbook, devstack).
	sink := &countingSink{Listings: redis.NewListings(f.rdb).GuardingStatuses()}
	l := cachefill.New(log, pool, sink, redis.NewStatuses(f.rdb, time.Hour), cachefill.Config{Interval: interval, StatusTTL: time.Hour})
	// A leader driven by Pass keeps its lease's connection checked out, and
	// pool.Close would wait for it.
	t.Cleanup(l.Close)
	return l, sink
}

// newFixtureWithLoop is newFixture with a loop on its pool that passes
// only when the test calls pass.
func newFixtureWithLoop(t *testing.T) (fixture, *cachefill.Loop) {
	t.Helper()
	f := newFixture(t)
	l, _ := f.newLoop(t, f.pool, never)
	return f, l
}

func pass(t *testing.T, l *cachefill.Loop) {
	t.Helper()
	if err := l.Pass(context.Background()); err != nil {
		t.Fatalf("pass: %v", err)
	}
}

// state reads one state's document as the API does.
func (f fixture) state(t *testing.T, code string) listing.Rendered {
	t.Helper()
	r, err := redis.NewListings(f.rdb).State(context.Background(), code)
	if err != nil {
		t.Fatalf("read %s: %v", code, err)
	}
	return r
}

// statesList reads the /states document as the API does.
func (f fixture) statesList(t *testing.T) listing.Rendered {
	t.Helper()
	r, err := redis.NewListings(f.rdb).States(context.Background())
	if err != nil {
		t.Fatalf("read states: %v", err)
	}
	return r
}

func (f fixture) document(t *testing.T, code string) listing.Document {
	t.Helper()
	var doc listing.Document
	if err := json.Unmarshal(f.state(t, code).Body, &doc); err != nil {
		t.Fatalf("decode %s: %v", code, err)
	}
	return doc
}

func (f fixture) slot(t *testing.T, code, id string) listing.Slot {
	t.Helper()
	for _, c := range f.document(t, code).Centers {
		for _, s := range c.Slots {
			if s.ID == id {
				return s
			}
		}
	}
	t.Fatalf("%s: no slot %s", code, id)
	return listing.Slot{}
}

// everything is every key as stored: each document hash in full, and the
// heartbeat (the one plain value) only as present, since every pass moves it.
func (f fixture) everything(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := f.rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{}
	for _, k := range keys {
		typ, err := f.rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if typ != "hash" {
			all[k] = "present"
			continue
		}
		h, err := f.rdb.HGetAll(ctx, k).Result()
		if err != nil {
			t.Fatalf("HGETALL %s: %v", k, err)
		}
		all[k] = fmt.Sprint(h)
	}
	return all
}

func (f fixture) keyCount(t *testing.T) int64 {
	t.Helper()
	n, err := f.rdb.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// run starts l.Run and returns a stop that cancels it and reports how long
// Run took to return.
func run(t *testing.T, l *cachefill.Loop) (stop func() time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	stopped := false
	stop = func() time.Duration {
		if stopped {
			return 0
		}
		stopped = true
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: got %v, want nil after cancel", err)
			}
			return time.Since(start)
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10s of its context being cancelled")
			return 0
		}
	}
	t.Cleanup(func() { stop() })
	return stop
}

// takesOver checks that l's passes make it the writer once the leader has
// stopped. A stopped leader unlocks explicitly, so the first pass usually
// does; but when the unlock could not be sent (a pass cancelled mid-query
// closes its connection), Postgres frees the lock only once it notices the
// closed connection, a moment later on a busy machine, so l keeps passing.
func takesOver(t *testing.T, l *cachefill.Loop) {
	t.Helper()
	eventually(t, "a standby's pass takes the lease the stopped leader gave up", func() bool {
		pass(t, l)
		_, leader, _ := l.Healthy()
		return leader
	})
}

func leaderWrote(l *cachefill.Loop) bool {
	_, leader, last := l.Healthy()
	return leader && last.UnixMilli() > 0
}

func TestPass_WritesEveryStateTheStatesListAndTheHeartbeat(t *testing.T) {
	t.Parallel()
	f, l := newFixtureWithLoop(t)

	before := time.Now()
	pass(t, l)
	after := time.Now()

	for _, code := range stateCodes {
		r := f.state(t, code)
		if got, want := r.ETag, listing.ETag(r.Body); got != want {
			t.Errorf("%s ETag: got %s, want %s (the ETag of the body)", code, got, want)
		}
		zr, err := gzip.NewReader(bytes.NewReader(r.Gzip))
		if err != nil {
			t.Fatalf("%s gzip: %v", code, err)
		}
		if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, r.Body) {
			t.Errorf("%s gzip: got %q, %v; want the body", code, plain, err)
		}
	}

	selangor := f.document(t, "selangor")
	want := []listing.Center{
		{ID: "sel-001", Name: "Dewan A", Address: "Jalan 1, Shah Alam", Slots: []listing.Slot{
			{ID: "sel-001-2026-12-01-am", Date: "2026-12-01", Time: "08:00-13:00", Capacity: 300, Available: 12, Open: true},
			{ID: "sel-001-2026-12-01-pm", Date: "2026-12-01", Time: "14:00-18:00", Capacity: 100, Available: 0, Open: false},
		}},
		{ID: "sel-002", Name: "Dewan B", Address: "Jalan 2, Klang", Slots: []listing.Slot{
			{ID: "sel-002-2026-12-02-am", Date: "2026-12-02", Time: "08:00-13:00", Capacity: 5, Available: 5, Open: true},
		}},
	}
	if selangor.State != "selangor" || !reflect.DeepEqual(selangor.Centers, want) {
		t.Errorf("selangor:\n got %+v\nwant centres %+v", selangor, want)
	}
	if g := selangor.GeneratedAt; g.Before(before.Truncate(time.Second)) || g.After(after) {
		t.Errorf("generated_at: got %v, want between %v and %v", g, before, after)
	}
	if got := f.state(t, "perlis").Body; !bytes.Contains(got, []byte(`"centers":[]`)) {
		t.Errorf("perlis: got %s, want \"centers\":[]", got)
	}

	var states listing.StatesDocument
	if err := json.Unmarshal(f.statesList(t).Body, &states); err != nil {
		t.Fatal(err)
	}
	wantStates := []listing.State{{Code: "johor", Name: "Johor", Mode: "open"}, {Code: "perlis", Name: "Perlis", Mode: "open"}, {Code: "selangor", Name: "Selangor", Mode: "open"}}
	if !reflect.DeepEqual(states.States, wantStates) {
		t.Errorf("states: got %+v, want %+v", states.States, wantStates)
	}

	hb, err := redis.NewListings(f.rdb).Heartbeat(context.Background())
	if err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	if hb.Before(before.Truncate(time.Millisecond)) || hb.After(after) {
		t.Errorf("heartbeat: got %v, want between %v and %v", hb, before, after)
	}
	if n := f.keyCount(t); n != int64(len(stateCodes))+3 {
		t.Errorf("keys: got %d, want %d (a document per state, the states list, the heartbeat, the status records' mark)", n, len(stateCodes)+3)
	}
	if ok, leader, _ := l.Healthy(); !ok || !leader {
		t.Errorf("Healthy: got ok %v leader %v, want true, true", ok, leader)
	}
}

func TestPass_ModeChangeReachesTheStatesListAtTheNextPass(t *testing.T) {
	t.Parallel()
	f, l := newFixtureWithLoop(t)
	pass(t, l)
	before := f.statesList(t)
	if !bytes.Contains(before.Body, []byte(`{"code":"perlis","name":"Perlis","mode":"open"}`)) {
		t.Fatalf("before: states list %s, want perlis open with no opens_at", before.Body)
	}
	f.exec(t, `UPDATE states SET mode = 'queue', opens_at = '2026-12-01T09:00:00+08:00' WHERE code = 'perlis'`)
	pass(t, l)
	after := f.statesList(t)
	if !bytes.Contains(after.Body, []byte(`{"code":"perlis","name":"Perlis","mode":"queue","opens_at":"2026-12-01T01:00:00Z"}`)) {
		t.Errorf("after: states list %s, want perlis in queue mode opening 2026-12-01T01:00:00Z", after.Body)
	}
	if after.ETag == before.ETag {
		t.Errorf("ETag stayed %s although the list changed", after.ETag)
	}
}

func TestPass_SlotThatFillsUpShowsClosedAtTheNextPass(t *testing.T) {
	t.Parallel()
	f, l := newFixtureWithLoop(t)
	const id = "sel-002-2026-12-02-am"

	pass(t, l)
	if s := f.slot(t, "selangor", id); s.Available != 5 || !s.Open {
		t.Fatalf("before: got available %d open %v, want 5 and true", s.Available, s.Open)
	}
	f.exec(t, `UPDATE slots SET booked = capacity WHERE id = $1`, id)
	pass(t, l)
	if s := f.slot(t, "selangor", id); s.Available != 0 || s.Open {
		t.Errorf("after filling up: got available %d open %v, want 0 and false", s.Available, s.Open)
	}
	if s := f.slot(t, "selangor", "sel-001-2026-12-01-am"); s.Available != 12 || !s.Open {
		t.Errorf("neighbouring slot: got available %d open %v, want 12 and true", s.Available, s.Open)
	}
}

func TestPass_UnchangedStateKeepsItsBytesAndChangedStateGetsANewETag(t *testing.T) {
	t.Parallel()
	f, l := newFixtureWithLoop(t)

	pass(t, l)
	first := map[string]listing.Rendered{}
	for _, code := range stateCodes {
		first[code] = f.state(t, code)
	}
	firstStates := f.statesList(t)
	firstHB, _ := redis.NewListings(f.rdb).Heartbeat(context.Background())

	// generated_at has whole seconds: without the wait a re-render would
	// produce the same bytes and the test could not tell it happened.
	time.Sleep(1100 * time.Millisecond)
	f.exec(t, `UPDATE slots SET booked = booked + 1 WHERE id = 'sel-002-2026-12-02-am'`)
	pass(t, l)

	for _, code := range []string{"johor", "perlis"} {
		got := f.state(t, code)
		if got.ETag != first[code].ETag || !bytes.Equal(got.Body, first[code].Body) || !bytes.Equal(got.Gzip, first[code].Gzip) {
			t.Errorf("%s, unchanged: got ETag %s body %s, want ETag %s body %s", code, got.ETag, got.Body, first[code].ETag, first[code].Body)
		}
	}
	if got := f.statesList(t); got.ETag != firstStates.ETag || !bytes.Equal(got.Body, firstStates.Body) {
		t.Errorf("states list, unchanged: got ETag %s, want %s", got.ETag, firstStates.ETag)
	}
	got := f.state(t, "selangor")
	if got.ETag == first["selangor"].ETag {
		t.Errorf("selangor, changed: ETag stayed %s", got.ETag)
	}
	var before, after listing.Document
	_ = json.Unmarshal(first["selangor"].Body, &before)
	_ = json.Unmarshal(got.Body, &after)
	if !after.GeneratedAt.After(before.GeneratedAt) {
		t.Errorf("selangor generated_at: got %v, want after %v", after.GeneratedAt, before.GeneratedAt)
	}
	if hb, _ := redis.NewListings(f.rdb).Heartbeat(context.Background()); !hb.After(firstHB) {
		t.Errorf("heartbeat: got %v, want after %v", hb, firstHB)
	}
}

func TestPass_OnlyTheLeaseHolderWritesAndAStandbyTakesOverWhenItStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	leader, _ := f.newLoop(t, f.pool, never)
	standby, standbySink := f.newLoop(t, f.openPool(t), never)

	stop := run(t, leader)
	eventually(t, "the first loop has written as leader", func() bool { return leaderWrote(leader) })
	whole := f.everything(t)

	if err := f.rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		pass(t, standby)
	}
	if n := f.keyCount(t); n != 0 {
		t.Errorf("after standby passes: got %d keys, want 0 (the standby must not write)", n)
	}
	if n := standbySink.writes.Load(); n != 0 {
		t.Errorf("standby writes: got %d, want 0", n)
	}
	if ok, isLeader, _ := standby.Healthy(); !ok || isLeader {
		t.Errorf("standby Healthy: got ok %v leader %v, want true, false", ok, isLeader)
	}
	if _, isLeader, _ := leader.Healthy(); !isLeader {
		t.Errorf("first loop Healthy: got leader false, want true")
	}

	if d := stop(); d > 2*time.Second {
		t.Errorf("Run returned %v after cancel, want under 2s", d)
	}
	if _, isLeader, _ := leader.Healthy(); isLeader {
		t.Errorf("stopped loop Healthy: got leader true, want false")
	}
	takesOver(t, standby)
	if got := f.everything(t); !reflect.DeepEqual(keysOfAny(got), keysOfAny(whole)) {
		t.Errorf("after take-over: got keys %v, want %v", keysOfAny(got), keysOfAny(whole))
	}
	if n := standbySink.writes.Load(); n != 1 {
		t.Errorf("new leader writes: got %d, want 1", n)
	}
}

func keysOfAny(m map[string]string) map[string]bool {
	ks := map[string]bool{}
	for k := range m {
		ks[k] = true
	}
	return ks
}

func TestPass_LeaderWhoseConnectionDiesStopsWritingAndAStandbyTakesOver(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first, firstSink := f.newLoop(t, f.pool, never)
	second, secondSink := f.newLoop(t, f.openPool(t), never)

	pass(t, first)
	pass(t, second)
	if _, isLeader, _ := second.Healthy(); isLeader {
		t.Fatal("second loop: got leader true while the first holds the lease")
	}

	// What a crashed or partitioned process looks like to Postgres: its
	// session ends, and the advisory lock with it.
	var killed int
	err := f.pool.QueryRow(context.Background(), `
SELECT count(pg_terminate_backend(pid)) FROM pg_locks
WHERE locktype = 'advisory' AND granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminate the lease holder: got %d sessions, %v; want 1", killed, err)
	}
	eventually(t, "the lock is gone", func() bool {
		var n int
		_ = f.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n)
		return n == 0
	})

	pass(t, second)
	if _, isLeader, _ := second.Healthy(); !isLeader {
		t.Fatal("second loop after the first's session died: got leader false, want true")
	}
	before := firstSink.writes.Load()
	if err := first.Pass(context.Background()); err == nil {
		t.Error("first loop's pass on a dead lease: got nil error, want the lost connection reported")
	}
	pass(t, first)
	if n := firstSink.writes.Load() - before; n != 0 {
		t.Errorf("first loop wrote %d times after losing the lease, want 0", n)
	}
	if _, isLeader, _ := first.Healthy(); isLeader {
		t.Error("first loop: got leader true after losing the lease")
	}
	if n := secondSink.writes.Load(); n != 1 {
		t.Errorf("second loop writes: got %d, want 1", n)
	}
}

func TestPass_FlushedRedisIsWholeAgainAfterTheNextPass(t *testing.T) {
	t.Parallel()
	f, l := newFixtureWithLoop(t)

	pass(t, l)
	want := f.everything(t)
	if err := f.rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	pass(t, l)
	got := f.everything(t)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after FLUSHDB and a pass:\n got %v\nwant %v", keysOfAny(got), keysOfAny(want))
	}
}

func TestRun_WritesAtOnceAndReturnsPromptlyWhenCancelled(t *testing.T) {
	t.Parallel()
	for _, interval := range []time.Duration{20 * time.Millisecond, never} {
		t.Run(interval.String(), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			l, sink := f.newLoop(t, f.pool, interval)
			stop := run(t, l)
			// The first pass must not wait for the first tick.
			eventually(t, "Run's first pass has written", func() bool { return sink.writes.Load() > 0 })
			if interval != never {
				eventually(t, "Run passes again each interval", func() bool { return sink.writes.Load() >= 3 })
			}
			// Cloud Run allows 10s from SIGTERM; the process needs some.
			if d := stop(); d > 8*time.Second {
				t.Errorf("Run returned %v after cancel, want well under Cloud Run's 10s", d)
			}
			// Run gave the lease up: a newcomer becomes the writer.
			next, _ := f.newLoop(t, f.openPool(t), never)
			takesOver(t, next)
		})
	}
}
