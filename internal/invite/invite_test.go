package invite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/invite"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	secret = "test-invitation-secret-0123456789abcdef"
	topic  = "email-topic"
	state  = "selangor"
)

// The tests' clock: the day before the seeded slots (2026-12-01), and the
// state opens an hour before it.
var (
	t0      = time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	opensAt = t0.Add(-time.Hour)
)

type fixture struct {
	dbURL  string
	pool   *pgxpool.Pool
	rdb    *goredis.Client
	ps     *pstest.Server
	pub    invite.Publisher
	signer *queue.Signer
	recs   *redis.Registrations
	now    atomic.Pointer[time.Time]
}

// newFixture gives a test its own database with selangor in queue mode
// (opening an hour before t0) and capacity places left over its future
// slots, its own Redis db and its own Pub/Sub.
func newFixture(t *testing.T, capacity int) *fixture {
	t.Helper()
	f := &fixture{dbURL: testenv.DatabaseURL(t), rdb: testenv.NewRedis(t)}
	f.pool = f.openPool(t)
	testenv.MustSeed(t, f.pool,
		// 2 of 5 booked in one slot, the rest in another.
		listing.SlotRow{SlotID: "sel-001-2026-12-01-am", Capacity: 5, Booked: 2},
		listing.SlotRow{SlotID: "sel-001-2026-12-02-am", Date: "2026-12-02", Capacity: capacity - 3},
		// Past slots and other states' slots give no places here.
		listing.SlotRow{SlotID: "sel-001-2026-11-29-am", Date: "2026-11-29", Capacity: 1000},
		listing.SlotRow{StateCode: "johor", SlotID: "jhr-001-2026-12-01-am", Capacity: 1000},
	)
	f.exec(t, `UPDATE states SET mode = 'queue', opens_at = $1 WHERE code = $2`, opensAt, state)
	srv, client := testenv.NewPubSub(t, "vaxbook-test")
	if err := pubsub.EnsureTopic(context.Background(), client, topic); err != nil {
		t.Fatal(err)
	}
	p := pubsub.NewRequestPublisher[email.Request](client, topic)
	t.Cleanup(p.Stop)
	f.ps, f.pub = srv, p
	var err error
	if f.signer, err = queue.NewSigner(secret); err != nil {
		t.Fatal(err)
	}
	f.recs = redis.NewRegistrations(f.rdb, time.Hour)
	f.setNow(t0)
	return f
}

func (f *fixture) openPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return testenv.OpenPool(t, f.dbURL)
}

func (f *fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := f.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) setNow(at time.Time) { f.now.Store(&at) }

func (f *fixture) config() invite.Config {
	return invite.Config{Interval: time.Hour, TTL: 48 * time.Hour, Secret: secret, Batch: 500, EmailTopic: topic}
}

// loop builds a loop on its own pool, as another process would have.
func (f *fixture) loop(t *testing.T, cfg invite.Config, pub invite.Publisher) *invite.Loop {
	t.Helper()
	if pub == nil {
		pub = f.pub
	}
	l := invite.New(slog.New(slog.NewTextHandler(io.Discard, nil)), f.openPool(t), f.recs, pub, f.signer, cfg)
	l.SetClock(func() time.Time { return *f.now.Load() })
	t.Cleanup(l.Close)
	return l
}

func pass(t *testing.T, l *invite.Loop) {
	t.Helper()
	if err := l.Pass(context.Background()); err != nil {
		t.Fatalf("Pass: %v", err)
	}
}

// registration is a row as the intake worker records it.
type registration struct {
	ref        string
	id         string
	receivedAt time.Time
	status     string
	key        *int64
	place      *int64
}

// register records n registrations received at the given times, as the
// intake worker would: one received before opens_at without a key or
// place, one after with its arrival as key and a place counting the keyed
// ones before it. It returns their references in the order of times.
func (f *fixture) register(t *testing.T, times ...time.Time) []string {
	t.Helper()
	ctx := context.Background()
	refs := make([]string, len(times))
	for i, at := range times {
		refs[i] = booking.NewReference()
		var key *int64
		if !at.Before(opensAt) {
			k := at.UnixMicro()
			key = &k
		}
		_, err := f.pool.Exec(ctx, `
INSERT INTO registrations (reference, state_code, id_hash, status, name, phone, email, lang, contact, received_at, queue_key, place, message_id)
VALUES ($1, $2, $3, 'queued', 'Siti', '+60123456789', 'siti@example.com', 'ms', 'email', $4, $5::bigint,
        CASE WHEN $5::bigint IS NULL THEN NULL ELSE
            (SELECT count(*) + 1 FROM registrations WHERE state_code = $2 AND queue_key < $5::bigint) END,
        $6)`, refs[i], state, pii.Dev().Hash("P"+refs[i][:11]), at, key, "m-"+refs[i])
		if err != nil {
			t.Fatalf("register %d: %v", i, err)
		}
	}
	return refs
}

