package postgres_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

var policy = postgres.RetentionPolicy{After: 30 * 24 * time.Hour, Rejected: 14 * 24 * time.Hour}

// retentionWorld is a database holding, for each kind of row, one old
// enough to lose its personal data at now and one too young to.
type retentionWorld struct {
	pool *pgxpool.Pool
	now  time.Time
	refs map[string]string // what → reference
}

func newRetentionWorld(t *testing.T) retentionWorld {
	t.Helper()
	now := time.Now()
	pool := testenv.NewPool(t)
	testenv.MustSeed(t, pool,
		listing.SlotRow{SlotID: "sel-001-old", Date: testenv.DayOf(now.Add(-40 * 24 * time.Hour)), Capacity: 5},
		listing.SlotRow{SlotID: "sel-001-new", Date: testenv.DayOf(now.Add(-10 * 24 * time.Hour)), Capacity: 5},
		listing.SlotRow{SlotID: "sel-001-none", Time: "14:00-18:00", Capacity: 0},
	)
	w := retentionWorld{pool: pool, now: now, refs: map[string]string{}}
	b := postgres.NewBookings(pool, pii.Dev())
	for what, req := range map[string]booking.Request{
		"confirmed old": testenv.NewRequest(1, "sel-001-old"),
		"confirmed new": testenv.NewRequest(2, "sel-001-new"),
		"full old":      testenv.NewRequest(3, "sel-001-none"),
		"full new":      testenv.NewRequest(4, "sel-001-none"),
	} {
		if _, err := b.Decide(t.Context(), req, "m-"+req.Reference); err != nil {
			t.Fatal(err)
		}
		w.refs[what] = req.Reference
	}
	old := now.Add(-40 * 24 * time.Hour)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(t.Context(), sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`UPDATE bookings SET processed_at = $2 WHERE reference = $1`, w.refs["full old"], old)
	for _, r := range []struct {
		what, status string
		at           time.Time
	}{
		{"booked old", "booked", old}, {"expired old", "expired", old},
		{"queued old", "queued", old}, {"expired new", "expired", now},
	} {
		ref := booking.NewReference()
		w.refs[r.what] = ref
		exec(`INSERT INTO registrations (reference, state_code, id_hash, id_number, status, name, phone, email, lang, contact,
		          received_at, message_id, processed_at)
		      VALUES ($1, 'selangor', $2, $3, $4, 'Reg', '+60123456789', 'r@example.com', 'ms', 'email', $5, $1, $5)`,
			ref, pii.Dev().Hash(ref), "9001011"+ref[:5], r.status, r.at)
	}
	exec(`INSERT INTO invitations (token_hash, registration, state_code, id_hash, expires_at, used_at, booking_reference)
	      VALUES ('t-booked', $1, 'selangor', 'h', $2, $2, $3)`, w.refs["booked old"], old, w.refs["confirmed old"])
	exec(`INSERT INTO invitations (token_hash, registration, state_code, id_hash, expires_at)
	      VALUES ('t-queued', $1, 'selangor', 'h2', $2)`, w.refs["queued old"], now.Add(time.Hour))
	exec(`INSERT INTO rejected_messages (message_id, subscription, data, reason, received_at) VALUES
	      ('rej-old', 's', '\x00', 'r', $1), ('rej-new', 's', '\x00', 'r', $2)`, now.Add(-20*24*time.Hour), now.Add(-time.Hour))
	exec(`INSERT INTO sent_emails (reference, kind, outcome, provider_status, provider_id, detail, message_id, recorded_at) VALUES
	      ($1, 'confirmed', 'rejected', 400, 'pid', 'bad address p@example.com', 'e1', $3),
	      ($2, 'confirmed', 'sent', 202, 'pid', 'ok', 'e2', $4)`, w.refs["confirmed old"], w.refs["confirmed new"], old, now)
	return w
}

type personRow struct {
	Name, Phone, Email, Status string
	HasID, Removed             bool
}

func (w retentionWorld) booking(t *testing.T, what string) personRow {
	t.Helper()
	return w.person(t, "bookings", what)
}

func (w retentionWorld) registration(t *testing.T, what string) personRow {
	t.Helper()
	return w.person(t, "registrations", what)
}

func (w retentionWorld) person(t *testing.T, table, what string) personRow {
	t.Helper()
	var r personRow
	err := w.pool.QueryRow(t.Context(), `SELECT name, phone, email, status, id_hash IS NOT NULL OR id_number IS NOT NULL, personal_data_removed_at IS NOT NULL
		FROM `+table+` WHERE reference = $1`, w.refs[what]).Scan(&r.Name, &r.Phone, &r.Email, &r.Status, &r.HasID, &r.Removed)
	if err != nil {
		t.Fatalf("%s %s: %v", table, what, err)
	}
	return r
}

