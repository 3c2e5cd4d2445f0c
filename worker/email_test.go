package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gpubsub "cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/sendgrid/sendgridtest"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

const sendgridKey = "SG.test-key"

// emailHandler is /push/email over pool, sending through a SendGrid
// stand-in that answers statuses in order (then 202).
func emailHandler(t testing.TB, pool *pgxpool.Pool, statuses ...int) (http.Handler, *sendgridtest.Server) {
	t.Helper()
	srv := sendgridtest.New(t, sendgridKey, statuses...)
	return worker.HandleEmail(quiet, postgres.NewEmails(pool), mustComposer(t), mustSendGrid(t, srv.URL)), srv
}

func emailRequest(kind notify.Kind) email.Request {
	r := email.Request{Reference: booking.NewReference(), Kind: kind, Lang: "en", Name: "Siti", Email: "siti@example.com",
		State: "selangor", DecidedAt: time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)}
	switch kind {
	case notify.KindConfirmed:
		r.Slot = &booking.SlotInfo{ID: "sel-001-am", CenterID: "sel-001", CenterName: "Dewan A", Address: "Jalan 1", Date: "2026-12-01", Time: "08:00-13:00"}
	case notify.KindFull:
		r.Taken = []booking.SlotInfo{{ID: "sel-001-am", CenterName: "Dewan A", Address: "Jalan 1", Date: "2026-12-01", Time: "08:00-13:00"}}
	case notify.KindAttempt:
		r.Name, r.State = "", ""
	}
	return r
}

