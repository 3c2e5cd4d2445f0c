package postgres_test

import (
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// Migration 13 narrowed the admin role to the booking columns it reads:
// its day, check-in and close work on those alone, and what staff have no
// use for stays out of reach.
func TestRoles_AdminReadsOnlyTheBookingColumnsItNeeds(t *testing.T) {
	t.Parallel()
	db := openAs(t, "vaxbook_admin")
	ctx := t.Context()
	day := testenv.MustSeed(t, db.admin, listing.SlotRow{SlotID: "sel-001-am", Capacity: 3})[0].Date
	boss := postgres.Staff{Email: "boss@state.example", Role: postgres.RoleStateAdmin, States: []string{"selangor"}}
	if err := postgres.SetStaff(ctx, db.admin, "operator", boss); err != nil {
		t.Fatal(err)
	}
	b := postgres.NewBookings(db.admin, pii.Dev()).WithManage(testenv.ManageSigner())
	people := []booking.Request{testenv.NewRequest(1, "sel-001-am"), testenv.NewRequest(2, "sel-001-am")}
	for _, p := range people {
		if o, err := b.Decide(ctx, p, "m-"+p.Reference); err != nil || o.Record.Status != booking.StatusConfirmed {
			t.Fatalf("Decide %s: %+v, %v", p.Name, o.Record, err)
		}
	}

	a := postgres.NewAdmin(db.as)
	s, err := a.FindStaff(ctx, boss.Email)
	if err != nil {
		t.Fatalf("FindStaff: %v", err)
	}
	norm, _ := booking.NormalizeIDNumber(people[0].IDNumber)
	if ss, err := a.DayList(ctx, s, "sel-001", day, postgres.DayQuery{IDHash: pii.Dev().Hash(norm)}); err != nil || len(ss) != 1 || len(ss[0].Bookings) != 1 {
		t.Fatalf("DayList by ID: %+v, %v", ss, err)
	}
	if err := a.SetAttendance(ctx, s, people[0].Reference, "attended"); err != nil {
		t.Fatalf("SetAttendance: %v", err)
	}
	closed, err := a.CloseSessions(ctx, s, []string{"sel-001-am"}, time.Now().Add(time.Hour))
	if err != nil || len(closed) != 1 || len(closed[0].People) != 2 {
		t.Fatalf("CloseSessions: %+v, %v", closed, err)
	}
	outs, err := a.FinishClosing(ctx, "sel-001-am", s.Email)
	if err != nil || len(outs) != 2 {
		t.Fatalf("FinishClosing: %d cancelled, %v", len(outs), err)
	}
	for _, o := range append(outs, closed[0].People...) {
		if o.Email == "" || o.Name == "" {
			t.Errorf("closing outcome %s: %+v, want whom to tell", o.Booking.Reference, o)
		}
	}

	for _, sql := range []string{
		`SELECT id_number FROM bookings`,
		`SELECT existing_reference FROM bookings`,
		`SELECT preferences FROM bookings`,
		`SELECT message_id FROM bookings`,
		`SELECT * FROM bookings`,
	} {
		wantDenied(t, db.as, sql)
	}
}
