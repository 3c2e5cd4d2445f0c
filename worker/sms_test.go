package worker_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/sendgrid"
	"github.com/vaxbook/vaxbook/internal/sms"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/internal/twilio"
	"github.com/vaxbook/vaxbook/internal/twilio/twiliotest"
	"github.com/vaxbook/vaxbook/worker"
)

const twilioCallback = "https://hooks.example.my/hooks/twilio"

// smsHandler is /push/sms over sent, sending through a Twilio stand-in
// that answers statuses in order (then 201); mail, when given, takes the
// fallback e-mails.
func smsHandler(t testing.TB, sent worker.SentLog, mail email.Publisher, statuses ...int) (http.Handler, *twiliotest.Server) {
	t.Helper()
	srv := twiliotest.New(t, statuses...)
	tw, err := twilio.New(twilio.Config{AccountSID: twiliotest.AccountSID, AuthToken: twiliotest.AuthToken,
		From: "+60312345678", BaseURL: srv.URL, StatusCallback: twilioCallback})
	if err != nil {
		t.Fatal(err)
	}
	comp, err := sms.NewComposer("https://vaxbook.example.my")
	if err != nil {
		t.Fatal(err)
	}
	if mail == nil {
		return worker.HandleSMS(quiet, sent, comp, tw), srv
	}
	return worker.HandleSMS(quiet, sent, comp, tw, mail), srv
}

func smsRequest(kind notify.Kind) email.Request {
	r := emailRequest(kind)
	r.Phone, r.Contact = "+60123456789", booking.ContactSMS
	return r.On(notify.ChannelSMS)
}