func (f *fixture) rows(t *testing.T) map[string]registration {
	t.Helper()
	rows, err := f.pool.Query(context.Background(),
		`SELECT reference, id_hash, received_at, status, queue_key, place FROM registrations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]registration{}
	for rows.Next() {
		var r registration
		if err := rows.Scan(&r.ref, &r.id, &r.receivedAt, &r.status, &r.key, &r.place); err != nil {
			t.Fatal(err)
		}
		out[r.ref] = r
	}
	return out
}

func (f *fixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (f *fixture) invited(t *testing.T) int {
	return f.count(t, `SELECT count(*) FROM registrations WHERE status = 'invited'`)
}

// messages returns the e-mail requests published so far, by kind and
// reference, each with how often it was asked for.
func (f *fixture) messages(t *testing.T) map[notify.Kind]map[string][]email.Request {
	t.Helper()
	out := map[notify.Kind]map[string][]email.Request{}
	for _, m := range f.ps.Messages() {
		var r email.Request
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatal(err)
		}
		if out[r.Kind] == nil {
			out[r.Kind] = map[string][]email.Request{}
		}
		out[r.Kind][r.Reference] = append(out[r.Kind][r.Reference], r)
	}
	return out
}

func times(n int, from time.Time, step time.Duration) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = from.Add(time.Duration(i) * step)
	}
	return out
}

func TestOpening_ShufflesTheEarlyBatchOnceNotInArrivalOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	f.exec(t, `UPDATE slots SET booked = capacity`) // no places: watch the order alone
	early := f.register(t, times(200, opensAt.Add(-time.Hour), time.Second)...)
	late := f.register(t, opensAt.Add(time.Minute), opensAt.Add(2*time.Minute))
	l := f.loop(t, f.config(), nil)
	pass(t, l)

	rows := f.rows(t)
	byPlace := make([]string, 200)
	for _, ref := range early {
		r := rows[ref]
		if r.key == nil || r.place == nil || *r.place < 1 || *r.place > 200 {
			t.Fatalf("early %s: key %v place %v, want a key and a place in 1..200", ref, r.key, r.place)
		}
		if *r.key >= opensAt.UnixMicro() {
			t.Errorf("early %s: key %d not below opens_at %d", ref, *r.key, opensAt.UnixMicro())
		}
		if byPlace[*r.place-1] != "" {
			t.Fatalf("place %d given twice", *r.place)
		}
		byPlace[*r.place-1] = ref
	}
	// Keys follow places, so the invitation order is the place order.
	for i := 1; i < 200; i++ {
		if *rows[byPlace[i-1]].key >= *rows[byPlace[i]].key {
			t.Fatalf("places %d and %d: keys out of order", i, i+1)
		}
	}
	if slices.Equal(byPlace, early) {
		t.Error("the opening order is the arrival order")
	}
	sorted := slices.Sorted(slices.Values(early))
	if slices.Equal(byPlace, sorted) {
		t.Error("the opening order is the reference order")
	}
	for i, ref := range late {
		if got := *rows[ref].place; got != int64(201+i) {
			t.Errorf("late arrival %d: place %d, want %d (after the early batch)", i, got, 201+i)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM states WHERE code = $1 AND opened_at IS NOT NULL`, state); n != 1 {
		t.Error("opened_at not set")
	}

	f.setNow(t0.Add(time.Minute))
	pass(t, l)
	again := f.rows(t)
	for ref, r := range rows {
		if *again[ref].key != *r.key || *again[ref].place != *r.place {
			t.Fatalf("a second round reshuffled %s: key %d→%d place %d→%d", ref, *r.key, *again[ref].key, *r.place, *again[ref].place)
		}
	}
}

