package postgres_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

var (
	staffOne   = postgres.Staff{Email: "one@centre.example", Role: postgres.RoleCentreStaff, Centers: []string{"sel-001"}}
	staffTwo   = postgres.Staff{Email: "two@centre.example", Role: postgres.RoleCentreStaff, Centers: []string{"sel-002"}}
	selAdmin   = postgres.Staff{Email: "boss@state.example", Role: postgres.RoleStateAdmin, States: []string{"selangor"}}
	johorAdmin = postgres.Staff{Email: "boss@johor.example", Role: postgres.RoleStateAdmin, States: []string{"johor"}}
)

// adminOn seeds two Selangor centres (sel-001 with sel-001-am of am
// places, sel-002 with sel-002-am of 5), the staff above, and books
// people 1..booked into sel-001-am; it returns their references.
func adminOn(t *testing.T, am, booked int) (*pgxpool.Pool, *postgres.Admin, []string) {
	t.Helper()
	pool := testenv.NewPool(t)
	testenv.MustSeed(t, pool,
		listing.SlotRow{SlotID: "sel-001-am", Capacity: am},
		listing.SlotRow{CenterID: "sel-002", SlotID: "sel-002-am", Capacity: 5},
		listing.SlotRow{StateCode: "johor", SlotID: "joh-001-am", Capacity: 5},
	)
	for _, s := range []postgres.Staff{staffOne, staffTwo, selAdmin, johorAdmin} {
		if err := postgres.SetStaff(t.Context(), pool, "operator", s); err != nil {
			t.Fatal(err)
		}
	}
	b := postgres.NewBookings(pool, pii.Dev()).WithManage(testenv.ManageSigner())
	var refs []string
	for i := 1; i <= booked; i++ {
		o, err := b.Decide(t.Context(), testenv.NewRequest(i, "sel-001-am"), "m")
		if err != nil || o.Record.Status != booking.StatusConfirmed {
			t.Fatalf("book person %d: %+v %v", i, o.Record, err)
		}
		refs = append(refs, o.Record.Reference)
	}
	return pool, postgres.NewAdmin(pool), refs
}

func auditCount(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	return queryInt(t, pool, `SELECT count(*) FROM audit_log WHERE actor <> 'operator'`)
}

func TestAdmin_CentreStaffAreRefusedOnAnotherCentresData(t *testing.T) {
	t.Parallel()
	pool, a, refs := adminOn(t, 3, 1)
	ctx := t.Context()
	for _, s := range []postgres.Staff{staffTwo, johorAdmin} {
		if _, err := a.SetCapacity(ctx, s, "sel-001-am", 9); !errors.Is(err, postgres.ErrOutOfScope) {
			t.Errorf("%s SetCapacity on sel-001: got %v, want ErrOutOfScope", s.Email, err)
		}
		if _, err := a.CloseSessions(ctx, s, []string{"sel-002-am", "sel-001-am"}, time.Now()); !errors.Is(err, postgres.ErrOutOfScope) {
			t.Errorf("%s CloseSessions of sel-001: got %v, want ErrOutOfScope", s.Email, err)
		}
		if _, err := a.SessionsToClose(ctx, s, "", "sel-001", "2026-12-01"); !errors.Is(err, postgres.ErrOutOfScope) {
			t.Errorf("%s SessionsToClose of sel-001's day: got %v, want ErrOutOfScope", s.Email, err)
		}
		if _, err := a.DayList(ctx, s, "sel-001", "2026-12-01", postgres.DayQuery{}); !errors.Is(err, postgres.ErrOutOfScope) {
			t.Errorf("%s DayList of sel-001: got %v, want ErrOutOfScope", s.Email, err)
		}
		if err := a.SetAttendance(ctx, s, refs[0], "attended"); !errors.Is(err, postgres.ErrOutOfScope) {
			t.Errorf("%s SetAttendance on a sel-001 booking: got %v, want ErrOutOfScope", s.Email, err)
		}
		if _, err := a.Centre(ctx, s, "sel-001"); !errors.Is(err, postgres.ErrOutOfScope) {
			t.Errorf("%s Centre sel-001: got %v, want ErrOutOfScope", s.Email, err)
		}
	}
	// An unknown centre reads as another's: nothing to learn by probing.
	if _, err := a.DayList(ctx, staffOne, "sel-999", "2026-12-01", postgres.DayQuery{}); !errors.Is(err, postgres.ErrOutOfScope) {
		t.Errorf("DayList of an unknown centre: got %v, want ErrOutOfScope", err)
	}
	if got := queryInt(t, pool, `SELECT capacity FROM slots WHERE id = 'sel-001-am'`); got != 3 {
		t.Errorf("capacity after refused changes: got %d, want 3", got)
	}
	if n := auditCount(t, pool); n != 0 {
		t.Errorf("audit rows after refused changes: got %d, want 0", n)
	}
	// Their own staff, and the state's administrator, may.
	for _, s := range []postgres.Staff{staffOne, selAdmin} {
		if _, err := a.DayList(ctx, s, "sel-001", "2026-12-01", postgres.DayQuery{}); err != nil {
			t.Errorf("%s DayList of sel-001: %v", s.Email, err)
		}
	}
	cs, err := a.Centres(ctx, staffOne)
	if err != nil || len(cs) != 1 || cs[0].ID != "sel-001" {
		t.Errorf("centres of centre staff: got %+v %v, want sel-001 only", cs, err)
	}
	cs, err = a.Centres(ctx, selAdmin)
	if err != nil || len(cs) != 2 {
		t.Errorf("centres of Selangor's administrator: got %+v %v, want both Selangor centres", cs, err)
	}
}

