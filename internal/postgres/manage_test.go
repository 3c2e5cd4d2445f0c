package postgres_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// managedOn is bookingsOn with manage links on, and person 1 booked into
// sel-001-am; it returns that booking's outcome.
func managedOn(t *testing.T, am, pm int) (*pgxpool.Pool, *postgres.Bookings, booking.Outcome, func() [2]int) {
	t.Helper()
	pool := seedTwoSlots(t, am, pm)
	b := postgres.NewBookings(pool, pii.Dev()).WithManage(testenv.ManageSigner())
	o, err := b.Decide(t.Context(), testenv.NewRequest(1, "sel-001-am"), "m-book")
	if err != nil || o.Record.Status != booking.StatusConfirmed || o.Manage == "" {
		t.Fatalf("Decide: %+v, %v; want confirmed with a manage token", o.Record, err)
	}
	booked := func() [2]int {
		t.Helper()
		inv, err := postgres.CheckInvariants(t.Context(), pool, nil)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Broken() {
			t.Fatalf("invariants broken: %+v", inv)
		}
		return [2]int{
			queryInt(t, pool, `SELECT booked FROM slots WHERE id = 'sel-001-am'`),
			queryInt(t, pool, `SELECT booked FROM slots WHERE id = 'sel-001-pm'`),
		}
	}
	return pool, b, o, booked
}

func TestDecide_StoresOnlyTheManageTokensHash(t *testing.T) {
	t.Parallel()
	pool := seedTwoSlots(t, 1, 1)
	b := postgres.NewBookings(pool, pii.Dev()).WithManage(testenv.ManageSigner())
	req := testenv.NewRequest(1, "sel-001-am")
	o, err := b.Decide(t.Context(), req, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM bookings WHERE manage_hash = $1`, booking.ManageTokenHash(o.Manage)); n != 1 {
		t.Errorf("bookings with the token's hash: got %d, want 1", n)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM bookings WHERE manage_hash = $1`, o.Manage); n != 0 {
		t.Errorf("bookings storing the token itself: got %d, want 0", n)
	}
	again, err := b.Decide(t.Context(), req, "m1")
	if err != nil || again.Manage != o.Manage {
		t.Errorf("redelivery: token %q, %v; want the same token", again.Manage, err)
	}
}

func TestManage_CancelGivesThePlaceBackOnceAndThePersonMayBookAgain(t *testing.T) {
	t.Parallel()
	_, b, o, booked := managedOn(t, 1, 1)
	ctx := t.Context()
	cancel := testenv.NewManage(booking.ActionCancel, o.Record.Reference, o.Manage)
	for i := range 3 { // the first delivery and two redeliveries
		got, err := b.Manage(ctx, cancel, "m-cancel")
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		if got.Booking.Status != booking.StatusCancelled || got.Request.Status != booking.StatusCancelled || got.Sequence != 1 || !got.Notify {
			t.Errorf("delivery %d: got booking %s, request %s, sequence %d, notify %v; want cancelled, cancelled, 1, true",
				i, got.Booking.Status, got.Request.Status, got.Sequence, got.Notify)
		}
		if got := booked(); got != [2]int{0, 0} {
			t.Fatalf("delivery %d: booked %v, want [0 0]", i, got)
		}
	}
	// A second cancel request (the person pressed twice) changes nothing.
	if got, err := b.Manage(ctx, testenv.NewManage(booking.ActionCancel, o.Record.Reference, o.Manage), "m-cancel-2"); err != nil || got.Sequence != 1 {
		t.Fatalf("second cancel: sequence %d, %v; want 1", got.Sequence, err)
	}
	if got := booked(); got != [2]int{0, 0} {
		t.Fatalf("after a second cancel: booked %v, want [0 0]", got)
	}
	again, err := b.Decide(ctx, testenv.NewRequest(1, "sel-001-am"), "m-again")
	if err != nil || again.Record.Status != booking.StatusConfirmed {
		t.Fatalf("booking again after cancelling: %+v, %v; want confirmed", again.Record, err)
	}
	if got := booked(); got != [2]int{1, 0} {
		t.Errorf("after booking again: booked %v, want [1 0]", got)
	}
}