func TestOpening_TwoOpeningsDrawDifferentOrders(t *testing.T) {
	t.Parallel()
	order := func() []string {
		f := newFixture(t, 3)
		f.exec(t, `UPDATE slots SET booked = capacity`)
		// The same references in two databases: only the draw differs.
		for i := range 50 {
			f.exec(t, `INSERT INTO registrations (reference, state_code, id_hash, status, name, phone, email, lang, contact, received_at, message_id)
VALUES ($1, $2, $3, 'queued', 'A', '+60123456789', 'a@example.com', 'en', 'email', $4, 'm')`,
				fmt.Sprintf("ABCDEFGHJK2%05d", i), state, pii.Dev().Hash(fmt.Sprintf("9001011%05d", i)), opensAt.Add(-time.Hour))
		}
		pass(t, f.loop(t, f.config(), nil))
		var refs []string
		rows, _ := f.pool.Query(context.Background(), `SELECT reference FROM registrations ORDER BY place`)
		for rows.Next() {
			var r string
			_ = rows.Scan(&r)
			refs = append(refs, r)
		}
		return refs
	}
	if a, b := order(), order(); slices.Equal(a, b) {
		t.Errorf("two openings of the same batch gave the same order %v", a)
	}
}

func TestRound_AfterOpeningInvitesInArrivalOrderWhateverTheInsertOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	// Pub/Sub delivered the later ones first.
	at := times(6, opensAt.Add(time.Second), time.Second)
	slices.Reverse(at)
	refs := f.register(t, at...)
	pass(t, f.loop(t, f.config(), nil))
	rows := f.rows(t)
	for i, ref := range refs {
		want := "queued"
		if i >= 3 { // the three received first
			want = "invited"
		}
		if rows[ref].status != want {
			t.Errorf("received at %s: %s, want %s", at[i].Format(time.TimeOnly), rows[ref].status, want)
		}
	}
}

func TestRound_NeverInvitesBeyondFreePlaces(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10) // 10 places left over the future slots
	f.register(t, times(25, opensAt, time.Second)...)
	l := f.loop(t, f.config(), nil)
	pass(t, l)
	if got := f.invited(t); got != 10 {
		t.Fatalf("invited %d, want the 10 free places", got)
	}
	f.setNow(t0.Add(time.Minute))
	pass(t, l)
	if got := f.invited(t); got != 10 {
		t.Errorf("a second round: invited %d, want still 10 (the invitations hold the places)", got)
	}
	// The operator adds 4 places.
	f.exec(t, `UPDATE slots SET capacity = capacity + 4 WHERE id = 'sel-001-2026-12-02-am'`)
	pass(t, l)
	if got := f.invited(t); got != 14 {
		t.Errorf("after 4 more places: invited %d, want 14", got)
	}
	if m, _ := f.recs.Mark(context.Background(), state); m != 14 {
		t.Errorf("invited-through mark %d, want 14", m)
	}
}

func TestRound_RoundMaxCapsARound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	f.register(t, times(12, opensAt, time.Second)...)
	cfg := f.config()
	cfg.Batch, cfg.RoundMax = 2, 3
	pass(t, f.loop(t, cfg, nil))
	if got := f.invited(t); got != 3 {
		t.Errorf("invited %d, want INVITE_ROUND_MAX 3", got)
	}
}

func TestLoops_TwoAtOnceOnlyTheLeaseHolderInvitesAndNobodyTwice(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 40)
	f.register(t, times(30, opensAt.Add(-time.Minute), time.Millisecond)...) // early batch
	f.register(t, times(30, opensAt, time.Second)...)
	cfg := f.config()
	cfg.Batch = 3
	a, b := f.loop(t, cfg, nil), f.loop(t, cfg, nil)
	var wg sync.WaitGroup
	for i := range 4 {
		for _, l := range []*invite.Loop{a, b} {
			wg.Go(func() {
				if err := l.Pass(context.Background()); err != nil {
					t.Errorf("round %d: %v", i, err)
				}
			})
		}
		wg.Wait()
	}
	_, leaderA, _ := a.Healthy()
	_, leaderB, _ := b.Healthy()
	if leaderA == leaderB {
		t.Errorf("leaders: a %t, b %t; want exactly one", leaderA, leaderB)
	}
	if got := f.invited(t); got != 40 {
		t.Errorf("invited %d, want the 40 free places", got)
	}
	if n := f.count(t, `SELECT count(*) FROM invitations`); n != 40 {
		t.Errorf("%d invitations, want 40", n)
	}
	for ref, reqs := range f.messages(t)[notify.KindInvitation] {
		if len(reqs) != 1 {
			t.Errorf("%s asked for %d invitation messages, want 1", ref, len(reqs))
		}
	}
	// The standby takes over when the holder stops.
	holder, standby := a, b
	if leaderB {
		holder, standby = b, a
	}
	holder.Close()
	f.exec(t, `UPDATE slots SET capacity = capacity + 5 WHERE id = 'sel-001-2026-12-02-am'`)
	pass(t, standby)
	if _, leader, _ := standby.Healthy(); !leader {
		t.Error("the standby did not take the lease")
	}
	if got := f.invited(t); got != 45 {
		t.Errorf("after take-over: invited %d, want 45", got)
	}
}