func TestEmailPush_RedeliveredAndConcurrentDuplicatesSendOnce(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	h, srv := emailHandler(t, pool)
	reqs := []email.Request{emailRequest(notify.KindConfirmed), emailRequest(notify.KindFull), emailRequest(notify.KindDuplicate), emailRequest(notify.KindAttempt)}

	// Each request arrives eight times at once (redeliveries of one message
	// and republished copies under new ids); a push answered 503 (another
	// delivery is sending) is delivered again, as Pub/Sub would.
	var wg sync.WaitGroup
	for i, r := range reqs {
		for copy := range 8 {
			wg.Go(func() {
				body := envelope(t, fmt.Sprintf("m%d-%d", i, copy%2), r)
				for attempt := 0; ; attempt++ {
					code := push(t, h, worker.EmailPushPath, body)
					if code == http.StatusNoContent {
						return
					}
					if code != http.StatusServiceUnavailable || attempt > 200 {
						t.Errorf("push: got %d after %d attempts", code, attempt)
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			})
		}
	}
	wg.Wait()

	if got := srv.Calls(); got != len(reqs) {
		t.Errorf("SendGrid calls: got %d, want one per request (%d)", got, len(reqs))
	}
	sent := map[string]string{}
	for _, m := range srv.Accepted() {
		sent[m.CustomArgs["reference"]] = m.CustomArgs["kind"]
	}
	for _, r := range reqs {
		if sent[r.Reference] != string(r.Kind) {
			t.Errorf("reference %s: sent kind %q, want %q", r.Reference, sent[r.Reference], r.Kind)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM sent_emails WHERE outcome = 'sent' AND provider_status = 202 AND provider_id <> ''`); n != len(reqs) {
		t.Errorf("sent_emails rows: got %d, want %d", n, len(reqs))
	}
}

func TestEmailPush_TwinArrivingWhileSendingIsToldToComeBackAndNotSent(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	h, srv := emailHandler(t, pool)
	arrived, release := srv.Hold()
	t.Cleanup(release)
	r := emailRequest(notify.KindConfirmed)

	first := make(chan int, 1)
	go func() { first <- push(t, h, worker.EmailPushPath, envelope(t, "m1", r)) }()
	<-arrived // the first delivery is inside SendGrid, holding the e-mail's lock
	if got := push(t, h, worker.EmailPushPath, envelope(t, "m1-copy", r)); got != http.StatusServiceUnavailable {
		t.Errorf("twin during the send: got %d, want 503 (deliver again later)", got)
	}
	release()
	if got := <-first; got != http.StatusNoContent {
		t.Errorf("first delivery: got %d, want 204", got)
	}
	if got := push(t, h, worker.EmailPushPath, envelope(t, "m1-copy", r)); got != http.StatusNoContent {
		t.Errorf("twin after the send: got %d, want 204", got)
	}
	if got := srv.Calls(); got != 1 {
		t.Errorf("SendGrid calls: got %d, want 1", got)
	}
}

func TestEmailPush_RateLimitedOrFailingProviderIsRetriedAndSendsOnce(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	h, srv := emailHandler(t, pool, http.StatusTooManyRequests, http.StatusBadGateway)
	body := envelope(t, "m1", emailRequest(notify.KindConfirmed))

	for i, want := range []int{503, 503, 204, 204, 204} {
		if got := push(t, h, worker.EmailPushPath, body); got != want {
			t.Errorf("delivery %d: got %d, want %d", i+1, got, want)
		}
	}
	if calls, accepted := srv.Calls(), len(srv.Accepted()); calls != 3 || accepted != 1 {
		t.Errorf("SendGrid: %d calls, %d accepted; want 3 calls (429, 502, 202) and 1 accepted", calls, accepted)
	}
	if n := count(t, pool, `SELECT count(*) FROM sent_emails WHERE outcome = 'sent'`); n != 1 {
		t.Errorf("sent rows: got %d, want 1", n)
	}
}

func TestEmailPush_PermanentRefusalIsRecordedAndNotRetried(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	h, srv := emailHandler(t, pool, http.StatusBadRequest)
	r := emailRequest(notify.KindFull)
	body := envelope(t, "m1", r)

	for i := range 3 {
		if got := push(t, h, worker.EmailPushPath, body); got != http.StatusNoContent {
			t.Errorf("delivery %d: got %d, want 204 (acknowledged)", i+1, got)
		}
	}
	if got := srv.Calls(); got != 1 {
		t.Errorf("SendGrid calls: got %d, want 1", got)
	}
	if n := count(t, pool, `SELECT count(*) FROM sent_emails WHERE reference = $1 AND kind = 'full' AND outcome = 'rejected' AND provider_status = 400 AND detail <> ''`, r.Reference); n != 1 {
		t.Errorf("rejected rows: got %d, want 1", n)
	}
}

func TestEmailPush_MalformedRequestIsRecordedAndAcknowledged(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	h, srv := emailHandler(t, pool)
	noAddress := emailRequest(notify.KindConfirmed)
	noAddress.Email = ""
	noSlot := emailRequest(notify.KindConfirmed)
	noSlot.Slot = nil
	cases := map[string][]byte{
		"e-bad-json":   envelope(t, "e-bad-json", []byte("{nope")),
		"e-no-address": envelope(t, "e-no-address", noAddress),
		"e-no-slot":    envelope(t, "e-no-slot", noSlot),
		"e-bad-b64":    []byte(`{"message":{"data":"%%%","messageId":"e-bad-b64"},"subscription":"s"}`),
	}
	for id, body := range cases {
		for range 2 {
			if got := push(t, h, worker.EmailPushPath, body); got != http.StatusNoContent {
				t.Errorf("%s: got %d, want 204", id, got)
			}
		}
		if n := count(t, pool, `SELECT count(*) FROM rejected_messages WHERE message_id = $1`, id); n != 1 {
			t.Errorf("%s: rejected rows %d, want 1", id, n)
		}
	}
	if srv.Calls() != 0 {
		t.Errorf("SendGrid calls: got %d, want 0", srv.Calls())
	}
}

func TestEmailPush_WithoutSenderRequestsWait(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	h := worker.HandleEmail(slog.New(slog.NewTextHandler(io.Discard, nil)), postgres.NewEmails(pool), nil, nil)
	if got := push(t, h, worker.EmailPushPath, envelope(t, "m1", emailRequest(notify.KindConfirmed))); got != http.StatusServiceUnavailable {
		t.Errorf("push without a sender: got %d, want 503 so the request waits", got)
	}
	if n := count(t, pool, `SELECT count(*) FROM sent_emails`); n != 0 {
		t.Errorf("sent rows: got %d, want 0", n)
	}
}

// emailTopic makes email-topic with a pull subscription in a fresh pstest.
func emailTopic(t *testing.T, psc *gpubsub.Client) string {
	t.Helper()
	return pullTopic(t, psc, "email-topic", "email-push")
}

// pullTopic makes topic with the pull subscription sub, whose full name it
// returns.
func pullTopic(t *testing.T, psc *gpubsub.Client, topic, sub string) string {
	t.Helper()
	ctx := context.Background()
	if err := pubsub.EnsureTopic(ctx, psc, topic); err != nil {
		t.Fatal(err)
	}
	name, err := pubsub.EnsurePullSubscription(ctx, psc, topic, sub, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// drain pulls and acknowledges everything waiting on sub.
func drain(t *testing.T, psc *gpubsub.Client, sub string) []*pubsubpb.ReceivedMessage {
	t.Helper()
	ctx := context.Background()
	var out []*pubsubpb.ReceivedMessage
	for {
		//lint:ignore SA1019 pstest honours only this: without it an empty pull sleeps 500 ms.
		resp, err := psc.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 100, ReturnImmediately: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetReceivedMessages()) == 0 {
			return out
		}
		var ids []string
		for _, rm := range resp.GetReceivedMessages() {
			out = append(out, rm)
			ids = append(ids, rm.GetAckId())
		}
		if err := psc.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: ids}); err != nil {
			t.Fatal(err)
		}
	}
}

// pushEmails pushes every pulled request copies times to h's
// /push/email, all at once, delivering again after a 503 as Pub/Sub would.
func pushEmails(t *testing.T, h http.Handler, sub string, requests []*pubsubpb.ReceivedMessage, copies int) {
	t.Helper()
	var wg sync.WaitGroup
	for _, rm := range requests {
		body, _ := json.Marshal(pubsub.Envelope(rm, sub))
		for range copies {
			wg.Go(func() {
				for attempt := 0; push(t, h, worker.EmailPushPath, body) != http.StatusNoContent; attempt++ {
					if attempt > 200 {
						t.Error("e-mail push never acknowledged")
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			})
		}
	}
	wg.Wait()
}

// bookingWithEmail is newFixture's database with a booking push that
// publishes e-mail requests on email-topic of a fresh pstest, whose client
// it returns too; the topic is left for the test to make.
func bookingWithEmail(t *testing.T, amCap, pmCap int) (fixture, http.Handler, *gpubsub.Client) {
	t.Helper()
	f := newFixture(t, amCap, pmCap)
	_, psc := testenv.NewPubSub(t, "test")
	pub := pubsub.NewRequestPublisher[email.Request](psc, "email-topic")
	t.Cleanup(pub.Stop)
	return f, newWorker(f.pool, f.statuses, worker.WithEmailRequests(pub), worker.WithoutPushAuth()), psc
}

func TestPush_EveryFinalBookingGetsExactlyOneEmailUnderRedelivery(t *testing.T) {
	t.Parallel()
	f, h, psc := bookingWithEmail(t, 1, 0)
	sub := emailTopic(t, psc)

	confirmed := testenv.NewRequest(1, "sel-001-am")
	full := testenv.NewRequest(2, "sel-001-am", "sel-001-pm")
	duplicate := testenv.NewRequest(1, "sel-001-pm")
	for i, req := range []booking.Request{confirmed, full, duplicate} {
		body := envelope(t, fmt.Sprintf("b%d", i), req)
		for d := range 2 { // every booking message is delivered twice
			if got := push(t, h, worker.PushPath, body); got != http.StatusNoContent {
				t.Fatalf("booking %d delivery %d: got %d", i, d+1, got)
			}
		}
	}

	requests := drain(t, psc, sub)
	if len(requests) != 8 {
		t.Errorf("e-mail requests published: got %d, want 8 (each delivery asks again, a duplicate for two)", len(requests))
	}
	byKey := map[string]email.Request{} // reference/kind
	for _, rm := range requests {
		var r email.Request
		if err := json.Unmarshal(rm.GetMessage().GetData(), &r); err != nil {
			t.Fatal(err)
		}
		key := r.Reference + "/" + string(r.Kind)
		if prev, ok := byKey[key]; ok {
			a, _ := json.Marshal(prev)
			b, _ := json.Marshal(r)
			if string(a) != string(b) {
				t.Errorf("a redelivery asked for a different e-mail:\n%s\n%s", a, b)
			}
		}
		byKey[key] = r
		for _, id := range []string{confirmed.IDNumber, full.IDNumber} {
			if bytes.Contains(rm.GetMessage().GetData(), []byte(id)) {
				t.Errorf("e-mail request carries an id_number: %s", rm.GetMessage().GetData())
			}
		}
	}
	if r := byKey[confirmed.Reference+"/confirmed"]; r.Kind != notify.KindConfirmed || r.Slot == nil || r.Slot.ID != "sel-001-am" || r.Email != confirmed.Email {
		t.Errorf("confirmed request: got %+v", r)
	}
	if r := byKey[full.Reference+"/full"]; r.Kind != notify.KindFull || len(r.Taken) != 2 || r.Taken[0].ID != "sel-001-am" || r.Taken[1].CenterName != "Dewan A" {
		t.Errorf("full request: got %+v", r)
	}
	if r := byKey[duplicate.Reference+"/duplicate"]; r.Kind != notify.KindDuplicate || r.Email != duplicate.Email {
		t.Errorf("duplicate request: got %+v", r)
	}
	if r := byKey[confirmed.Reference+"/attempt"]; r.Kind != notify.KindAttempt || r.Email != confirmed.Email || r.Lang != confirmed.Lang {
		t.Errorf("attempt request to the holder: got %+v", r)
	}

	// Every request is pushed to /push/email, twice and concurrently.
	eh, srv := emailHandler(t, f.pool)
	pushEmails(t, eh, sub, requests, 1)
	got := map[string]int{}
	for _, m := range srv.Accepted() {
		got[m.CustomArgs["reference"]+"/"+m.CustomArgs["kind"]]++
	}
	for _, key := range []string{confirmed.Reference + "/confirmed", full.Reference + "/full", duplicate.Reference + "/duplicate", confirmed.Reference + "/attempt"} {
		if got[key] != 1 {
			t.Errorf("e-mails sent for %s: got %d, want 1", key, got[key])
		}
	}
	if len(srv.Accepted()) != 4 {
		t.Errorf("e-mails sent: got %d, want 4", len(srv.Accepted()))
	}
}

// TestPush_DuplicateTellsTheHolderOnceADayAndTheSubmitterNothingOfTheirBooking
// is the duplicate half of issue 11: someone who knows a person's IC
// submits it, again and again. Each submitter hears only that the ID holds
// a booking; the holder is told at their own address, once a day however
// many attempts and redeliveries there are, and hears nothing of who tried.
func TestPush_DuplicateTellsTheHolderOnceADayAndTheSubmitterNothingOfTheirBooking(t *testing.T) {
	t.Parallel()
	f, h, psc := bookingWithEmail(t, 5, 5)
	sub := emailTopic(t, psc)

	holder := testenv.NewRequest(9, "sel-001-am")
	holder.Name, holder.Email, holder.Lang = "Pemegang Asal", "holder@example.org", "en"
	if got := push(t, h, worker.PushPath, envelope(t, "h", holder)); got != http.StatusNoContent {
		t.Fatalf("holder's booking: got %d", got)
	}
	drain(t, psc, sub) // the holder's confirmation

	var tries []booking.Request
	for i := range 3 {
		try := testenv.NewRequest(9, "sel-001-pm")
		try.Name, try.Email, try.Phone = fmt.Sprintf("Penceroboh %d", i), fmt.Sprintf("intruder%d@example.net", i), "+60199999999"
		tries = append(tries, try)
		for d := range 2 {
			if got := push(t, h, worker.PushPath, envelope(t, fmt.Sprintf("t%d", i), try)); got != http.StatusNoContent {
				t.Fatalf("attempt %d delivery %d: got %d", i, d+1, got)
			}
		}
	}

	// What the holder's booking is, in every form a leak could take (the
	// date as JSON and as an e-mail writes it; decided_at may fall on it).
	holderBooking := []string{holder.Reference, holder.Email, holder.Name, "sel-001-am", "sel-001\"", "Dewan A", "Jalan 1",
		`2026-12-01"`, "1 December 2026", "1 Disember 2026", "08:00-13:00"}
	for _, try := range tries {
		body, err := f.statuses.GetRaw(context.Background(), try.Reference)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(body, []byte(`"duplicate"`)) {
			t.Errorf("status of %s: got %s, want duplicate", try.Reference, body)
		}
		for _, leak := range holderBooking {
			if bytes.Contains(body, []byte(leak)) {
				t.Errorf("the status shown to a submitter carries %q of the holder's booking: %s", leak, body)
			}
		}
	}

	requests := drain(t, psc, sub)
	if len(requests) != 12 {
		t.Errorf("e-mail requests: got %d, want 12 (two per delivery of each of 3 attempts)", len(requests))
	}
	for _, rm := range requests {
		data := rm.GetMessage().GetData()
		var r email.Request
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		switch r.Kind {
		case notify.KindDuplicate:
			for _, leak := range holderBooking {
				if bytes.Contains(data, []byte(leak)) {
					t.Errorf("the duplicate e-mail request to the submitter carries %q: %s", leak, data)
				}
			}
		case notify.KindAttempt:
			if r.Reference != holder.Reference || r.Email != holder.Email || r.Lang != holder.Lang {
				t.Errorf("attempt request: got %s, want it to the holder %s at %s in %s", data, holder.Reference, holder.Email, holder.Lang)
			}
			for _, try := range tries {
				for _, leak := range []string{try.Reference, try.Name, try.Email, try.Phone, try.IDNumber, "sel-001-pm", "14:00"} {
					if bytes.Contains(data, []byte(leak)) {
						t.Errorf("the attempt request to the holder carries the submitter's %q: %s", leak, data)
					}
				}
			}
		default:
			t.Errorf("a duplicate asked for a %s e-mail: %s", r.Kind, data)
		}
	}

	// Every request is pushed twice, concurrently, then the holder's
	// attempt again as decided a day later: one more e-mail, not three.
	eh, srv := emailHandler(t, f.pool)
	pushEmails(t, eh, sub, requests, 2)
	attempts := func() (n int) {
		for _, m := range srv.Accepted() {
			if m.CustomArgs["kind"] == string(notify.KindAttempt) {
				n++
			}
		}
		return n
	}
	if n := attempts(); n != 1 {
		t.Errorf("attempt e-mails to the holder: got %d, want 1 a day", n)
	}
	tomorrow := email.Request{Reference: holder.Reference, Kind: notify.KindAttempt, Lang: "en", Email: holder.Email, DecidedAt: time.Now().Add(24 * time.Hour)}
	for i := range 3 {
		if got := push(t, eh, worker.EmailPushPath, envelope(t, fmt.Sprintf("next-day-%d", i), tomorrow)); got != http.StatusNoContent {
			t.Fatalf("next day's attempt: got %d", got)
		}
	}
	if n := attempts(); n != 2 {
		t.Errorf("attempt e-mails after a second day: got %d, want 2", n)
	}

	for _, m := range srv.Accepted() {
		to := m.Personalizations[0].To[0]
		all := m.Subject + "\n" + m.Content[0].Value + "\n" + m.Content[1].Value + "\n" + to.Name
		switch m.CustomArgs["kind"] {
		case string(notify.KindDuplicate):
			for _, leak := range holderBooking {
				if strings.Contains(all, leak) {
					t.Errorf("the duplicate e-mail to %s carries %q of the holder's booking:\n%s", to.Email, leak, all)
				}
			}
		case string(notify.KindAttempt):
			if to.Email != holder.Email {
				t.Errorf("attempt e-mail went to %s, want the holder %s", to.Email, holder.Email)
			}
			for _, try := range tries {
				for _, leak := range []string{try.Reference, try.Name, try.Email, try.Phone, try.IDNumber, holder.Reference, "Dewan A"} {
					if strings.Contains(all, leak) {
						t.Errorf("the attempt e-mail carries %q:\n%s", leak, all)
					}
				}
			}
		}
	}
	if n := count(t, f.pool, `SELECT count(*) FROM sent_emails WHERE reference = $1 AND kind LIKE 'attempt/%'`, holder.Reference); n != 2 {
		t.Errorf("attempt records: got %d, want one per day (2)", n)
	}
}

func TestPush_BookingCompletesWhenEmailTopicIsFailing(t *testing.T) {
	t.Parallel()
	f, h, psc := bookingWithEmail(t, 5, 5) // email-topic does not exist yet
	req := testenv.NewRequest(1, "sel-001-am")
	body := envelope(t, "m1", req)

	if got := push(t, h, worker.PushPath, body); got != http.StatusServiceUnavailable {
		t.Fatalf("push with email-topic missing: got %d, want 503 so the booking message is redelivered", got)
	}
	// The booking itself is done and visible.
	if got := f.status(t, req.Reference); got.Status != booking.StatusConfirmed {
		t.Errorf("status while e-mail is failing: got %s, want confirmed", got.Status)
	}

	sub := emailTopic(t, psc) // the topic is back
	if got := push(t, h, worker.PushPath, body); got != http.StatusNoContent {
		t.Fatalf("redelivery: got %d, want 204", got)
	}
	if n := f.booked(t, "sel-001-am"); n != 1 {
		t.Errorf("booked: got %d, want 1", n)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings`); n != 1 {
		t.Errorf("bookings: got %d, want 1", n)
	}
	msgs := drain(t, psc, sub)
	if len(msgs) != 1 || msgs[0].GetMessage().GetAttributes()["reference"] != req.Reference {
		t.Fatalf("e-mail requests after the redelivery: got %d, want 1 for %s", len(msgs), req.Reference)
	}
}

// TestPush_WithoutEmailRequestsBooksAsBefore is the worker as the acceptance
// tests start it: no EMAIL_TOPIC, so nothing is published and no Pub/Sub is
// needed.
func TestPush_WithoutEmailRequestsBooksAsBefore(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 5)
	req := testenv.NewRequest(1, "sel-001-am")
	if got := push(t, f.handler, worker.PushPath, envelope(t, "m1", req)); got != http.StatusNoContent {
		t.Fatalf("push: got %d, want 204", got)
	}
	if got := f.status(t, req.Reference); got.Status != booking.StatusConfirmed {
		t.Errorf("status: got %s", got.Status)
	}
}