func TestManage_ChangeMovesToTheFirstChoiceWithRoomOrLeavesItAsItWas(t *testing.T) {
	t.Parallel()
	_, b, o, booked := managedOn(t, 1, 1)
	ctx := t.Context()
	// Another person fills sel-001-pm, so the change finds no room.
	if _, err := b.Decide(ctx, testenv.NewRequest(2, "sel-001-pm"), "m-2"); err != nil {
		t.Fatal(err)
	}
	full, err := b.Manage(ctx, testenv.NewManage(booking.ActionChange, o.Record.Reference, o.Manage, "sel-001-pm"), "m-full")
	if err != nil {
		t.Fatal(err)
	}
	if full.Request.Status != booking.StatusFull || full.Booking.Slot.ID != "sel-001-am" || full.Notify || full.Sequence != 0 {
		t.Errorf("change to a full slot: request %s, booking in %s, notify %v, sequence %d; want full, sel-001-am, false, 0",
			full.Request.Status, full.Booking.Slot.ID, full.Notify, full.Sequence)
	}
	if got := booked(); got != [2]int{1, 1} {
		t.Fatalf("after a full change: booked %v, want [1 1]", got)
	}
	// Person 2 cancels; now the change goes through, once.
	if _, err := b.Manage(ctx, testenv.NewManage(booking.ActionCancel, mustRef(t, b, 2), testenv.ManageSigner().Sign(mustRef(t, b, 2), "selangor")), "m-2c"); err != nil {
		t.Fatal(err)
	}
	change := testenv.NewManage(booking.ActionChange, o.Record.Reference, o.Manage, "sel-001-am", "sel-001-pm")
	for i := range 2 {
		got, err := b.Manage(ctx, change, "m-change")
		if err != nil {
			t.Fatal(err)
		}
		if got.Request.Status != booking.StatusChanged || got.Request.Slot.ID != "sel-001-pm" || got.Booking.Slot.ID != "sel-001-pm" || got.Sequence != 1 {
			t.Errorf("delivery %d: request %+v, booking %+v, sequence %d; want changed to sel-001-pm, sequence 1", i, got.Request, got.Booking, got.Sequence)
		}
		if got := booked(); got != [2]int{0, 1} {
			t.Fatalf("delivery %d: booked %v, want [0 1]", i, got)
		}
	}
}

// mustRef is the reference of person n's confirmed booking.
func mustRef(t *testing.T, b *postgres.Bookings, n int) string {
	t.Helper()
	o, err := b.Decide(t.Context(), testenv.NewRequest(n, "sel-001-am"), "probe")
	if err != nil || o.Record.Status != booking.StatusDuplicate || o.Holder == nil {
		t.Fatalf("probe for person %d's booking: %+v, %v", n, o, err)
	}
	return o.Holder.Reference
}

func TestManage_RefusesATokenThatDoesNotActOnTheBooking(t *testing.T) {
	t.Parallel()
	_, b, o, booked := managedOn(t, 1, 1)
	other := testenv.ManageSigner().Sign(booking.NewReference(), "selangor")
	for _, m := range []booking.ManageRequest{
		testenv.NewManage(booking.ActionCancel, o.Record.Reference, other),
		testenv.NewManage(booking.ActionCancel, booking.NewReference(), o.Manage),
	} {
		if _, err := b.Manage(t.Context(), m, "m-x"); !errors.Is(err, postgres.ErrManageRefused) {
			t.Errorf("Manage(%s on %s): got %v, want ErrManageRefused", m.Action, m.Booking, err)
		}
	}
	if got := booked(); got != [2]int{1, 0} {
		t.Errorf("booked %v, want [1 0]", got)
	}
}

// Twins of one change and a cancel of the same booking, all at once, with
// another person booking the slot it moves to: one place each, always.
func TestManage_ConcurrentTwinsCancelAndASurgeKeepCountersEqualToBookings(t *testing.T) {
	t.Parallel()
	for round := range 4 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			t.Parallel()
			pool, b, o, booked := managedOn(t, 1, 1)
			ctx := t.Context()
			change := testenv.NewManage(booking.ActionChange, o.Record.Reference, o.Manage, "sel-001-pm")
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for i := range 4 {
				wg.Go(func() {
					_, err := b.Manage(ctx, change, fmt.Sprint("twin-", i))
					errs <- err
				})
			}
			wg.Go(func() {
				_, err := b.Decide(ctx, testenv.NewRequest(2, "sel-001-pm"), "surge")
				errs <- err
			})
			if round%2 == 1 {
				wg.Go(func() {
					_, err := b.Manage(ctx, testenv.NewManage(booking.ActionCancel, o.Record.Reference, o.Manage), "cancel")
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			got := booked() // checks the invariants
			// Without the cancel, pm goes to exactly one of the two and
			// person 1 keeps a place; with it, person 1 ends with none.
			held := queryInt(t, pool, `SELECT count(*) FROM bookings WHERE reference = $1 AND status = 'confirmed'`, o.Record.Reference)
			switch {
			case round%2 == 0 && (got[1] != 1 || held != 1):
				t.Errorf("booked %v, person 1 confirmed %d: pm must go to exactly one, person 1 keep one place", got, held)
			case round%2 == 1 && held != 0:
				t.Errorf("booked %v: person 1 still confirmed after the cancel", got)
			}
			if n := queryInt(t, pool, `SELECT count(*) FROM booking_changes WHERE request = $1`, change.Request); n != 1 {
				t.Errorf("requests recorded for the twins: got %d, want 1", n)
			}
		})
	}
}

func TestResend_FindsOnlyTheBookingWhoseIDNumberMatches(t *testing.T) {
	t.Parallel()
	_, b, o, _ := managedOn(t, 1, 1)
	ask := func(ref, id string) bool {
		t.Helper()
		got, err := b.Resend(t.Context(), booking.ManageRequest{Action: booking.ActionResend, Booking: ref, IDNumber: id})
		if err != nil {
			t.Fatal(err)
		}
		return got.Found
	}
	req := testenv.NewRequest(1)
	if !ask(o.Record.Reference, req.IDNumber) {
		t.Error("reference and ID number of the booking: not found")
	}
	if ask(o.Record.Reference, testenv.NewRequest(2).IDNumber) {
		t.Error("another ID number: found")
	}
	if ask(booking.NewReference(), req.IDNumber) {
		t.Error("another reference: found")
	}
}
