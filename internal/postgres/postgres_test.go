package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// seedTwoSlots gives a test its own database with sel-001-am (capacity am)
// and sel-001-pm (capacity pm) at one centre.
func seedTwoSlots(t *testing.T, am, pm int) *pgxpool.Pool {
	t.Helper()
	pool := testenv.NewPool(t)
	testenv.MustSeed(t, pool,
		listing.SlotRow{SlotID: "sel-001-am", Capacity: am},
		listing.SlotRow{SlotID: "sel-001-pm", Time: "14:00-18:00", Capacity: pm},
	)
	return pool
}

// bookingsOn is seedTwoSlots with the bookings adapter over it.
func bookingsOn(t *testing.T, am, pm int) (*pgxpool.Pool, *postgres.Bookings) {
	t.Helper()
	pool := seedTwoSlots(t, am, pm)
	return pool, postgres.NewBookings(pool, pii.Dev())
}

func queryInt(t *testing.T, db *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestInTx_CommitsWhenFnSucceeds(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	ctx := t.Context()
	err := postgres.InTx(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO states (code, name) VALUES ('perlis', 'Perlis')`)
		return err
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM states`); n != 1 {
		t.Errorf("states after commit: got %d, want 1", n)
	}
}

func TestInTx_RollsBackAndReturnsFnError(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	ctx := t.Context()
	boom := errors.New("boom")
	err := postgres.InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO states (code, name) VALUES ('perlis', 'Perlis')`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx: got %v, want fn's error", err)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM states`); n != 0 {
		t.Errorf("states after rollback: got %d, want 0", n)
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	pmSlot := booking.SlotInfo{ID: "sel-001-pm", CenterID: "sel-001", CenterName: "Dewan sel-001", Address: "Jalan sel-001", Date: "2026-12-01", Time: "14:00-18:00"}
	amSlot := booking.SlotInfo{ID: "sel-001-am", CenterID: "sel-001", CenterName: "Dewan sel-001", Address: "Jalan sel-001", Date: "2026-12-01", Time: "08:00-13:00"}
	tests := []struct {
		name       string
		am, pm     int
		before     []booking.Request // decided first, each must succeed
		req        booking.Request
		wantStatus booking.Status
		wantSlot   *booking.SlotInfo
		wantTaken  []booking.SlotInfo
		wantBooked [2]int // am, pm after
	}{
		{
			name: "first preference with room is confirmed", am: 0, pm: 5,
			req:        testenv.NewRequest(1, "sel-001-am", "sel-001-pm"),
			wantStatus: booking.StatusConfirmed, wantSlot: &pmSlot, wantBooked: [2]int{0, 1},
		},
		{
			name: "every preference full", am: 0, pm: 0,
			req:        testenv.NewRequest(1, "sel-001-pm", "sel-001-am"),
			wantStatus: booking.StatusFull, wantTaken: []booking.SlotInfo{pmSlot, amSlot},
		},
		{
			name: "person already confirmed is a duplicate", am: 5, pm: 5,
			before:     []booking.Request{testenv.NewRequest(1, "sel-001-am")},
			req:        testenv.NewRequest(1, "sel-001-pm"),
			wantStatus: booking.StatusDuplicate, wantBooked: [2]int{1, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool, b := bookingsOn(t, tt.am, tt.pm)
			ctx := t.Context()
			for i, r := range tt.before {
				if _, err := b.Decide(ctx, r, fmt.Sprintf("before-%d", i)); err != nil {
					t.Fatalf("Decide before: %v", err)
				}
			}
			got, err := b.Decide(ctx, tt.req, "m1")
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got.Record.Status != tt.wantStatus || got.Record.Reference != tt.req.Reference {
				t.Errorf("record: got %+v, want status %s for %s", got.Record, tt.wantStatus, tt.req.Reference)
			}
			if !reflect.DeepEqual(got.Record.Slot, tt.wantSlot) {
				t.Errorf("slot: got %+v, want %+v", got.Record.Slot, tt.wantSlot)
			}
			if !reflect.DeepEqual(got.Taken, tt.wantTaken) {
				t.Errorf("taken: got %+v, want %+v", got.Taken, tt.wantTaken)
			}
			var wantHolder *booking.Holder
			if tt.wantStatus == booking.StatusDuplicate {
				h := tt.before[0]
				wantHolder = &booking.Holder{Reference: h.Reference, Email: h.Email, Lang: h.Lang, Phone: h.Phone, Contact: h.Contact.Or()}
			}
			if !reflect.DeepEqual(got.Holder, wantHolder) {
				t.Errorf("holder to tell: got %+v, want %+v", got.Holder, wantHolder)
			}
			if got.Name != tt.req.Name || got.Email != tt.req.Email || got.State != tt.req.State || got.DecidedAt.IsZero() {
				t.Errorf("outcome: got name %q email %q state %q decided %v, want the request's and a time", got.Name, got.Email, got.State, got.DecidedAt)
			}
			am := queryInt(t, pool, `SELECT booked FROM slots WHERE id = 'sel-001-am'`)
			pm := queryInt(t, pool, `SELECT booked FROM slots WHERE id = 'sel-001-pm'`)
			if [2]int{am, pm} != tt.wantBooked {
				t.Errorf("booked am, pm: got %d, %d; want %v", am, pm, tt.wantBooked)
			}
		})
	}
}

func TestDecide_RedeliveredDuplicateTellsTheSameHolder(t *testing.T) {
	t.Parallel()
	pool, b := bookingsOn(t, 5, 5)
	held := testenv.NewRequest(1, "sel-001-am")
	held.Email, held.Lang = "holder@example.org", "en"
	if _, err := b.Decide(t.Context(), held, "m0"); err != nil {
		t.Fatal(err)
	}
	dup := testenv.NewRequest(1, "sel-001-pm")
	want := &booking.Holder{Reference: held.Reference, Email: held.Email, Lang: held.Lang, Phone: held.Phone, Contact: held.Contact.Or()}
	for _, id := range []string{"m1", "m1-redelivered"} {
		got, err := b.Decide(t.Context(), dup, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Record.Status != booking.StatusDuplicate || !reflect.DeepEqual(got.Holder, want) || got.Email != dup.Email {
			t.Errorf("%s: got %+v holder %+v, want duplicate to the submitter telling %+v", id, got.Record, got.Holder, want)
		}
	}
	// The holder is whom to tell, and so is kept; it is never in the record.
	if n := queryInt(t, pool, `SELECT count(*) FROM bookings WHERE reference = $1 AND existing_reference = $2`, dup.Reference, held.Reference); n != 1 {
		t.Errorf("duplicate rows naming the holder: got %d, want 1", n)
	}
}

func TestDecide_RedeliveryGivesTheSameOutcomeAndBooksOnce(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		am, pm int
	}{{"confirmed", 1, 0}, {"full", 0, 0}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool, b := bookingsOn(t, tt.am, tt.pm)
			req := testenv.NewRequest(1, "sel-001-am", "sel-001-pm")
			first, err := b.Decide(t.Context(), req, "m1")
			if err != nil {
				t.Fatalf("first Decide: %v", err)
			}
			again, err := b.Decide(t.Context(), req, "m1-redelivered")
			if err != nil {
				t.Fatalf("second Decide: %v", err)
			}
			if !reflect.DeepEqual(first.Record, again.Record) || !reflect.DeepEqual(first.Taken, again.Taken) ||
				!first.DecidedAt.Equal(again.DecidedAt) || first.Name != again.Name || first.Email != again.Email {
				t.Errorf("redelivery:\n got %+v\nwant %+v", again, first)
			}
			if n := queryInt(t, pool, `SELECT count(*) FROM bookings`); n != 1 {
				t.Errorf("bookings rows: got %d, want 1", n)
			}
			if n := queryInt(t, pool, `SELECT sum(booked) FROM slots`); n != tt.am {
				t.Errorf("places booked: got %d, want %d", n, tt.am)
			}
		})
	}
}

func TestTryLease_OneHolderUntilReleased(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// Two processes on one database, each with a pool of its own.
	dbURL := testenv.DatabaseURL(t)
	var pools [2]*pgxpool.Pool
	for i := range pools {
		p, err := pgxpool.New(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pools[i] = p
	}
	leader, standby := pools[0], pools[1]

	held, err := postgres.TryLease(ctx, leader, postgres.CacheFillLease)
	if err != nil || held == nil {
		t.Fatalf("first TryLease: got %v, %v; want the lease", held, err)
	}
	if l, err := postgres.TryLease(ctx, standby, postgres.CacheFillLease); err != nil || l != nil {
		t.Fatalf("TryLease while held: got %v, %v; want nil, nil", l, err)
	}
	other, err := postgres.TryLease(ctx, standby, postgres.CacheFillLease+1)
	if err != nil || other == nil {
		t.Fatalf("TryLease of another key while the first is held: got %v, %v; want it", other, err)
	}
	other.Release()

	held.Release()
	again, err := postgres.TryLease(ctx, standby, postgres.CacheFillLease)
	if err != nil || again == nil {
		t.Fatalf("TryLease after Release: got %v, %v; want the lease", again, err)
	}
	again.Release()
}
