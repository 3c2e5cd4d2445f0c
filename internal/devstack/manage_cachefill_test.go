package devstack_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/postgres"
)

// availableIn reads /listppv and returns the slot's places left.
func availableIn(t *testing.T, base, state, slot string) int {
	t.Helper()
	var doc listing.Document
	getInto(t, base+"/listppv?state="+state, &doc)
	for _, c := range doc.Centers {
		for _, s := range c.Slots {
			if s.ID == slot {
				return s.Available
			}
		}
	}
	t.Fatalf("slot %s is not in the %s listing", slot, state)
	return 0
}

// TestStart_CancelRacingTheCacheFillGivesThePlaceBack cancels while the
// cache-fill loop rewrites the listing five times a second: whichever pass
// reads the counter around the cancel's commit, a later one shows the
// place again, and Postgres keeps counters equal to bookings.
func TestStart_CancelRacingTheCacheFillGivesThePlaceBack(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error"}
	s := start(t, env, false)
	base := s.URL()
	var doc listing.Document
	getInto(t, base+"/listppv?state=melaka", &doc)
	slot := doc.Centers[0].Slots[0]
	before := slot.Available

	body := `{"state":"melaka","name":"Lim Wei Ling","id_number":"A1234567","phone":"+60123456780","email":"lim@example.com","preferences":["` + slot.ID + `"]}`
	var sub struct{ Reference string }
	if code := call(t, "POST", base+"/submit", body, &sub); code != http.StatusAccepted {
		t.Fatalf("POST /submit: %d", code)
	}
	m := manageLink.FindStringSubmatch(mailOf(t, base, sub.Reference, notify.KindConfirmed).Text)
	if m == nil {
		t.Fatal("no manage link in the confirmation")
	}
	token, _ := url.QueryUnescape(m[1])
	eventually(t, "the listing to count the booking", func() (bool, any) {
		n := availableIn(t, base, "melaka", slot.ID)
		return n == before-1, n
	})

	if code := call(t, "POST", base+"/manage/cancel", `{"token":"`+token+`"}`, nil); code != http.StatusAccepted {
		t.Fatalf("POST /manage/cancel: %d", code)
	}
	eventually(t, "the cancelled place back in /listppv", func() (bool, any) {
		n := availableIn(t, base, "melaka", slot.ID)
		return n == before, n
	})

	pool, err := postgres.Open(context.Background(), postgres.Config{URL: env["DATABASE_URL"], MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	inv, err := postgres.CheckInvariants(context.Background(), pool, []string{sub.Reference})
	if err != nil {
		t.Fatal(err)
	}
	if inv.CountersUnlikeBookings != 0 || inv.SlotsOverCapacity != 0 || inv.Missing != 0 {
		t.Errorf("after the cancel: %+v, want counters equal to confirmed bookings", inv)
	}
}