func TestAdmin_CapacityBelowBookedIsRefusedNamingTheSlot(t *testing.T) {
	t.Parallel()
	pool, a, _ := adminOn(t, 3, 2)
	_, err := a.SetCapacity(t.Context(), staffOne, "sel-001-am", 1)
	var below *postgres.CapacityBelowBookedError
	if !errors.As(err, &below) || below.Booked != 2 || !strings.Contains(err.Error(), "sel-001-am") {
		t.Fatalf("capacity 1 under 2 booked: got %v, want a refusal naming sel-001-am and 2 booked", err)
	}
	if n := auditCount(t, pool); n != 0 {
		t.Errorf("audit rows after a refusal: got %d, want 0", n)
	}
	if _, err := a.SetCapacity(t.Context(), staffOne, "sel-001-am", 2); err != nil {
		t.Fatalf("capacity equal to booked: %v", err)
	}
	rows, err := a.Audit(t.Context(), "slot/sel-001-am")
	if err != nil || len(rows) != 1 {
		t.Fatalf("audit of sel-001-am: got %d rows %v, want 1", len(rows), err)
	}
	var before, after struct{ Capacity, Booked int }
	_ = json.Unmarshal(rows[0].Before, &before)
	_ = json.Unmarshal(rows[0].After, &after)
	if rows[0].Actor != staffOne.Email || rows[0].Action != "slot.capacity" || before.Capacity != 3 || after.Capacity != 2 || after.Booked != 2 {
		t.Errorf("audit row: got %s %s %s -> %s, want %s slot.capacity 3 -> 2", rows[0].Actor, rows[0].Action, rows[0].Before, rows[0].After, staffOne.Email)
	}
}

