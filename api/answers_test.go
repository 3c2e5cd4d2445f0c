package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/captcha"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/proof"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/ratelimit"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/errors.golden from the answers given now")

// stubListings serves the rendered slotRows, or fails as told.
type stubListings struct {
	docs      listing.Documents
	err       error // every read fails with it
	heartbeat time.Time
}

func newStubListings(t *testing.T) *stubListings {
	t.Helper()
	docs, err := listing.RenderAll(slotRows(), time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC), listing.Documents{})
	if err != nil {
		t.Fatal(err)
	}
	return &stubListings{docs: docs, heartbeat: time.Now()}
}

func (s *stubListings) State(_ context.Context, code string) (listing.Rendered, error) {
	if s.err != nil {
		return listing.Rendered{}, s.err
	}
	r, ok := s.docs.ByState[code]
	if !ok {
		return listing.Rendered{}, listing.ErrNotFilled
	}
	return r, nil
}

func (s *stubListings) States(context.Context) (listing.Rendered, error) {
	if s.err != nil {
		return listing.Rendered{}, s.err
	}
	if s.docs.States.Body == nil {
		return listing.Rendered{}, listing.ErrNotFilled
	}
	return s.docs.States, nil
}

func (s *stubListings) Heartbeat(context.Context) (time.Time, error) {
	if s.err != nil {
		return time.Time{}, s.err
	}
	if s.heartbeat.IsZero() {
		return time.Time{}, listing.ErrNotFilled
	}
	return s.heartbeat, nil
}

type stubPublisher struct{ err error }

func (p stubPublisher) Publish(context.Context, booking.Request) error { return p.err }

// stubStatuses answers every status read with raw, or else err.
type stubStatuses struct {
	err error
	raw []byte
}

func (s stubStatuses) SetPending(context.Context, string) error { return nil }
func (s stubStatuses) GetRaw(context.Context, string) ([]byte, error) {
	if s.raw != nil {
		return s.raw, nil
	}
	return nil, s.err
}

type stubManagePublisher struct{ err error }

func (p stubManagePublisher) Publish(context.Context, booking.ManageRequest) error { return p.err }

// stubRecords answers every registration with rec.
type stubRecords struct{ rec queue.Record }

func (s stubRecords) Get(context.Context, string) (queue.Record, error) { return s.rec, nil }

// stubQueue is the registration queue's publisher and records: it publishes
// with pubErr and reads with getErr (default: unknown reference).
type stubQueue struct{ pubErr, getErr error }

func (q stubQueue) Publish(context.Context, queue.Registration) error { return q.pubErr }
func (q stubQueue) Set(context.Context, queue.Record) error           { return nil }
func (q stubQueue) Mark(context.Context, string) (int64, error)       { return 0, nil }
func (q stubQueue) Get(context.Context, string) (queue.Record, error) {
	if q.getErr == nil {
		return queue.Record{}, booking.ErrUnknownReference
	}
	return queue.Record{}, q.getErr
}

func withQueue(q stubQueue) api.Options {
	return api.Options{Queue: api.Queue{Publisher: q, Records: q}}
}

// perlisQueues puts perlis in queue mode in the stub's listings.
func perlisQueues(s *stubListings) {
	rows := slotRows()
	rows[0].StateMode = "queue"
	docs, err := listing.RenderAll(rows, time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC), listing.Documents{})
	if err != nil {
		panic(err)
	}
	s.docs = docs
}

// closeStates throws the maintenance switch of selangor and perlis, perlis
// in queue mode, in the stub's listings.
func closeStates(s *stubListings) {
	rows := slotRows()
	rows[0].StateMode = "queue"
	for i := range rows {
		rows[i].StateClosed = true
	}
	docs, err := listing.RenderAll(rows, time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC), listing.Documents{})
	if err != nil {
		panic(err)
	}
	s.docs = docs
}

type stubVerifier struct{ err error }

func (v stubVerifier) Verify(context.Context, string, string) error { return v.err }

var errDown = errors.New("connection refused")

