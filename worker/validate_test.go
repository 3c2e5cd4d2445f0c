package worker_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pubsub/pubsubtest"
	"github.com/vaxbook/vaxbook/internal/seed"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

// The item 4: a message with junk fields was booked confirmed. The
// worker now holds every message to the submission rules: such a message is
// recorded as malformed, acknowledged, and books nothing.
func TestPush_JunkFieldsAreRejectedNotBooked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 50, 50)
	cases := map[string]func(*booking.Request){
		"junk id_number":                 func(r *booking.Request) { r.IDNumber = "not-an-ic !!" },
		"junk email":                     func(r *booking.Request) { r.Email = "x" },
		"right-to-left override":         func(r *booking.Request) { r.Name = "Siti \u202eanimA" },
		"the issue's message, all three": func(r *booking.Request) { r.IDNumber, r.Email, r.Name = "not-an-ic !!", "x", "Siti \u202eanimA" },
		"IC not normalised":              func(r *booking.Request) { r.IDNumber = "900101-14-5678" },
	}
	i := 0
	for name, edit := range cases {
		i++
		req := testenv.NewRequest(i, "sel-001-am")
		edit(&req)
		id := "junk-" + strings.ReplaceAll(name, " ", "-")
		if got := push(t, f.handler, worker.PushPath, envelope(t, id, req)); got != http.StatusNoContent {
			t.Errorf("%s: got %d, want 204 (recorded and acknowledged, not retried)", name, got)
		}
		if n := count(t, f.pool, `SELECT count(*) FROM rejected_messages WHERE message_id = $1`, id); n != 1 {
			t.Errorf("%s: rejected_messages rows: got %d, want 1", name, n)
		}
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings`); n != 0 {
		t.Errorf("bookings from junk messages: got %d, want 0", n)
	}
	if n := f.booked(t, "sel-001-am"); n != 0 {
		t.Errorf("places taken by junk messages: got %d, want 0", n)
	}
}

// largestBooking is the largest booking request the API can publish: every
// field at its limit, in the characters JSON escapes to six bytes.
func largestBooking(t *testing.T, slots []string) booking.Request {
	t.Helper()
	domain := "@example.com"
	req := booking.Request{
		Reference:   booking.NewReference(),
		State:       strings.Repeat("s", booking.MaxStateLen),
		Name:        strings.Repeat("<", booking.MaxNameLen),
		IDNumber:    "A" + strings.Repeat("9", 11),
		Phone:       "+" + strings.Repeat("6", 15),
		Email:       strings.Repeat("&", 254-len(domain)) + domain,
		Preferences: slots,
		Lang:        booking.LangEnglish,
		Contact:     booking.ContactEmail,
		SubmittedAt: time.Date(2026, 11, 23, 7, 0, 0, 999999999, time.FixedZone("", -(11*60+30)*60)),
	}
	if err := req.Validate(); err != nil {
		t.Fatalf("the largest request is not legal: %v", err)
	}
	return req
}

// Push bodies are capped near the largest legal message (worker.MaxBookingPush):
// that message fits, with the longest subscription name Pub/Sub allows, and
// a byte over the cap is refused with 413 and books nothing.
func TestPush_LargestLegalBookingFitsTheCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 5)
	state := strings.Repeat("s", booking.MaxStateLen)
	var slots []string
	var rows []seed.Row
	for _, c := range "abc" {
		id := strings.Repeat(string(c), booking.MaxSlotIDLen)
		slots = append(slots, id)
		rows = append(rows, seed.Row{State: state, StateName: "Long", CenterID: "c-1", CenterName: "C", Address: "A",
			SlotID: id, Date: "2026-12-01", Time: "08:00-13:00", Capacity: 5})
	}
	if _, err := seed.Load(context.Background(), f.pool, rows); err != nil {
		t.Fatal(err)
	}
	body := func(req booking.Request, id string) []byte {
		return pubsubtest.Envelope(t, pubsubtest.Message{
			ID: id, Data: pubsubtest.JSON(t, req), Attributes: map[string]string{"reference": req.Reference},
			PublishTime:     time.Now(),
			Subscription:    "projects/" + strings.Repeat("p", 30) + "/subscriptions/" + strings.Repeat("n", 255),
			DeliveryAttempt: 100,
		})
	}
	largest := largestBooking(t, slots)
	b := body(largest, "12345678901234567890")
	t.Logf("largest legal push body: %d bytes of %d", len(b), worker.MaxBookingPush)
	if len(b) > worker.MaxBookingPush*3/4 {
		t.Errorf("largest legal push body %d bytes: want it within three quarters of the cap %d, leaving room for fields added later", len(b), worker.MaxBookingPush)
	}
	// JSON allows trailing space, so padding changes nothing but the size.
	pad := func(b []byte, n int) []byte { return append(bytes.Clone(b), bytes.Repeat([]byte(" "), n-len(b))...) }
	if got := push(t, f.handler, worker.PushPath, pad(b, worker.MaxBookingPush)); got != http.StatusNoContent {
		t.Fatalf("largest legal message padded to the cap: got %d, want 204", got)
	}
	if got := f.status(t, largest.Reference); got.Status != booking.StatusConfirmed {
		t.Errorf("largest legal message: status %s, want confirmed", got.Status)
	}

	over := largestBooking(t, slots)
	if got := push(t, f.handler, worker.PushPath, pad(body(over, "over"), worker.MaxBookingPush+1)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("a byte over the cap: got %d, want 413", got)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings WHERE reference = $1`, over.Reference); n != 0 {
		t.Errorf("bookings from the oversized push: got %d, want 0", n)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings`); n != 1 {
		t.Errorf("bookings: got %d, want 1", n)
	}
}