// pushUntilAcked delivers body until it is acknowledged, as Pub/Sub would
// after each 503.
func pushUntilAcked(t testing.TB, h http.Handler, path string, body []byte) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		code := push(t, h, path, body)
		if code == http.StatusNoContent {
			return
		}
		if code != http.StatusServiceUnavailable || attempt > 400 {
			t.Errorf("push %s: got %d after %d attempts", path, code, attempt)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSMSPush_RedeliveredAndConcurrentTwinsSendOnce(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	h, srv := smsHandler(t, postgres.NewEmails(pool), nil)
	reqs := []email.Request{smsRequest(notify.KindConfirmed), smsRequest(notify.KindFull), smsRequest(notify.KindDuplicate), smsRequest(notify.KindAttempt)}
	// The same reference and kind by e-mail is a different message.
	mail := reqs[0].On(notify.ChannelEmail)
	eh, sg := emailHandler(t, pool)

	var wg sync.WaitGroup
	for i, r := range reqs {
		for twin := range 8 {
			wg.Go(func() { pushUntilAcked(t, h, worker.SMSPushPath, envelope(t, fmt.Sprintf("s%d-%d", i, twin%2), r)) })
		}
	}
	wg.Go(func() { pushUntilAcked(t, eh, worker.EmailPushPath, envelope(t, "e0", mail)) })
	wg.Wait()

	if got := srv.Calls(); got != len(reqs) {
		t.Errorf("Twilio calls: got %d, want one per (reference, kind): %d", got, len(reqs))
	}
	if sg.Calls() != 1 {
		t.Errorf("SendGrid calls: got %d, want 1", sg.Calls())
	}
	for _, m := range srv.Accepted() {
		if m.To != "+60123456789" || m.StatusCallback != twilioCallback || !strings.HasPrefix(m.Body, "vaxbook: ") {
			t.Errorf("sent %+v", m)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM sent_emails WHERE channel = 'sms' AND outcome = 'sent' AND provider_status = 201 AND provider_id LIKE 'SM%' AND recipient <> ''`); n != len(reqs) {
		t.Errorf("sms rows: got %d, want %d", n, len(reqs))
	}
	if n := count(t, pool, `SELECT count(*) FROM sent_emails WHERE reference = $1 AND kind = 'confirmed'`, mail.Reference); n != 2 {
		t.Errorf("rows of the confirmation: got %d, want one per channel", n)
	}
}

func TestSMSPush_RateLimitedThenSentOnce(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	h, srv := smsHandler(t, postgres.NewEmails(pool), nil, http.StatusTooManyRequests, http.StatusServiceUnavailable)
	body := envelope(t, "m1", smsRequest(notify.KindConfirmed))
	for i, want := range []int{503, 503, 204, 204} {
		if got := push(t, h, worker.SMSPushPath, body); got != want {
			t.Errorf("delivery %d: got %d, want %d", i+1, got, want)
		}
	}
	if calls, accepted := srv.Calls(), len(srv.Accepted()); calls != 3 || accepted != 1 {
		t.Errorf("Twilio: %d calls, %d accepted; want 3 (429, 503, 201) and 1", calls, accepted)
	}
}

func TestSMSPush_PermanentRefusalIsRecordedAndNotRetried(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	h, srv := smsHandler(t, postgres.NewEmails(pool), nil, http.StatusBadRequest)
	r := smsRequest(notify.KindFull)
	for i := range 3 {
		if got := push(t, h, worker.SMSPushPath, envelope(t, "m1", r)); got != http.StatusNoContent {
			t.Errorf("delivery %d: got %d, want 204", i+1, got)
		}
	}
	if srv.Calls() != 1 {
		t.Errorf("Twilio calls: got %d, want 1", srv.Calls())
	}
	if n := count(t, pool, `SELECT count(*) FROM sent_emails WHERE reference = $1 AND channel = 'sms' AND outcome = 'rejected' AND provider_status = 400 AND detail LIKE '%21211%'`, r.Reference); n != 1 {
		t.Errorf("rejected rows: got %d, want 1", n)
	}
}

func TestSMSPush_ARequestOnTheWrongChannelIsRecordedNotSent(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	h, srv := smsHandler(t, postgres.NewEmails(pool), nil)
	if got := push(t, h, worker.SMSPushPath, envelope(t, "wrong", emailRequest(notify.KindConfirmed))); got != http.StatusNoContent {
		t.Errorf("got %d, want 204", got)
	}
	if srv.Calls() != 0 || count(t, pool, `SELECT count(*) FROM rejected_messages WHERE message_id = 'wrong'`) != 1 {
		t.Errorf("Twilio calls %d; want none and the request recorded", srv.Calls())
	}
}

func TestMessages_DailyCapPerRecipientHoldsUnderConcurrentSends(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	const dailyCap = 3
	h, srv := smsHandler(t, postgres.NewEmails(pool).Guarded(pii.Dev(), dailyCap), nil)
	var wg sync.WaitGroup
	for i := range 8 {
		r := smsRequest(notify.KindConfirmed) // eight bookings, one phone
		wg.Go(func() { pushUntilAcked(t, h, worker.SMSPushPath, envelope(t, fmt.Sprintf("c%d", i), r)) })
	}
	other := smsRequest(notify.KindConfirmed)
	other.Phone = "+60129876543"
	wg.Go(func() { pushUntilAcked(t, h, worker.SMSPushPath, envelope(t, "other", other)) })
	wg.Wait()
	if got := srv.Calls(); got != dailyCap+1 {
		t.Errorf("Twilio calls: got %d, want the cap (%d) to one number and 1 to the other", got, dailyCap)
	}
	if n := count(t, pool, `SELECT count(*) FROM sent_emails WHERE outcome = 'capped'`); n != 8-dailyCap {
		t.Errorf("capped rows: got %d, want %d", n, 8-dailyCap)
	}
}

// signedTwilio posts a status callback to the hooks, signed with token.
func signedTwilio(t *testing.T, h http.Handler, form url.Values, token string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, worker.TwilioHookPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("X-Twilio-Signature", twiliotest.Sign(token, twilioCallback, form))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// sendgridKey is an Event Webhook key pair; sign signs as SendGrid does:
// ECDSA P-256 over SHA-256 of the timestamp and the body, ASN.1, base64.
type sendgridSigner struct{ key *ecdsa.PrivateKey }

func newSendGridSigner(t *testing.T) (sendgridSigner, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return sendgridSigner{k}, base64.StdEncoding.EncodeToString(der)
}

func (s sendgridSigner) post(t *testing.T, h http.Handler, body []byte, sign bool) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, worker.SendGridHookPath, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if sign {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		sum := sha256.Sum256(append([]byte(ts), body...))
		sig, err := ecdsa.SignASN1(rand.Reader, s.key, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(sendgrid.SignatureHeader, base64.StdEncoding.EncodeToString(sig))
		req.Header.Set(sendgrid.TimestampHeader, ts)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func hooks(t *testing.T, pool *pgxpool.Pool, sgKey string) http.Handler {
	t.Helper()
	v, err := twilio.NewValidator(twilio.Config{AuthToken: twiliotest.AuthToken, StatusCallback: twilioCallback})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := sendgrid.NewEventVerifier(sgKey)
	if err != nil {
		t.Fatal(err)
	}
	return worker.NewHooksHandler(quiet, "test", postgres.NewDeliveries(pool), v, ev)
}

func TestTwilioHook_SignedCallbackIsRecordedOnceAndForgeriesRefused(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	h, srv := smsHandler(t, postgres.NewEmails(pool), nil)
	r := smsRequest(notify.KindConfirmed)
	pushUntilAcked(t, h, worker.SMSPushPath, envelope(t, "m1", r))
	sid := srv.Accepted()[0].SID
	_, sgKey := newSendGridSigner(t)
	hk := hooks(t, pool, sgKey)

	delivered := url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}, "AccountSid": {twiliotest.AccountSID}, "To": {r.Phone}}
	for i := range 3 { // the first, then replays
		if got := signedTwilio(t, hk, delivered, twiliotest.AuthToken); got != http.StatusOK {
			t.Errorf("signed callback %d: got %d, want 200", i+1, got)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM delivery_events WHERE channel = 'sms' AND provider_id = $1 AND event = 'delivered'`, sid); n != 1 {
		t.Errorf("delivered rows: got %d, want 1", n)
	}
	failed := url.Values{"MessageSid": {sid}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30005"}, "AccountSid": {twiliotest.AccountSID}}
	for name, token := range map[string]string{"unsigned": "", "re-signed with another key": "ffffffffffffffffffffffffffffffff"} {
		if got := signedTwilio(t, hk, failed, token); got != http.StatusForbidden {
			t.Errorf("%s: got %d, want 403", name, got)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM delivery_events`); n != 1 {
		t.Errorf("event rows after forgeries: got %d, want 1", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM undeliverable_contacts`); n != 0 {
		t.Errorf("forgeries marked %d numbers undeliverable", n)
	}
	big := url.Values{"MessageSid": {sid}, "Pad": {strings.Repeat("x", 20<<10)}}
	if got := signedTwilio(t, hk, big, twiliotest.AuthToken); got != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized callback: got %d, want 413", got)
	}
}

// A bounce reported by SendGrid's signed webhook makes the next message to
// that address go by SMS, for a person who chose e-mail and gave a number.
func TestSendGridHook_BounceTurnsTheNextMessageToSMS(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	_, psc := testenv.NewPubSub(t, "test")
	smsSub := pullTopic(t, psc, "sms-topic", "sms-push")
	smsPub := pubsub.NewRequestPublisher[email.Request](psc, "sms-topic")
	t.Cleanup(smsPub.Stop)

	sent := postgres.NewEmails(pool)
	sg, sgKey := newSendGridSigner(t)
	hk := hooks(t, pool, sgKey)
	_, sgSrv := emailHandler(t, pool)
	eh := worker.HandleEmail(quiet, sent, mustComposer(t), mustSendGrid(t, sgSrv.URL), smsPub)
	sh, twSrv := smsHandler(t, sent, nil)

	first := emailRequest(notify.KindConfirmed)
	first.Phone = "+60123456789"
	pushUntilAcked(t, eh, worker.EmailPushPath, envelope(t, "e1", first))
	if sgSrv.Calls() != 1 {
		t.Fatalf("first e-mail: %d SendGrid calls", sgSrv.Calls())
	}
	id := "sg-1" // the stand-in's X-Message-Id of its first mail
	events, _ := json.Marshal([]map[string]any{
		{"email": first.Email, "event": "processed", "sg_message_id": id + ".filter0001.1.0", "sg_event_id": "a"},
		{"email": first.Email, "event": "bounce", "type": "bounce", "reason": "550 5.1.1 no such user", "sg_message_id": id + ".filter0001.1.0", "sg_event_id": "b"},
	})
	if got := sg.post(t, hk, events, false); got != http.StatusForbidden {
		t.Errorf("unsigned webhook: got %d, want 403", got)
	}
	if other, _ := newSendGridSigner(t); other.post(t, hk, events, true) != http.StatusForbidden {
		t.Error("webhook signed with another key: accepted")
	}
	if n := count(t, pool, `SELECT count(*) FROM undeliverable_contacts`); n != 0 {
		t.Fatalf("an unsigned bounce marked %d addresses", n)
	}
	for range 2 { // and a replay
		if got := sg.post(t, hk, events, true); got != http.StatusOK {
			t.Fatalf("signed webhook: got %d, want 200", got)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM delivery_events WHERE channel = 'email' AND provider_id = $1 AND event = 'bounced'`, id); n != 1 {
		t.Errorf("bounce rows: got %d, want 1", n)
	}

	// The next message to the same address, about a later booking.
	next := emailRequest(notify.KindConfirmed)
	next.Phone = "+60123456789"
	pushUntilAcked(t, eh, worker.EmailPushPath, envelope(t, "e2", next))
	if sgSrv.Calls() != 1 {
		t.Errorf("SendGrid calls after the bounce: got %d, want still 1", sgSrv.Calls())
	}
	msgs := drain(t, psc, smsSub)
	if len(msgs) != 1 {
		t.Fatalf("sms-topic: got %d requests, want the diverted one", len(msgs))
	}
	var diverted email.Request
	if err := json.Unmarshal(msgs[0].GetMessage().GetData(), &diverted); err != nil {
		t.Fatal(err)
	}
	if diverted.Reference != next.Reference || diverted.OnChannel() != notify.ChannelSMS || !diverted.Diverted {
		t.Errorf("diverted request %+v", diverted)
	}
	body, _ := json.Marshal(pubsub.Envelope(msgs[0], smsSub))
	pushUntilAcked(t, sh, worker.SMSPushPath, body)
	if got := twSrv.Accepted(); len(got) != 1 || got[0].To != next.Phone {
		t.Errorf("Twilio got %+v, want the confirmation by SMS", got)
	}
	if n := count(t, pool, `SELECT count(*) FROM sent_emails WHERE reference = $1 AND channel = 'email' AND outcome = 'undeliverable'`, next.Reference); n != 1 {
		t.Errorf("undeliverable rows: got %d, want 1", n)
	}
}

func mustComposer(t testing.TB) *email.Composer {
	t.Helper()
	comp, err := email.NewComposer(email.Address{Name: "vaxbook", Email: "no-reply@vaxbook.example.my"}, "https://vaxbook.example.my")
	if err != nil {
		t.Fatal(err)
	}
	return comp
}

func mustSendGrid(t testing.TB, base string) *sendgrid.Client {
	t.Helper()
	sg, err := sendgrid.New(sendgrid.Config{APIKey: sendgridKey, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

// A booking with contact=both asks for one e-mail and one SMS; with the
// default, only the e-mail.
func TestPush_ContactBothRequestsOneMessagePerChannel(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, 0)
	_, psc := testenv.NewPubSub(t, "test")
	mailSub, smsSub := emailTopic(t, psc), pullTopic(t, psc, "sms-topic", "sms-push")
	mail := pubsub.NewRequestPublisher[email.Request](psc, "email-topic")
	text := pubsub.NewRequestPublisher[email.Request](psc, "sms-topic")
	t.Cleanup(mail.Stop)
	t.Cleanup(text.Stop)
	h := newWorker(f.pool, f.statuses, worker.WithEmailRequests(email.Channels{Email: mail, SMS: text}), worker.WithoutPushAuth())

	both := testenv.NewRequest(1, "sel-001-am")
	both.Contact = booking.ContactBoth
	plain := testenv.NewRequest(2, "sel-001-am")
	for i, req := range []booking.Request{both, plain} {
		for d := range 2 { // redelivered: asked again, sent once downstream
			if got := push(t, h, worker.PushPath, envelope(t, fmt.Sprintf("b%d", i), req)); got != http.StatusNoContent {
				t.Fatalf("booking %d delivery %d: got %d", i, d, got)
			}
		}
	}
	refs := func(sub string) map[string]string {
		out := map[string]string{}
		for _, rm := range drain(t, psc, sub) {
			var r email.Request
			if err := json.Unmarshal(rm.GetMessage().GetData(), &r); err != nil {
				t.Fatal(err)
			}
			out[r.Reference] = string(r.OnChannel()) + ":" + r.Address()
		}
		return out
	}
	gotMail, gotSMS := refs(mailSub), refs(smsSub)
	if gotMail[both.Reference] != "email:"+both.Email || gotMail[plain.Reference] != "email:"+plain.Email {
		t.Errorf("email-topic: %v", gotMail)
	}
	if len(gotSMS) != 1 || gotSMS[both.Reference] != "sms:"+both.Phone {
		t.Errorf("sms-topic: %v, want only the contact=both booking", gotSMS)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM bookings WHERE reference = $1 AND contact = 'both'`, both.Reference); n != 1 {
		t.Errorf("the booking's contact was not stored")
	}
}