func removed(r personRow) bool {
	return r.Name == "" && r.Phone == "" && r.Email == "" && !r.HasID && r.Removed
}
func kept(r personRow) bool {
	return r.Name != "" && r.Phone != "" && r.Email != "" && r.HasID && !r.Removed
}

func slotCounters(t *testing.T, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT id, booked FROM slots`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	return out
}

func TestRetain_RemovesWhatThePolicyNoLongerAllowsAndNothingElse(t *testing.T) {
	t.Parallel()
	w := newRetentionWorld(t)
	before := slotCounters(t, w.pool)

	got, err := postgres.Retain(t.Context(), w.pool, policy, w.now)
	if err != nil {
		t.Fatalf("Retain: %v", err)
	}
	want := postgres.Removed{Bookings: 2, Registrations: 2, Invitations: 1, SentEmails: 1, RejectedMessages: 1}
	if got != want {
		t.Errorf("Retain = %+v, want %+v", got, want)
	}
	for what, wantRemoved := range map[string]bool{
		"confirmed old": true, "full old": true, // appointment 40 days ago; decided 40 days ago
		"confirmed new": false, "full new": false, // appointment 10 days ago; decided now
	} {
		r := w.booking(t, what)
		if wantRemoved && !removed(r) || !wantRemoved && !kept(r) {
			t.Errorf("booking %s: %+v, want personal data removed %v", what, r, wantRemoved)
		}
	}
	if r := w.booking(t, "confirmed old"); r.Status != "confirmed" {
		t.Errorf("confirmed old: status %q after retention, want confirmed (its place stays)", r.Status)
	}
	for what, wantRemoved := range map[string]bool{
		"booked old": true, "expired old": true,
		"queued old":  false, // live, however old
		"expired new": false,
	} {
		r := w.registration(t, what)
		if wantRemoved && !removed(r) || !wantRemoved && !kept(r) {
			t.Errorf("registration %s: %+v, want personal data removed %v", what, r, wantRemoved)
		}
	}
	if n := queryInt(t, w.pool, `SELECT count(*) FROM invitations WHERE id_hash IS NOT NULL`); n != 1 {
		t.Errorf("invitations with an ID hash: %d, want 1 (the live one's)", n)
	}
	if n := queryInt(t, w.pool, `SELECT count(*) FROM rejected_messages WHERE message_id = 'rej-new'`); n != 1 {
		t.Errorf("the recent rejected message was purged")
	}
	if n := queryInt(t, w.pool, `SELECT count(*) FROM rejected_messages`); n != 1 {
		t.Errorf("rejected messages: %d, want 1", n)
	}
	if n := queryInt(t, w.pool, `SELECT count(*) FROM sent_emails WHERE detail = '' AND provider_id = ''`); n != 1 {
		t.Errorf("sent e-mails with details removed: %d, want 1", n)
	}
	if n := queryInt(t, w.pool, `SELECT count(*) FROM sent_emails`); n != 2 {
		t.Errorf("sent e-mail rows: %d, want both kept (send-once)", n)
	}
	if after := slotCounters(t, w.pool); len(after) != len(before) || after["sel-001-old"] != before["sel-001-old"] || after["sel-001-new"] != before["sel-001-new"] {
		t.Errorf("slot counters: %v before, %v after; want unchanged", before, after)
	}
	if inv, err := postgres.CheckInvariants(t.Context(), w.pool, nil); err != nil || inv.Broken() {
		t.Errorf("CheckInvariants after retention: %+v %v", inv, err)
	}
	again, err := postgres.Retain(t.Context(), w.pool, policy, w.now)
	if err != nil || again != (postgres.Removed{}) {
		t.Errorf("second Retain = %+v %v, want nothing left to do", again, err)
	}
}

func TestErase_RemovesOnePersonEverywhereAndKeepsTheirPlace(t *testing.T) {
	t.Parallel()
	w := newRetentionWorld(t)
	before := slotCounters(t, w.pool)
	// Person 1 also registered and is queued, under the same ID.
	id := testenv.NewRequest(1).IDNumber
	if _, err := w.pool.Exec(t.Context(), `UPDATE registrations SET id_hash = $2 WHERE reference = $1`, w.refs["queued old"], pii.Dev().Hash(id)); err != nil {
		t.Fatal(err)
	}

	got, err := postgres.Erase(t.Context(), w.pool, pii.Dev().Hash(id), "", w.now)
	if err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if len(got.BookingRefs) != 1 || got.BookingRefs[0] != w.refs["confirmed old"] ||
		len(got.EndedRefs) != 1 || got.EndedRefs[0] != w.refs["queued old"] || got.Removed.SentEmails != 1 || got.Removed.Invitations != 1 {
		t.Errorf("Erase = %+v, want person 1's booking, their queued registration ended, one e-mail and one invitation", got)
	}
	if r := w.booking(t, "confirmed old"); !removed(r) || r.Status != "confirmed" {
		t.Errorf("erased booking: %+v, want confirmed with no personal data", r)
	}
	if r := w.registration(t, "queued old"); !removed(r) || r.Status != "expired" {
		t.Errorf("erased registration: %+v, want expired with no personal data", r)
	}
	if n := queryInt(t, w.pool, `SELECT count(*) FROM registrations WHERE reference = $1 AND expiry_notified_at IS NOT NULL`, w.refs["queued old"]); n != 1 {
		t.Errorf("the ended registration would be sent an expiry message")
	}
	for _, other := range []string{"confirmed new", "full new"} {
		if r := w.booking(t, other); !kept(r) {
			t.Errorf("someone else's booking %s: %+v, want untouched", other, r)
		}
	}
	if r := w.registration(t, "expired new"); !kept(r) {
		t.Errorf("someone else's registration: %+v, want untouched", r)
	}
	if after := slotCounters(t, w.pool); after["sel-001-old"] != before["sel-001-old"] {
		t.Errorf("slot counter of the erased booking: %d before, %d after; want unchanged", before["sel-001-old"], after["sel-001-old"])
	}
	if inv, err := postgres.CheckInvariants(t.Context(), w.pool, nil); err != nil || inv.Broken() {
		t.Errorf("CheckInvariants after erasure: %+v %v", inv, err)
	}

	// By reference: person 2, known only by their booking's reference.
	got, err = postgres.Erase(t.Context(), w.pool, "", w.refs["confirmed new"], w.now)
	if err != nil || len(got.BookingRefs) != 1 || got.BookingRefs[0] != w.refs["confirmed new"] {
		t.Fatalf("Erase by reference = %+v %v, want the one booking", got, err)
	}
	if r := w.booking(t, "confirmed new"); !removed(r) {
		t.Errorf("booking erased by reference: %+v", r)
	}
}

// Check-in and cancellation move the point retention counts from: attending
// is "vaccination complete", whatever the slot's day; a cancellation counts
// from when it happened, not from when the place was first booked.
func TestRetain_CountsFromCheckInAndFromCancellation(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ago := func(days int) time.Time { return now.Add(-time.Duration(days) * 24 * time.Hour) }
	pool := testenv.NewPool(t)
	testenv.MustSeed(t, pool,
		listing.SlotRow{SlotID: "sel-001-old", Date: testenv.DayOf(ago(40)), Capacity: 10},
		listing.SlotRow{SlotID: "sel-001-new", Date: testenv.DayOf(ago(10)), Capacity: 10},
	)
	b := postgres.NewBookings(pool, pii.Dev())
	cases := []struct {
		what, slot  string
		set         string    // what the centre or the person did since, as SQL
		at          time.Time // its $2, if it has one
		wantRemoved bool
	}{
		{"attended recently, old appointment", "sel-001-old", `attendance = 'attended', attendance_at = $2`, ago(10), false},
		{"attended long ago, recent appointment", "sel-001-new", `attendance = 'attended', attendance_at = $2`, ago(40), true},
		{"no-show, old appointment", "sel-001-old", `attendance = 'no_show', attendance_at = $2`, ago(10), true},
		{"cancelled recently, booked long ago", "sel-001-old", `status = 'cancelled', cancelled_at = $2`, ago(5), false},
		{"cancelled long ago", "sel-001-old", `status = 'cancelled', cancelled_at = $2`, ago(35), true},
		{"cancelled before cancelled_at was kept", "sel-001-new", `status = 'cancelled'`, time.Time{}, true},
	}
	refs := make([]string, len(cases))
	for i, c := range cases {
		req := testenv.NewRequest(i+1, c.slot)
		if _, err := b.Decide(t.Context(), req, "m-"+req.Reference); err != nil {
			t.Fatal(err)
		}
		refs[i] = req.Reference
		// Every one was booked long ago: only what happened since may keep it.
		if _, err := pool.Exec(t.Context(), `UPDATE bookings SET processed_at = $2 WHERE reference = $1`, req.Reference, ago(40)); err != nil {
			t.Fatal(err)
		}
		args := []any{req.Reference}
		if !c.at.IsZero() {
			args = append(args, c.at)
		}
		if _, err := pool.Exec(t.Context(), `UPDATE bookings SET `+c.set+` WHERE reference = $1`, args...); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
	}

	if _, err := postgres.Retain(t.Context(), pool, policy, now); err != nil {
		t.Fatalf("Retain: %v", err)
	}
	w := retentionWorld{pool: pool, now: now, refs: map[string]string{}}
	for i, c := range cases {
		w.refs[c.what] = refs[i]
		r := w.booking(t, c.what)
		if c.wantRemoved && !removed(r) || !c.wantRemoved && !kept(r) {
			t.Errorf("booking %s: %+v, want personal data removed %v", c.what, r, c.wantRemoved)
		}
	}
}