// closeNow closes slot and cancels what is on it at once, as staff who
// offer no change of time do; it returns the cancellations to tell.
func closeNow(t *testing.T, a *postgres.Admin, s postgres.Staff, slot string) []booking.ManageOutcome {
	t.Helper()
	if _, err := a.CloseSessions(t.Context(), s, []string{slot}, time.Now()); err != nil {
		t.Fatal(err)
	}
	outs, err := a.FinishClosing(t.Context(), slot, s.Email)
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

func TestAdmin_CloseAtOnceCancelsEveryBookingOnceAndAuditsEach(t *testing.T) {
	t.Parallel()
	pool, a, refs := adminOn(t, 3, 2)
	outs := closeNow(t, a, staffOne, "sel-001-am")
	if len(outs) != 2 {
		t.Fatalf("outcomes: got %d, want 2", len(outs))
	}
	for i, o := range outs {
		if o.Booking.Status != booking.StatusCancelled || o.Booking.Sequence != 1 || o.Email == "" {
			t.Errorf("outcome %d: got %+v, want cancelled at sequence 1 with the address to tell", i, o)
		}
	}
	if got := queryInt(t, pool, `SELECT count(*) FROM bookings WHERE slot_id = 'sel-001-am' AND status = 'cancelled'`); got != 2 {
		t.Errorf("cancelled bookings: got %d, want 2", got)
	}
	if got := queryInt(t, pool, `SELECT booked FROM slots WHERE id = 'sel-001-am' AND closed_at IS NOT NULL`); got != 0 {
		t.Errorf("closed slot's booked: got %d, want 0", got)
	}
	inv, err := postgres.CheckInvariants(t.Context(), pool, nil)
	if err != nil || inv.Broken() {
		t.Fatalf("invariants: %+v %v", inv, err)
	}
	audits := func() map[string]int {
		rows, err := a.Audit(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, r := range rows {
			if r.Actor == staffOne.Email {
				got[r.Action+" "+r.Target]++
			}
		}
		return got
	}
	want := map[string]int{"slot.close slot/sel-001-am": 1, "booking.cancel booking/" + refs[0]: 1, "booking.cancel booking/" + refs[1]: 1}
	if got := audits(); !equalCounts(got, want) {
		t.Errorf("audit rows: got %v, want %v", got, want)
	}

	// Closed again (a retry after the messages failed): the same people
	// to tell, nothing changed twice.
	again := closeNow(t, a, staffOne, "sel-001-am")
	if len(again) != 2 || again[0].Booking.Reference != outs[0].Booking.Reference || again[0].Sequence != 1 {
		t.Fatalf("close again: got %d outcomes, want the same 2", len(again))
	}
	if got := audits(); !equalCounts(got, want) {
		t.Errorf("audit rows after closing twice: got %v, want %v", got, want)
	}
	if got := queryInt(t, pool, `SELECT count(*) FROM booking_changes`); got != 2 {
		t.Errorf("booking_changes: got %d, want 2", got)
	}
	if _, err := a.SetCapacity(t.Context(), staffOne, "sel-001-am", 4); !errors.Is(err, postgres.ErrSlotClosed) {
		t.Errorf("capacity of a closed session: got %v, want ErrSlotClosed", err)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAdmin_DayListFindsByReferenceOrIDAndChecksIn(t *testing.T) {
	t.Parallel()
	pool, a, refs := adminOn(t, 3, 2)
	ctx := t.Context()
	day := func(q postgres.DayQuery) []postgres.Booked {
		t.Helper()
		ss, err := a.DayList(ctx, staffOne, "sel-001", "2026-12-01", q)
		if err != nil || len(ss) != 1 {
			t.Fatalf("day list: got %d sessions, %v; want 1", len(ss), err)
		}
		return ss[0].Bookings
	}
	if got := day(postgres.DayQuery{}); len(got) != 2 {
		t.Fatalf("whole day: got %+v, want 2 bookings", got)
	}
	if got := day(postgres.DayQuery{Reference: refs[1]}); len(got) != 1 || got[0].Reference != refs[1] {
		t.Errorf("by reference: got %+v, want %s", got, refs[1])
	}
	norm, _ := booking.NormalizeIDNumber(testenv.NewRequest(1).IDNumber)
	if got := day(postgres.DayQuery{IDHash: pii.Dev().Hash(norm)}); len(got) != 1 || got[0].Reference != refs[0] {
		t.Errorf("by ID hash: got %+v, want %s", got, refs[0])
	}

	if err := a.SetAttendance(ctx, staffOne, refs[0], "attended"); err != nil {
		t.Fatal(err)
	}
	if err := a.SetAttendance(ctx, selAdmin, refs[1], "no_show"); err != nil {
		t.Fatal(err)
	}
	got := day(postgres.DayQuery{})
	att := map[string]string{got[0].Reference: got[0].Attendance, got[1].Reference: got[1].Attendance}
	if att[refs[0]] != "attended" || att[refs[1]] != "no_show" {
		t.Errorf("attendance: got %v", att)
	}
	rows, err := a.Audit(ctx, "booking/"+refs[0])
	if err != nil || len(rows) != 1 || rows[0].Action != "booking.attendance" || !strings.Contains(string(rows[0].After), "attended") {
		t.Errorf("audit of the check-in: got %+v %v", rows, err)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM bookings WHERE attendance = 'attended' AND attendance_by = $1`, staffOne.Email); n != 1 {
		t.Errorf("attended by %s: got %d, want 1", staffOne.Email, n)
	}
}

// TestAdmin_ClosingOffersAChangeFirstAndCancelsOnlyWhatStayed closes a
// session of three with an hour to move: nobody else may book its places
// meanwhile, one person moves, one cancels, and when the hour is up only
// the third is cancelled, once, however often the pass runs.
func TestAdmin_ClosingOffersAChangeFirstAndCancelsOnlyWhatStayed(t *testing.T) {
	t.Parallel()
	pool, a, refs := adminOn(t, 4, 3)
	ctx := t.Context()
	b := postgres.NewBookings(pool, pii.Dev()).WithManage(testenv.ManageSigner())
	token := func(ref string) string { return testenv.ManageSigner().Sign(ref, "selangor") }

	cancelAt := time.Now().Add(time.Hour)
	closed, err := a.CloseSessions(ctx, staffOne, []string{"sel-001-am"}, cancelAt)
	if err != nil || len(closed) != 1 || len(closed[0].People) != 3 {
		t.Fatalf("CloseSessions: %+v %v, want one session with 3 people to tell", closed, err)
	}
	for _, p := range closed[0].People {
		if p.Booking.Status != booking.StatusConfirmed || p.Email == "" || p.Booking.Slot == nil || p.Booking.Slot.ID != "sel-001-am" {
			t.Errorf("person to tell: %+v, want a confirmed booking on sel-001-am with its address", p)
		}
	}
	if got := closed[0].Slot; got.ClosedAt == nil || got.CancelAt == nil || !got.CancelAt.Round(time.Second).Equal(cancelAt.Round(time.Second)) || got.Capacity != 4 || got.Booked != 3 {
		t.Errorf("closed session: %+v, want closed, cancel_at %s, 3 booked of 4", got, cancelAt)
	}
	newcomer := func(n int) booking.Status {
		o, err := b.Decide(ctx, testenv.NewRequest(n, "sel-001-am"), fmt.Sprintf("m%d", n))
		if err != nil {
			t.Fatal(err)
		}
		return o.Record.Status
	}
	if got := newcomer(10); got != booking.StatusFull {
		t.Errorf("a booking for the closing session: %s, want full", got)
	}

	moved, err := b.Manage(ctx, testenv.NewManage(booking.ActionChange, refs[0], token(refs[0]), "sel-002-am"), "c1")
	if err != nil || moved.Request.Status != booking.StatusChanged {
		t.Fatalf("move away: %+v %v", moved.Request, err)
	}
	if _, err := b.Manage(ctx, testenv.NewManage(booking.ActionCancel, refs[1], token(refs[1])), "c2"); err != nil {
		t.Fatal(err)
	}
	// Two places given back, and neither offered again.
	if got := queryInt(t, pool, `SELECT booked FROM slots WHERE id = 'sel-001-am'`); got != 1 {
		t.Errorf("closing session's booked: got %d, want 1", got)
	}
	if got := newcomer(11); got != booking.StatusFull {
		t.Errorf("a booking for a place given back in the closing session: %s, want full", got)
	}
	// The listing shows it full too: the cache-fill loop's snapshot.
	lease, err := postgres.TryLease(ctx, pool, postgres.CacheFillLease)
	if err != nil || lease == nil {
		t.Fatalf("TryLease: %v %v", lease, err)
	}
	rows, err := lease.Snapshot(ctx)
	lease.Release()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.SlotID == "sel-001-am" && r.Capacity != r.Booked {
			t.Errorf("listing of the closing session: %d booked of %d, want no place offered", r.Booked, r.Capacity)
		}
	}

	if due, err := a.DueClosings(ctx, time.Now()); err != nil || len(due) != 0 {
		t.Errorf("due before cancel_at: %v %v, want none", due, err)
	}
	due, err := a.DueClosings(ctx, cancelAt.Add(time.Second))
	if err != nil || len(due) != 1 || due[0] != "sel-001-am" {
		t.Fatalf("due after cancel_at: %v %v, want sel-001-am", due, err)
	}
	for i := range 2 { // the pass, and its retry after the messages failed
		outs, err := a.FinishClosing(ctx, "sel-001-am", "closings")
		if err != nil || len(outs) != 1 || outs[0].Booking.Reference != refs[2] || outs[0].Booking.Status != booking.StatusCancelled {
			t.Fatalf("FinishClosing, try %d: %+v %v, want %s cancelled only", i, outs, err, refs[2])
		}
	}
	status := func(ref string) string {
		var st, slot string
		if err := pool.QueryRow(ctx, `SELECT status, slot_id FROM bookings WHERE reference = $1`, ref).Scan(&st, &slot); err != nil {
			t.Fatal(err)
		}
		return st + " " + slot
	}
	for ref, want := range map[string]string{refs[0]: "confirmed sel-002-am", refs[1]: "cancelled sel-001-am", refs[2]: "cancelled sel-001-am"} {
		if got := status(ref); got != want {
			t.Errorf("%s: %s, want %s", ref, got, want)
		}
	}
	if got := queryInt(t, pool, `SELECT count(*) FROM booking_changes WHERE request LIKE 'close:%'`); got != 1 {
		t.Errorf("the closing's cancellations: %d, want 1", got)
	}
	if got := queryInt(t, pool, `SELECT booked FROM slots WHERE id = 'sel-001-am'`); got != 0 {
		t.Errorf("finished session's booked: %d, want 0", got)
	}
	if err := a.ClosingDone(ctx, "sel-001-am"); err != nil {
		t.Fatal(err)
	}
	if due, err := a.DueClosings(ctx, cancelAt.Add(time.Hour)); err != nil || len(due) != 0 {
		t.Errorf("due once done: %v %v, want none", due, err)
	}
	if inv, err := postgres.CheckInvariants(ctx, pool, nil); err != nil || inv.Broken() {
		t.Fatalf("invariants: %+v %v", inv, err)
	}
}

// TestAdmin_AMoveRacingTheEndOfAClosingKeepsOnePlace races each person's
// move out of a closing session against the pass that cancels what stayed:
// every booking ends moved or cancelled, never both places nor none, and
// the counters equal the bookings.
func TestAdmin_AMoveRacingTheEndOfAClosingKeepsOnePlace(t *testing.T) {
	t.Parallel()
	const people = 8
	pool, a, refs := adminOn(t, people, people)
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `UPDATE slots SET capacity = $1 WHERE id = 'sel-002-am'`, people); err != nil {
		t.Fatal(err)
	}
	b := postgres.NewBookings(pool, pii.Dev()).WithManage(testenv.ManageSigner())
	if _, err := a.CloseSessions(ctx, staffOne, []string{"sel-001-am"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, ref := range refs {
		wg.Go(func() {
			m := testenv.NewManage(booking.ActionChange, ref, testenv.ManageSigner().Sign(ref, "selangor"), "sel-002-am")
			if _, err := b.Manage(ctx, m, "move"); err != nil {
				t.Errorf("move %s: %v", ref, err)
			}
		})
	}
	wg.Go(func() {
		if _, err := a.FinishClosing(ctx, "sel-001-am", "closings"); err != nil {
			t.Errorf("FinishClosing: %v", err)
		}
	})
	wg.Wait()
	// What the race left on the closing session, cancelled now.
	if _, err := a.FinishClosing(ctx, "sel-001-am", "closings"); err != nil {
		t.Fatal(err)
	}
	moved := queryInt(t, pool, `SELECT count(*) FROM bookings WHERE status = 'confirmed' AND slot_id = 'sel-002-am'`)
	cancelled := queryInt(t, pool, `SELECT count(*) FROM bookings WHERE status = 'cancelled' AND slot_id = 'sel-001-am'`)
	if moved+cancelled != people {
		t.Errorf("moved %d + cancelled %d, want %d: every booking one or the other", moved, cancelled, people)
	}
	if got := queryInt(t, pool, `SELECT booked FROM slots WHERE id = 'sel-001-am'`); got != 0 {
		t.Errorf("closed session's booked: %d, want 0", got)
	}
	if inv, err := postgres.CheckInvariants(ctx, pool, nil); err != nil || inv.Broken() {
		t.Fatalf("invariants: %+v %v", inv, err)
	}
	t.Logf("moved %d, cancelled %d", moved, cancelled)
}

// TestAdmin_AClosedSessionsPlacesAreNotInvitedFor: in a queue state, the
// invitation loop counts the places of open sessions only, so nobody is
// invited to a place a closing session holds or gives back.
func TestAdmin_AClosedSessionsPlacesAreNotInvitedFor(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	ctx := t.Context()
	testenv.MustSeed(t, pool,
		listing.SlotRow{SlotID: "sel-001-am", Date: testenv.Day(3), Capacity: 2},
		listing.SlotRow{SlotID: "sel-001-pm", Date: testenv.Day(3), Time: "14:00-18:00", Capacity: 4},
	)
	if _, err := pool.Exec(ctx, `UPDATE states SET mode = 'queue' WHERE code = 'selangor'`); err != nil {
		t.Fatal(err)
	}
	if err := postgres.SetStaff(ctx, pool, "operator", staffOne); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.NewAdmin(pool).CloseSessions(ctx, staffOne, []string{"sel-001-pm"}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	r := postgres.NewRegistrar(pool, pii.Dev())
	now := time.Now()
	for n := 1; n <= 5; n++ {
		reg := registration(n, now.Add(-time.Hour))
		reg.State = "selangor"
		mustRecord(t, r, reg, "m"+reg.Reference)
	}
	lease, err := postgres.TryLease(ctx, pool, postgres.InviteLease)
	if err != nil || lease == nil {
		t.Fatalf("TryLease: %v, %v", lease, err)
	}
	defer lease.Release()
	if _, err := lease.Open(ctx, "selangor", now, func([]string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	hash := func(ref, id string) string { return "h-" + ref }
	if n, err := lease.Invite(ctx, "selangor", now, now.Add(time.Hour), 10, hash); err != nil || n != 2 {
		t.Fatalf("Invite: %d invited, %v; want 2, the open session's places only", n, err)
	}
}