// flaky fails every Publish while failing is set.
type flaky struct {
	invite.Publisher
	failing atomic.Bool
}

func (p *flaky) Publish(ctx context.Context, r email.Request) error {
	if p.failing.Load() {
		return errors.New("pubsub unavailable")
	}
	return p.Publisher.Publish(ctx, r)
}

func TestRound_CrashBetweenBatchesInvitesNobodyTwiceAndTellsEveryoneNextRound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 12)
	f.register(t, times(20, opensAt, time.Second)...)
	cfg := f.config()
	cfg.Batch = 5
	l := f.loop(t, cfg, nil)
	crashAfterFirstBatch(t, l)
	if got := f.invited(t); got != 5 {
		t.Fatalf("after the crash: invited %d, want the first batch of 5", got)
	}
	pass(t, l)
	if got := f.invited(t); got != 12 {
		t.Errorf("next round: invited %d, want 12", got)
	}
	msgs := f.messages(t)[notify.KindInvitation]
	if len(msgs) != 12 {
		t.Errorf("%d registrations asked for an invitation message, want 12", len(msgs))
	}
	if n := f.count(t, `SELECT count(*) FROM invitations WHERE notified_at IS NULL`); n != 0 {
		t.Errorf("%d invitations not marked notified", n)
	}
}

func TestRound_PublishFailureLeavesMessagesForTheNextRound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4)
	refs := f.register(t, times(4, opensAt, time.Second)...)
	pub := &flaky{Publisher: f.pub}
	pub.failing.Store(true)
	l := f.loop(t, f.config(), pub)
	if err := l.Pass(context.Background()); err == nil {
		t.Fatal("Pass with Pub/Sub down: error nil")
	}
	if got, n := f.invited(t), f.count(t, `SELECT count(*) FROM invitations WHERE notified_at IS NULL`); got != 4 || n != 4 {
		t.Fatalf("invited %d with %d untold, want 4 and 4", got, n)
	}
	if ok, _, _ := l.Healthy(); ok {
		t.Error("Healthy after a failed first pass")
	}
	pub.failing.Store(false)
	f.setNow(t0.Add(time.Minute))
	pass(t, l)
	msgs := f.messages(t)[notify.KindInvitation]
	for _, ref := range refs {
		if len(msgs[ref]) != 1 {
			t.Errorf("%s: %d invitation messages, want 1", ref, len(msgs[ref]))
		}
	}
	if got := f.invited(t); got != 4 {
		t.Errorf("invited %d, want still 4: nobody invited twice", got)
	}
	if ok, _, _ := l.Healthy(); !ok {
		t.Error("not Healthy after a good pass")
	}
}

