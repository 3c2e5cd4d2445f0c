package worker_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

// manageWorker is the worker with manage links on and e-mail requests
// published on email-topic of a fresh pstest, pulled through sub.
func manageWorker(t *testing.T, amCap, pmCap int) (fixture, func() []email.Request) {
	t.Helper()
	f := newFixture(t, amCap, pmCap)
	_, psc := testenv.NewPubSub(t, "test")
	sub := emailTopic(t, psc)
	pub := pubsub.NewRequestPublisher[email.Request](psc, "email-topic")
	t.Cleanup(pub.Stop)
	signer := testenv.ManageSigner()
	books := postgres.NewBookings(f.pool, pii.Dev()).WithManage(signer)
	f.handler = worker.NewHandler(quiet, "test", books, f.statuses,
		worker.WithEmailRequests(pub), worker.WithManage(books, f.statuses, signer), worker.WithoutPushAuth())
	mails := func() []email.Request {
		var out []email.Request
		for _, rm := range drain(t, psc, sub) {
			var r email.Request
			if err := json.Unmarshal(rm.GetMessage().GetData(), &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	return f, mails
}

// pushManage delivers m as message id copies times at once, each until it
// is acknowledged, as Pub/Sub would after a 503.
func (f fixture) pushManage(t *testing.T, id string, m booking.ManageRequest, copies int) {
	t.Helper()
	body := envelope(t, id, m)
	var wg sync.WaitGroup
	for range copies {
		wg.Go(func() {
			for attempt := 0; ; attempt++ {
				code := push(t, f.handler, worker.ManagePushPath, body)
				if code == http.StatusNoContent {
					return
				}
				if attempt > 100 {
					t.Errorf("manage push %s: still %d after %d tries", id, code, attempt)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestManagePush_ChangeThenCancelUnderRedeliveryTellsEachOnceAndKeepsCounters(t *testing.T) {
	t.Parallel()
	f, mails := manageWorker(t, 1, 1)
	req := testenv.NewRequest(1, "sel-001-am")
	f.pushEach(t, req)
	confirmed := mails()
	if len(confirmed) != 1 || confirmed[0].Kind != notify.KindConfirmed || confirmed[0].Manage == "" {
		t.Fatalf("confirmation: got %+v, want one confirmed with a manage token", confirmed)
	}
	token := confirmed[0].Manage

	change := testenv.NewManage(booking.ActionChange, req.Reference, token, "sel-001-pm")
	f.pushManage(t, "c1", change, 3)
	if got := f.status(t, change.Request); got.Status != booking.StatusChanged || got.Slot == nil || got.Slot.ID != "sel-001-pm" {
		t.Errorf("change request's status: got %+v, want changed to sel-001-pm", got)
	}
	if got := f.status(t, req.Reference); got.Status != booking.StatusConfirmed || got.Slot.ID != "sel-001-pm" || got.Sequence != 1 {
		t.Errorf("booking's status: got %+v, want confirmed in sel-001-pm, sequence 1", got)
	}
	if am, pm := f.booked(t, "sel-001-am"), f.booked(t, "sel-001-pm"); am != 0 || pm != 1 {
		t.Errorf("booked after the change: am %d pm %d, want 0 and 1", am, pm)
	}

	cancel := testenv.NewManage(booking.ActionCancel, req.Reference, token)
	f.pushManage(t, "x1", cancel, 3)
	if got := f.status(t, req.Reference); got.Status != booking.StatusCancelled || got.Sequence != 2 {
		t.Errorf("booking's status: got %+v, want cancelled, sequence 2", got)
	}
	if am, pm := f.booked(t, "sel-001-am"), f.booked(t, "sel-001-pm"); am != 0 || pm != 0 {
		t.Errorf("booked after the cancel: am %d pm %d, want 0 and 0", am, pm)
	}

	// Every delivery asks (the send-once record keeps each to one e-mail):
	// what matters is that the keys are exactly one change and one cancel.
	keys := map[notify.Key]int{}
	for _, m := range mails() {
		keys[m.Key()]++
		if m.Kind == notify.KindChanged && (m.Sequence != 1 || m.Slot.ID != "sel-001-pm" || m.Manage != token) {
			t.Errorf("changed e-mail: got %+v", m)
		}
		if m.Kind == notify.KindCancelled && (m.Sequence != 2 || m.Manage != "") {
			t.Errorf("cancelled e-mail: got %+v", m)
		}
	}
	want := []notify.Key{
		{Reference: req.Reference, Kind: "changed/1", Channel: notify.ChannelEmail},
		{Reference: req.Reference, Kind: notify.KindCancelled, Channel: notify.ChannelEmail},
	}
	if len(keys) != len(want) {
		t.Errorf("e-mail keys: got %v, want %v", keys, want)
	}
	for _, k := range want {
		if keys[k] == 0 {
			t.Errorf("no e-mail asked for under %s (got %v)", k, keys)
		}
	}
}

func TestManagePush_ResendTellsOnlyTheBookingsOwnContact(t *testing.T) {
	t.Parallel()
	f, mails := manageWorker(t, 1, 1)
	req := testenv.NewRequest(1, "sel-001-am")
	f.pushEach(t, req)
	mails()
	for i, id := range []string{req.IDNumber, testenv.NewRequest(2).IDNumber} {
		m := booking.ManageRequest{Action: booking.ActionResend, Booking: req.Reference, Request: booking.NewReference(),
			IDNumber: id, RequestedAt: req.SubmittedAt}
		f.pushManage(t, fmt.Sprint("r", i), m, 1)
	}
	got := mails()
	if len(got) != 1 || got[0].Kind != notify.KindManage || got[0].Email != req.Email || got[0].Manage != testenv.ManageSigner().Sign(req.Reference, req.State) {
		t.Errorf("resent: got %+v, want one manage e-mail to %s with the booking's link", got, req.Email)
	}
}

func TestManagePush_ForeignTokenIsRecordedAndAcknowledged(t *testing.T) {
	t.Parallel()
	f, _ := manageWorker(t, 1, 1)
	req := testenv.NewRequest(1, "sel-001-am")
	f.pushEach(t, req)
	forged := testenv.NewManage(booking.ActionCancel, req.Reference, testenv.ManageSigner().Sign(booking.NewReference(), "selangor"))
	if got := push(t, f.handler, worker.ManagePushPath, envelope(t, "bad", forged)); got != http.StatusNoContent {
		t.Errorf("push: got %d, want 204", got)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM rejected_messages WHERE message_id = 'bad'`); n != 1 {
		t.Errorf("rejected messages: got %d, want 1", n)
	}
	if n := f.booked(t, "sel-001-am"); n != 1 {
		t.Errorf("booked: got %d, want 1", n)
	}
}