// TestAnswers_EveryErrorAnswerIsAsRecorded pins every error answer the API
// gives, byte for byte with its status and Retry-After, to
// testdata/errors.golden: clients switch on these, so a change to one must be
// a deliberate edit of the golden file.
func TestAnswers_EveryErrorAnswerIsAsRecorded(t *testing.T) {
	t.Parallel()
	type setup struct {
		listings func(*stubListings)
		pub      error
		statuses error
		record   *booking.StatusRecord // every status read answers it
		opts     api.Options
		abuse    bool   // a shared limit of one submission a minute per address
		caps     string // "email" or "phone": one accepted booking per that contact
		proofCap bool   // one contact-proof code per address an hour
		held     int    // the in-flight cap, and as many slow submissions holding it
	}
	body := submission(nil)
	ref := booking.DevReferences().For("key", "900101145678")
	set := func(k string, v any) string { return submission(func(m map[string]any) { m[k] = v }) }
	// Kedah books by invitation (queueRows).
	kedahQueues := func(s *stubListings) {
		docs, err := listing.RenderAll(append(slotRows(), queueRows()...), time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC), listing.Documents{})
		if err != nil {
			t.Fatal(err)
		}
		s.docs = docs
	}
	signer := mustSigner(t, invitationSecret)
	invitations := func(rec queue.Record) api.Options {
		return api.Options{Invitations: api.Invitations{Signer: signer, IDs: pii.Dev(), Records: stubRecords{rec}}}
	}
	invited, booked := invitations(queue.Record{Status: queue.StatusInvited}), invitations(queue.Record{Status: queue.StatusBooked})
	token := func(state string, expiresAt time.Time) string {
		return signer.Sign("ABCDEFGHJKMNPQRS", state, inviteeHash, expiresAt)
	}
	later := time.Now().Add(time.Hour)
	proofSigner := mustProofSigner(t)
	proofOn := func(tries api.ProofTries, mail api.ProofMail) api.Options {
		return api.Options{Proof: api.Proof{Signer: proofSigner, Tries: tries, Mail: mail}}
	}
	proofed := func(exp time.Time) string {
		c := proofSigner.Sign(proof.Challenge{Channel: notify.ChannelEmail, ExpiresAt: exp}, "siti@example.com", "123456")
		return submission(withProofField(c, "123456"))
	}
	manageSigner := testenv.ManageSigner()
	manageOn := func(pubErr error) api.Options {
		return api.Options{Manage: api.Manage{Signer: manageSigner, Publisher: stubManagePublisher{pubErr}}}
	}
	manageToken := manageSigner.Sign(ref, "selangor")
	bearer := map[string]string{"Authorization": "Bearer " + manageToken}
	slot := booking.SlotInfo{ID: open, CenterID: "sel-001", Date: testenv.Day(7), Time: "08:00-13:00"}
	pastSlot := slot
	pastSlot.Date = testenv.Day(-2)
	held := &booking.StatusRecord{Reference: ref, Status: booking.StatusConfirmed, Slot: &slot}
	cancelled := &booking.StatusRecord{Reference: ref, Status: booking.StatusCancelled, Slot: &slot, Sequence: 1}
	past := &booking.StatusRecord{Reference: ref, Status: booking.StatusConfirmed, Slot: &pastSlot}
	tokenBody := `{"token":"` + manageToken + `"}`

	cases := []struct {
		name, method, target, body, contentType string
		header                                  map[string]string
		setup                                   setup
		times                                   int  // send it this many times and record the last answer
		failRead                                bool // the connection breaks while the body is read
	}{
		{name: "no route", method: "GET", target: "/nowhere"},
		{name: "overloaded", method: "GET", target: "/listppv?state=selangor", setup: setup{held: 1}},
		{name: "wrong method", method: "DELETE", target: "/states"},
		{name: "wrong method on listppv", method: "POST", target: "/listppv?state=selangor"},

		{name: "listppv without state", method: "GET", target: "/listppv"},
		{name: "listppv with bad escape", method: "GET", target: "/listppv?state=%zz"},
		{name: "listppv unknown state", method: "GET", target: "/listppv?state=atlantis"},
		{name: "listppv not filled", method: "GET", target: "/listppv?state=selangor", setup: setup{listings: func(s *stubListings) { s.docs.States = listing.Rendered{} }}},
		{name: "listppv state not filled", method: "GET", target: "/listppv?state=selangor", setup: setup{listings: func(s *stubListings) { delete(s.docs.ByState, "selangor") }}},
		{name: "listppv redis down", method: "GET", target: "/listppv?state=selangor", setup: setup{listings: func(s *stubListings) { s.err = errDown }}},
		{name: "states not filled", method: "GET", target: "/states", setup: setup{listings: func(s *stubListings) { s.docs.States = listing.Rendered{} }}},
		{name: "states redis down", method: "GET", target: "/states", setup: setup{listings: func(s *stubListings) { s.err = errDown }}},

		{name: "readyz not filled", method: "GET", target: "/readyz", setup: setup{listings: func(s *stubListings) { s.heartbeat = time.Time{} }}},
		{name: "readyz redis down", method: "GET", target: "/readyz", setup: setup{listings: func(s *stubListings) { s.err = errDown }}},
		{name: "readyz stale", method: "GET", target: "/readyz", setup: setup{listings: func(s *stubListings) { s.heartbeat = time.Now().Add(-time.Hour) }}},

		{name: "status malformed", method: "GET", target: "/status/nope"},
		{name: "status unknown", method: "GET", target: "/status/" + ref, setup: setup{statuses: booking.ErrUnknownReference}},
		{name: "status redis down", method: "GET", target: "/status/" + ref, setup: setup{statuses: errDown}},
		{name: "status while the records are restored", method: "GET", target: "/status/" + ref, setup: setup{statuses: booking.ErrStatusesRestoring}},

		{name: "submit rate limited", method: "POST", target: "/submit", body: body, times: 2, setup: setup{abuse: true}},
		{name: "submit contact limit", method: "POST", target: "/submit", body: body, times: 2, setup: setup{abuse: true, caps: "email"}},
		{name: "submit contact limit on phone", method: "POST", target: "/submit", body: body, times: 2, setup: setup{abuse: true, caps: "phone"}},
		{name: "submit not json", method: "POST", target: "/submit", body: body, contentType: "text/plain"},
		{name: "submit no content type", method: "POST", target: "/submit", body: body, contentType: "-"},
		{name: "submit bad idempotency key", method: "POST", target: "/submit", body: body, header: map[string]string{"Idempotency-Key": strings.Repeat("k", 300)}},
		{name: "submit too large", method: "POST", target: "/submit", body: `{"name":"` + strings.Repeat("a", 20<<10) + `"}`},
		{name: "submit empty", method: "POST", target: "/submit"},
		{name: "submit read failure", method: "POST", target: "/submit", body: body, failRead: true},
		{name: "submit malformed", method: "POST", target: "/submit", body: `{"state":`},
		{name: "submit unknown field", method: "POST", target: "/submit", body: set("nickname", "x")},
		{name: "submit wrong type", method: "POST", target: "/submit", body: set("preferences", "sel-001")},
		{name: "submit several bad fields", method: "POST", target: "/submit", body: `{"state":"","name":" ","id_number":"x","phone":"1","email":"a","preferences":[],"lang":"fr"}`},
		{name: "submit unknown state", method: "POST", target: "/submit", body: set("state", "atlantis")},
		{name: "submit unknown slot", method: "POST", target: "/submit", body: set("preferences", []string{open, "sel-999"})},
		{name: "submit every choice full", method: "POST", target: "/submit", body: set("preferences", []string{full})},
		{name: "submit cache not filled", method: "POST", target: "/submit", body: body, setup: setup{listings: func(s *stubListings) { s.docs.States = listing.Rendered{} }}},
		{name: "submit redis down", method: "POST", target: "/submit", body: body, setup: setup{listings: func(s *stubListings) { s.err = errDown }}},
		{name: "submit queue down", method: "POST", target: "/submit", body: body, setup: setup{pub: errDown}},
		{name: "submit no captcha token", method: "POST", target: "/submit", body: body, setup: setup{opts: api.Options{Captcha: api.Captcha{Provider: captcha.Turnstile, Verifier: stubVerifier{}}}}},
		{name: "submit captcha token too long", method: "POST", target: "/submit", body: set("captcha_token", strings.Repeat("t", 5000)), setup: setup{opts: api.Options{Captcha: api.Captcha{Provider: captcha.Turnstile, Verifier: stubVerifier{}}}}},
		{name: "submit captcha rejected", method: "POST", target: "/submit", body: set("captcha_token", "robot"), setup: setup{opts: api.Options{Captcha: api.Captcha{Provider: captcha.Turnstile, Verifier: stubVerifier{captcha.ErrRejected}}}}},
		{name: "submit captcha provider down", method: "POST", target: "/submit", body: set("captcha_token", "human"), setup: setup{opts: api.Options{Captcha: api.Captcha{Provider: captcha.Turnstile, Verifier: stubVerifier{fmt.Errorf("siteverify: %w", captcha.ErrUnavailable)}}}}},

		{name: "register open state", method: "POST", target: "/register", body: registration(nil), setup: setup{opts: withQueue(stubQueue{})}},
		{name: "register queue down", method: "POST", target: "/register", body: registration(func(m map[string]any) { m["state"] = "perlis" }), setup: setup{listings: perlisQueues, opts: withQueue(stubQueue{pubErr: errDown})}},
		{name: "submit state closed", method: "POST", target: "/submit", body: submission(nil), setup: setup{listings: closeStates}},
		{name: "register state closed", method: "POST", target: "/register", body: registration(nil), setup: setup{listings: closeStates, opts: withQueue(stubQueue{})}},
		{name: "registration malformed", method: "GET", target: "/registration/nope", setup: setup{opts: withQueue(stubQueue{})}},
		{name: "registration unknown", method: "GET", target: "/registration/" + ref, setup: setup{opts: withQueue(stubQueue{})}},
		{name: "registration redis down", method: "GET", target: "/registration/" + ref, setup: setup{opts: withQueue(stubQueue{getErr: errDown})}},

		{name: "submit queue state without invitation", method: "POST", target: "/submit", body: kedahSubmission(nil, kedahRoom), setup: setup{listings: kedahQueues, opts: invited}},
		{name: "submit forged invitation", method: "POST", target: "/submit", body: invitationBody("forged"), setup: setup{listings: kedahQueues, opts: invited}},
		{name: "submit invitation of another state", method: "POST", target: "/submit", body: invitationBody(token("johor", later)), setup: setup{listings: kedahQueues, opts: invited}},
		{name: "submit invitation not yours", method: "POST", target: "/submit", body: strings.Replace(invitationBody(token("kedah", later)), "900101-14-5678", "A1234567", 1), setup: setup{listings: kedahQueues, opts: invited}},
		{name: "submit invitation expired", method: "POST", target: "/submit", body: invitationBody(token("kedah", time.Now().Add(-time.Minute))), setup: setup{listings: kedahQueues, opts: invited}},
		{name: "submit invitation used", method: "POST", target: "/submit", body: invitationBody(token("kedah", later)), setup: setup{listings: kedahQueues, opts: booked}},
		{name: "submit invitation without a secret", method: "POST", target: "/submit", body: invitationBody(token("kedah", later)), setup: setup{listings: kedahQueues}},

		{name: "submit without proof", method: "POST", target: "/submit", body: body, setup: setup{opts: proofOn(stubTries{ok: true}, &proofMail{})}},
		{name: "submit forged proof", method: "POST", target: "/submit", body: submission(withProofField("forged", "123456")), setup: setup{opts: proofOn(stubTries{ok: true}, &proofMail{})}},
		{name: "submit expired proof", method: "POST", target: "/submit", body: proofed(time.Now().Add(-time.Minute)), setup: setup{opts: proofOn(stubTries{ok: true}, &proofMail{})}},
		{name: "submit proof tries spent", method: "POST", target: "/submit", body: proofed(later), setup: setup{opts: proofOn(stubTries{ok: false}, &proofMail{})}},
		{name: "submit proof uncountable", method: "POST", target: "/submit", body: proofed(later), setup: setup{opts: proofOn(failingTries{}, &proofMail{})}},
		{name: "proof unsent", method: "POST", target: "/proof", body: `{"email":"siti@example.com"}`, setup: setup{opts: proofOn(stubTries{ok: true}, &proofMail{err: errDown})}},
		{name: "manage without token", method: "GET", target: "/manage", setup: setup{opts: manageOn(nil)}},
		{name: "manage forged token", method: "GET", target: "/manage", header: map[string]string{"Authorization": "Bearer forged"}, setup: setup{opts: manageOn(nil)}},
		{name: "manage appointment passed", method: "GET", target: "/manage", header: bearer, setup: setup{opts: manageOn(nil), record: past}},
		{name: "manage cancel twice", method: "POST", target: "/manage/cancel", body: tokenBody, setup: setup{opts: manageOn(nil), record: cancelled}},
		{name: "manage change to the same slot", method: "POST", target: "/manage/change", body: `{"token":"` + manageToken + `","preferences":["` + open + `"]}`, setup: setup{opts: manageOn(nil), record: held}},
		{name: "manage queue down", method: "POST", target: "/manage/cancel", body: tokenBody, setup: setup{opts: manageOn(errDown), record: held}},
		{name: "proof contact limit", method: "POST", target: "/proof", body: `{"email":"siti@example.com"}`, times: 2, setup: setup{opts: proofOn(stubTries{ok: true}, &proofMail{}), abuse: true, proofCap: true}},
	}

	var got strings.Builder
	for _, tc := range cases {
		listings := newStubListings(t)
		if tc.setup.listings != nil {
			tc.setup.listings(listings)
		}
		statuses := stubStatuses{err: tc.setup.statuses}
		if tc.setup.record != nil {
			statuses.raw, _ = json.Marshal(tc.setup.record)
		}
		if statuses.err == nil {
			statuses.err = booking.ErrUnknownReference
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		if tc.setup.abuse {
			limit := "1/m"
			if tc.setup.caps != "" {
				limit = "off"
			}
			tc.setup.opts.Abuse = testAbuse(t, limit, tc.setup.caps != "")
			if tc.setup.caps == "phone" {
				tc.setup.opts.Abuse.EmailCap = ratelimit.Cap{}
			}
			if tc.setup.proofCap {
				tc.setup.opts.Abuse.ProofCap = ratelimit.Cap{Max: 1, Window: time.Hour}
			}
		}
		tc.setup.opts.MaxInFlight = tc.setup.held
		h := api.NewServer(log, listings, stubPublisher{tc.setup.pub}, statuses, tc.setup.opts)
		if tc.setup.held > 0 {
			holdInFlight(t, h, tc.setup.held)
		}

		var w *httptest.ResponseRecorder
		for range max(1, tc.times) {
			r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			if tc.failRead {
				r.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"state":`), iotest.ErrReader(errDown)))
			}
			r.Header.Set("X-Request-Id", "req-1")
			switch tc.contentType {
			case "":
				r.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				r.Header.Set("Content-Type", tc.contentType)
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w = httptest.NewRecorder()
			h.ServeHTTP(w, r)
		}
		fmt.Fprintf(&got, "## %s: %s %s\n%d Retry-After=%q Content-Type=%q\n%s\n\n",
			tc.name, tc.method, tc.target[:min(len(tc.target), 40)], w.Code, w.Header().Get("Retry-After"), w.Header().Get("Content-Type"), w.Body)
		for k, v := range securityHeaders {
			if w.Header().Get(k) != v {
				t.Errorf("%s: %s: got %q, want %q", tc.name, k, w.Header().Get(k), v)
			}
		}
	}

	const golden = "testdata/errors.golden"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to record)", err)
	}
	if got.String() != string(want) {
		t.Errorf("error answers differ from %s:\n%s", golden, lineDiff(string(want), got.String()))
	}
}

// lineDiff lists the lines that differ, enough to see which answer changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n   got %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