func TestRound_InvitationTokenRecordAndTTL(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	refs := f.register(t, times(5, opensAt, time.Second)...)
	cfg := f.config()
	cfg.TTL = 90 * time.Minute
	pass(t, f.loop(t, cfg, nil))
	rows := f.rows(t)
	wantExp := t0.Add(90 * time.Minute)
	msgs := f.messages(t)[notify.KindInvitation]
	for _, ref := range refs[:3] {
		reqs := msgs[ref]
		if len(reqs) != 1 {
			t.Fatalf("%s: %d messages, want 1", ref, len(reqs))
		}
		r := reqs[0]
		if r.Validate() != nil || r.State != state || r.Email != "siti@example.com" || r.Lang != "ms" {
			t.Errorf("request %+v (validate: %v)", r, r.Validate())
		}
		inv, err := f.signer.Verify(r.Token, rows[ref].id, t0)
		if err != nil {
			t.Fatalf("%s: token does not verify for its registrant: %v", ref, err)
		}
		if inv.Registration != ref || inv.State != state || !inv.ExpiresAt.Equal(wantExp) || !r.ExpiresAt.Equal(wantExp) {
			t.Errorf("%s: token %+v, request expiry %s; want expiry %s", ref, inv, r.ExpiresAt, wantExp)
		}
		var stored time.Time
		if err := f.pool.QueryRow(context.Background(), `SELECT expires_at FROM invitations WHERE token_hash = $1 AND registration = $2`,
			queue.TokenHash(r.Token), ref).Scan(&stored); err != nil || !stored.Equal(wantExp) {
			t.Errorf("%s: stored invitation by token hash: expires %s, %v; want %s", ref, stored, err, wantExp)
		}
		rec, err := f.recs.Get(context.Background(), ref)
		if err != nil || rec.Status != queue.StatusInvited || rec.ExpiresAt == nil || !rec.ExpiresAt.Equal(wantExp) || rec.Place != *rows[ref].place {
			t.Errorf("%s: record %+v, %v", ref, rec, err)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM invitations WHERE token_hash LIKE '%' || $1 || '%'`, "."); n != 0 {
		t.Error("a token stored in clear")
	}
}

func TestExpiry_GivesPlacesBackMarksExpiredAndTellsThePerson(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	refs := f.register(t, times(5, opensAt, time.Second)...)
	cfg := f.config()
	cfg.TTL = time.Hour
	l := f.loop(t, cfg, nil)
	pass(t, l)

	f.setNow(t0.Add(time.Hour - time.Second)) // INVITE_TTL not yet over
	pass(t, l)
	if got := f.count(t, `SELECT count(*) FROM registrations WHERE status = 'expired'`); got != 0 {
		t.Fatalf("%d expired before INVITE_TTL", got)
	}

	f.setNow(t0.Add(time.Hour))
	pass(t, l)
	rows := f.rows(t)
	for i, ref := range refs {
		want := map[bool]string{true: "expired", false: "invited"}[i < 3]
		if rows[ref].status != want {
			t.Errorf("registration %d: %s, want %s", i, rows[ref].status, want)
		}
	}
	msgs := f.messages(t)
	for _, ref := range refs[:3] {
		if len(msgs[notify.KindExpired][ref]) != 1 {
			t.Errorf("%s: %d expired messages, want 1", ref, len(msgs[notify.KindExpired][ref]))
		}
		if rec, _ := f.recs.Get(context.Background(), ref); rec.Status != queue.StatusExpired {
			t.Errorf("%s: record %s, want expired", ref, rec.Status)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM registrations WHERE status = 'expired' AND expiry_notified_at IS NULL`); n != 0 {
		t.Errorf("%d expiries not marked told", n)
	}
	f.setNow(t0.Add(time.Hour + time.Minute))
	pass(t, l)
	if n := len(f.messages(t)[notify.KindExpired]); n != 3 {
		t.Errorf("expired messages for %d registrations after another round, want 3", n)
	}
}

func TestRound_LateEarlyRegistrationIsKeyedAfterTheShuffledBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	f.exec(t, `UPDATE slots SET booked = capacity`)
	f.register(t, times(4, opensAt.Add(-time.Hour), time.Second)...)
	late := f.register(t, opensAt.Add(time.Second))
	l := f.loop(t, f.config(), nil)
	pass(t, l)
	// Received before opens_at, delivered after the opening.
	straggler := f.register(t, opensAt.Add(-time.Minute))
	pass(t, l)
	rows := f.rows(t)
	s := rows[straggler[0]]
	if s.key == nil || *s.key != opensAt.UnixMicro() || *rows[late[0]].key <= *s.key {
		t.Errorf("straggler key %v, want opens_at %d, before the post-opening %d", s.key, opensAt.UnixMicro(), *rows[late[0]].key)
	}
	if s.place == nil || *s.place != 5 {
		t.Errorf("straggler place %v, want 5", s.place)
	}
}

func TestConfig_CheckNamesTheVariable(t *testing.T) {
	t.Parallel()
	good := invite.Config{Interval: time.Minute, TTL: 48 * time.Hour, Secret: secret, Batch: 500, EmailTopic: topic, RecordTTL: time.Hour}
	if _, err := good.Check(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	cases := map[string]func(*invite.Config){
		"INVITE_INTERVAL":   func(c *invite.Config) { c.Interval = 0 },
		"INVITE_TTL":        func(c *invite.Config) { c.TTL = time.Second },
		"INVITATION_SECRET": func(c *invite.Config) { c.Secret = "short" },
		"INVITE_BATCH":      func(c *invite.Config) { c.Batch = 0 },
		"INVITE_ROUND_MAX":  func(c *invite.Config) { c.RoundMax = -1 },
		"STATUS_TTL":        func(c *invite.Config) { c.RecordTTL = 0 },
	}
	for name, spoil := range cases {
		c := good
		spoil(&c)
		if _, err := c.Check(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming it", name, err)
		}
	}
}
