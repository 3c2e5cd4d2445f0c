package worker_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

// invitedRequest invites person n and returns the request the API queues
// for them: the token, and no name or contact.
func (f fixture) invitedRequest(t *testing.T, n int, prefs ...string) (booking.Request, testenv.Invited) {
	t.Helper()
	inv := testenv.MustInvite(t, f.pool, testenv.InvitationSigner(t), "selangor", n, time.Now().Add(time.Hour))
	req := testenv.NewRequest(n, prefs...)
	req.Name, req.Phone, req.Email, req.Lang, req.Invitation = "", "", "", "", inv.Token
	return req, inv
}

func (f fixture) withRegistrations(t *testing.T, regs worker.RegistrationRecords) http.Handler {
	t.Helper()
	return newWorker(f.pool, f.statuses, worker.WithRegistrations(regs), worker.WithoutPushAuth())
}

func TestPush_InvitationBooksOnceAndItsRegistrationSaysBookedWhateverTheDeliveries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 5)
	req, inv := f.invitedRequest(t, 1, "sel-001-am")
	body := envelope(t, "m1", req)

	down, err := redis.Open(context.Background(), testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	down.Close() // every command now fails
	if got := push(t, f.withRegistrations(t, redis.NewRegistrations(down, time.Hour)), worker.PushPath, body); got != http.StatusServiceUnavailable {
		t.Fatalf("push with the registration record unwritable: got %d, want 503", got)
	}

	regs := redis.NewRegistrations(testenv.NewRedis(t), time.Hour)
	h := f.withRegistrations(t, regs)
	for i := range 2 {
		if got := push(t, h, worker.PushPath, body); got != http.StatusNoContent {
			t.Fatalf("redelivery %d: got %d, want 204", i+1, got)
		}
	}
	got, err := regs.Get(context.Background(), inv.Registration)
	if err != nil {
		t.Fatalf("registration record after redelivery: %v", err)
	}
	if got.Status != queue.StatusBooked || got.BookingReference != req.Reference || got.State != "selangor" {
		t.Errorf("registration record = %+v, want booked as %s in selangor", got, req.Reference)
	}
	if got := f.status(t, req.Reference); got.Status != booking.StatusConfirmed {
		t.Errorf("status: got %s, want confirmed", got.Status)
	}

	// Another submission with the same link, accepted before the record
	// said booked.
	again := req
	again.Reference = booking.NewReference()
	if got := push(t, h, worker.PushPath, envelope(t, "m2", again)); got != http.StatusNoContent {
		t.Fatalf("second submission: got %d, want 204", got)
	}
	if got := f.status(t, again.Reference); got.Status != booking.StatusDuplicate {
		t.Errorf("second submission's status: got %s, want duplicate", got.Status)
	}
	if n := f.booked(t, "sel-001-am"); n != 1 {
		t.Errorf("booked: got %d, want 1", n)
	}
}

func TestPush_UnusableInvitationIsRecordedAndAcknowledged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 5)
	_, inv := f.invitedRequest(t, 1, "sel-001-am")
	stranger := testenv.NewRequest(2, "sel-001-am")
	stranger.Invitation = inv.Token
	h := f.withRegistrations(t, redis.NewRegistrations(testenv.NewRedis(t), time.Hour))
	for range 2 {
		if got := push(t, h, worker.PushPath, envelope(t, "m-stranger", stranger)); got != http.StatusNoContent {
			t.Fatalf("push: got %d, want 204 (acknowledged)", got)
		}
	}
	if n := count(t, f.pool, `SELECT count(*) FROM rejected_messages WHERE message_id = 'm-stranger' AND reason LIKE '%invitation%'`); n != 1 {
		t.Errorf("rejected rows: got %d, want 1", n)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings`); n != 0 {
		t.Errorf("bookings: got %d, want 0", n)
	}
}
