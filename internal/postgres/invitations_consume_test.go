package postgres_test

import (
	"errors"
	"fmt"
	"reflect"
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

// invitedRequest invites person n in selangor and returns the booking
// request the API would queue for them: their invitation, no name or
// contact.
func invitedRequest(t *testing.T, pool *pgxpool.Pool, n int, expiresAt time.Time, prefs ...string) (booking.Request, testenv.Invited) {
	t.Helper()
	inv := testenv.MustInvite(t, pool, testenv.InvitationSigner(t), "selangor", n, expiresAt)
	req := testenv.NewRequest(n, prefs...)
	req.Name, req.Phone, req.Email, req.Lang, req.Invitation = "", "", "", "", inv.Token
	return req, inv
}

func wantPlacesBooked(t *testing.T, pool *pgxpool.Pool, want int) {
	t.Helper()
	if n := queryInt(t, pool, `SELECT sum(booked) FROM slots`); n != want {
		t.Errorf("places booked: got %d, want %d", n, want)
	}
}

// invitationState is the invitation's booking reference ("" while unused)
// and its registration's status.
func invitationState(t *testing.T, pool *pgxpool.Pool, inv testenv.Invited) (usedBy, status string) {
	t.Helper()
	err := pool.QueryRow(t.Context(), `
SELECT COALESCE(i.booking_reference, ''), r.status
FROM invitations i JOIN registrations r ON r.reference = i.registration
WHERE i.registration = $1 AND (i.used_at IS NULL) = (i.booking_reference IS NULL)`, inv.Registration).Scan(&usedBy, &status)
	if err != nil {
		t.Fatalf("read invitation of %s: %v", inv.Registration, err)
	}
	return usedBy, status
}

func TestDecide_InvitationIsConsumedByTheBookingItConfirms(t *testing.T) {
	t.Parallel()
	pool, b := bookingsOn(t, 1, 0)
	req, inv := invitedRequest(t, pool, 1, time.Now().Add(time.Hour), "sel-001-am")

	first, err := b.Decide(t.Context(), req, "m1")
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	if first.Record.Status != booking.StatusConfirmed || first.Registration != inv.Registration {
		t.Fatalf("Decide() = %s for registration %q, want confirmed for %s", first.Record.Status, first.Registration, inv.Registration)
	}
	// The person was asked for none of it: it comes from the registration.
	if first.Name != "Registrant 1" || first.Email != "reg1@example.com" || first.Record.Lang != "en" {
		t.Errorf("outcome to %q <%s> in %q, want the registration's Registrant 1 <reg1@example.com> in en", first.Name, first.Email, first.Record.Lang)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM bookings WHERE name = 'Registrant 1' AND phone = '+60198765432' AND email = 'reg1@example.com' AND lang = 'en'`); n != 1 {
		t.Errorf("bookings with the registration's name, contact and lang: got %d, want 1", n)
	}
	if usedBy, status := invitationState(t, pool, inv); usedBy != req.Reference || status != "booked" {
		t.Errorf("invitation used by %q, registration %s; want %s, booked", usedBy, status, req.Reference)
	}

	again, err := b.Decide(t.Context(), req, "m1-redelivered")
	if err != nil {
		t.Fatalf("redelivered Decide: %v", err)
	}
	if !reflect.DeepEqual(again.Record, first.Record) || again.Registration != inv.Registration {
		t.Errorf("redelivery = %+v for %q, want %+v for %s", again.Record, again.Registration, first.Record, inv.Registration)
	}
	wantPlacesBooked(t, pool, 1)
}

func TestDecide_FullLeavesTheInvitationForAnotherChoice(t *testing.T) {
	t.Parallel()
	pool, b := bookingsOn(t, 0, 1)
	req, inv := invitedRequest(t, pool, 1, time.Now().Add(time.Hour), "sel-001-am")

	o, err := b.Decide(t.Context(), req, "m1")
	if err != nil || o.Record.Status != booking.StatusFull || o.Registration != "" {
		t.Fatalf("Decide() = %s for %q, %v; want full for no registration", o.Record.Status, o.Registration, err)
	}
	if usedBy, status := invitationState(t, pool, inv); usedBy != "" || status != "invited" {
		t.Errorf("after full: invitation used by %q, registration %s; want unused, invited", usedBy, status)
	}

	// The same link, other choices.
	retry := req
	retry.Reference, retry.Preferences = booking.NewReference(), []string{"sel-001-pm"}
	o, err = b.Decide(t.Context(), retry, "m2")
	if err != nil || o.Record.Status != booking.StatusConfirmed {
		t.Fatalf("retry Decide() = %s, %v; want confirmed", o.Record.Status, err)
	}
	if usedBy, status := invitationState(t, pool, inv); usedBy != retry.Reference || status != "booked" {
		t.Errorf("after retry: invitation used by %q, registration %s; want %s, booked", usedBy, status, retry.Reference)
	}
}

func TestDecide_InvitationCountsAsOfTheAPIsAcceptance(t *testing.T) {
	t.Parallel()
	pool, b := bookingsOn(t, 5, 0)
	expiry := time.Now().Add(-time.Minute)

	// Accepted before expiry, decided after it: honoured.
	req, inv := invitedRequest(t, pool, 1, expiry, "sel-001-am")
	req.SubmittedAt = expiry.Add(-time.Second)
	if o, err := b.Decide(t.Context(), req, "m1"); err != nil || o.Record.Status != booking.StatusConfirmed {
		t.Errorf("accepted before expiry: Decide() = %s, %v; want confirmed", o.Record.Status, err)
	}
	if usedBy, _ := invitationState(t, pool, inv); usedBy != req.Reference {
		t.Errorf("accepted before expiry: invitation used by %q, want %s", usedBy, req.Reference)
	}

	// Accepted at or after expiry (an API clock behind): full, unused.
	for i, at := range []time.Time{inv.ExpiresAt, expiry.Add(time.Second)} {
		req, inv := invitedRequest(t, pool, 2+i, expiry, "sel-001-am")
		req.SubmittedAt = at
		if o, err := b.Decide(t.Context(), req, fmt.Sprint("m-late", i)); err != nil || o.Record.Status != booking.StatusFull {
			t.Errorf("accepted at %s, expiry %s: Decide() = %s, %v; want full", at, inv.ExpiresAt, o.Record.Status, err)
		}
		if usedBy, status := invitationState(t, pool, inv); usedBy != "" || status != "invited" {
			t.Errorf("accepted late: invitation used by %q, registration %s; want unused, invited", usedBy, status)
		}
	}
	wantPlacesBooked(t, pool, 1)
}

func TestDecide_OneTokenBooksOnceWhateverTheSubmissions(t *testing.T) {
	t.Parallel()
	pool, b := bookingsOn(t, 10, 0)
	req, inv := invitedRequest(t, pool, 1, time.Now().Add(time.Hour), "sel-001-am")

	const n = 6
	var wg sync.WaitGroup
	got := make([]booking.Outcome, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			r := req
			r.Reference = booking.NewReference()
			got[i], errs[i] = b.Decide(t.Context(), r, "m"+r.Reference)
		})
	}
	wg.Wait()
	confirmed := ""
	for i := range n {
		switch {
		case errs[i] != nil:
			t.Errorf("Decide: %v", errs[i])
		case got[i].Record.Status == booking.StatusConfirmed:
			if confirmed != "" {
				t.Errorf("two bookings confirmed with one token: %s and %s", confirmed, got[i].Record.Reference)
			}
			confirmed = got[i].Record.Reference
		case got[i].Record.Status != booking.StatusDuplicate:
			t.Errorf("Decide() = %s, want confirmed once and duplicate otherwise", got[i].Record.Status)
		}
	}
	if usedBy, _ := invitationState(t, pool, inv); usedBy == "" || usedBy != confirmed {
		t.Errorf("invitation used by %q, want the one confirmed booking %q", usedBy, confirmed)
	}
	wantPlacesBooked(t, pool, 1)
}

func TestDecide_RefusesAnInvitationTheAPIWouldHaveRefused(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	testenv.MustSeed(t, pool, listing.SlotRow{SlotID: "sel-001-am", Capacity: 5},
		listing.SlotRow{StateCode: "johor", SlotID: "joh-001-am", Capacity: 5})
	b := postgres.NewBookings(pool, pii.Dev())
	exp := time.Now().Add(time.Hour)

	unknown := testenv.NewRequest(1, "sel-001-am")
	unknown.Invitation = testenv.InvitationSigner(t).Sign(booking.NewReference(), "selangor", unknown.IDNumber, exp)

	_, inv := invitedRequest(t, pool, 2, exp, "sel-001-am")
	another := testenv.NewRequest(3, "sel-001-am")
	another.Invitation = inv.Token

	otherState := testenv.NewRequest(2, "joh-001-am")
	otherState.State, otherState.Invitation = "johor", inv.Token

	for name, req := range map[string]booking.Request{"no such invitation": unknown, "another person": another, "another state": otherState} {
		if o, err := b.Decide(t.Context(), req, "m-"+req.Reference); !errors.Is(err, postgres.ErrUnusableInvitation) {
			t.Errorf("%s: Decide() = %+v, %v; want ErrUnusableInvitation", name, o.Record, err)
		}
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM bookings`); n != 0 {
		t.Errorf("bookings rows: got %d, want 0", n)
	}
	if usedBy, status := invitationState(t, pool, inv); usedBy != "" || status != "invited" {
		t.Errorf("invitation used by %q, registration %s; want unused, invited", usedBy, status)
	}
}

// Invitations hold places: with as many invited as there are places, every
// invitee who books in time with room among their choices gets one,
// whatever the order their bookings land in.
func TestDecide_EveryInviteeWhoBooksInTimeGetsAPlace(t *testing.T) {
	t.Parallel()
	pool, b := bookingsOn(t, 3, 2)
	const invited = 5
	reqs := make([]booking.Request, invited)
	for i := range reqs {
		reqs[i], _ = invitedRequest(t, pool, i+1, time.Now().Add(time.Hour), "sel-001-am", "sel-001-pm")
	}
	var wg sync.WaitGroup
	for _, req := range reqs {
		wg.Go(func() {
			o, err := b.Decide(t.Context(), req, "m-"+req.Reference)
			if err != nil || o.Record.Status != booking.StatusConfirmed {
				t.Errorf("invitee %s: Decide() = %s, %v; want confirmed", req.IDNumber, o.Record.Status, err)
			}
		})
	}
	wg.Wait()
	if n := queryInt(t, pool, `SELECT count(*) FROM registrations WHERE status = 'booked'`); n != invited {
		t.Errorf("registrations booked: got %d, want %d", n, invited)
	}
	if n := queryInt(t, pool, `SELECT count(*) FROM slots WHERE booked > capacity`); n != 0 {
		t.Errorf("slots over capacity: %d", n)
	}
}
