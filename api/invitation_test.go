package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

const (
	invitationSecret = "api-tests-invitation-secret-32byte"
	// kedah and johor book by invitation; kedah's am slot has room, its pm
	// slot none.
	kedahRoom, kedahFull = "ked-001-2026-12-01-am", "ked-001-2026-12-01-pm"
	inviteeIC            = "900101145678" // submission()'s id_number, normalised
)

func queueRows() []listing.SlotRow {
	return []listing.SlotRow{
		{StateCode: "kedah", StateName: "Kedah", StateMode: "queue", CenterID: "ked-001", CenterName: "Dewan K", CenterAddress: "Jalan K", SlotID: kedahRoom, Date: "2026-12-01", Time: "08:00-13:00", Capacity: 10, Booked: 0},
		{StateCode: "kedah", StateName: "Kedah", StateMode: "queue", CenterID: "ked-001", CenterName: "Dewan K", CenterAddress: "Jalan K", SlotID: kedahFull, Date: "2026-12-01", Time: "14:00-18:00", Capacity: 5, Booked: 5},
		{StateCode: "johor", StateName: "Johor", StateMode: "queue"},
	}
}

// inviteeHash is inviteeIC as the worker stores it, the form tokens bind.
var inviteeHash = pii.Dev().Hash(inviteeIC)

func mustSigner(t testing.TB, secret string) *queue.Signer {
	t.Helper()
	s, err := queue.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// invitationBody is the invitation page's submission: the ID number, the
// choices and the token, nothing the registration already holds.
func invitationBody(token string, prefs ...string) string {
	if len(prefs) == 0 {
		prefs = []string{kedahRoom}
	}
	b, _ := json.Marshal(map[string]any{"state": "kedah", "id_number": "900101-14-5678", "preferences": prefs, "invitation": token})
	return string(b)
}

// kedahSubmission is a whole submission (name and contact included) in
// kedah for prefs.
func kedahSubmission(mod func(map[string]any), prefs ...string) string {
	return submission(func(m map[string]any) {
		m["state"], m["preferences"] = "kedah", prefs
		if mod != nil {
			mod(m)
		}
	})
}

type invitationEnv struct {
	*env
	signer *queue.Signer
	regs   *redis.Registrations
}

// newInvitationEnv is newEnv with the queue states listed and invitations
// checked with invitationSecret against registration records in Redis.
func newInvitationEnv(t *testing.T) invitationEnv {
	t.Helper()
	q := invitationEnv{signer: mustSigner(t, invitationSecret), regs: redis.NewRegistrations(testenv.NewRedis(t), time.Hour)}
	q.env = newEnv(t, false, func(o *api.Options) {
		o.Invitations = api.Invitations{Signer: q.signer, IDs: pii.Dev(), Records: q.regs}
	})
	fill(t, q.rdb, append(slotRows(), queueRows()...))
	return q
}

// invite signs person inviteeIC's invitation to book in state, as the
// invitation loop does, and records the registration as invited.
func (q invitationEnv) invite(t *testing.T, state string, expiresAt time.Time) (token, registration string) {
	t.Helper()
	registration = booking.NewReference()
	if err := q.regs.Set(context.Background(), queue.Record{Reference: registration, State: state, Status: queue.StatusInvited, ExpiresAt: &expiresAt}); err != nil {
		t.Fatal(err)
	}
	return q.signer.Sign(registration, state, inviteeHash, expiresAt), registration
}

func TestSubmit_QueueStateAnswersEachInvitationByContract(t *testing.T) {
	t.Parallel()
	q := newInvitationEnv(t)
	later := time.Now().Add(time.Hour)
	good, _ := q.invite(t, "kedah", later)
	flipped := []byte(good)
	flipped[len(flipped)/2] ^= 1 // another letter, or no base64 at all
	expired, _ := q.invite(t, "kedah", time.Now().Add(-time.Minute))
	johor, _ := q.invite(t, "johor", later)
	used, usedReg := q.invite(t, "kedah", later)
	if err := q.regs.Set(context.Background(), queue.Record{Reference: usedReg, State: "kedah", Status: queue.StatusBooked, BookingReference: booking.NewReference()}); err != nil {
		t.Fatal(err)
	}
	withID := func(body, id string) string { return strings.Replace(body, "900101-14-5678", id, 1) }

	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"no invitation", kedahSubmission(nil, kedahRoom), 403, "invitation_required"},
		{"empty invitation", kedahSubmission(func(m map[string]any) { m["invitation"] = " " }, kedahRoom), 403, "invitation_required"},
		{"malformed", invitationBody("not a token!"), 403, "invitation_invalid"},
		{"truncated", invitationBody(good[:len(good)-5]), 403, "invitation_invalid"},
		{"one character changed", invitationBody(string(flipped)), 403, "invitation_invalid"},
		{"signed with another secret", invitationBody(mustSigner(t, strings.Repeat("s", 32)).Sign(booking.NewReference(), "kedah", inviteeHash, later)), 403, "invitation_invalid"},
		{"far too long", invitationBody(strings.Repeat("A", 2000)), 403, "invitation_invalid"},
		{"another id_number", withID(invitationBody(good), "A1234567"), 403, "invitation_not_yours"},
		{"expired", invitationBody(expired), 410, "invitation_expired"},
		{"another state's", invitationBody(johor), 403, "invitation_invalid"},
		{"already used", invitationBody(used), 409, "invitation_used"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := q.do(t, http.MethodPost, "/submit", tc.body, nil)
			got := decodeError(t, w)
			if w.Code != tc.status || got.Error.Code != tc.code || got.Error.Field != "invitation" {
				t.Errorf("got %d %s field %q, want %d %s field invitation: %s", w.Code, got.Error.Code, got.Error.Field, tc.status, tc.code, w.Body)
			}
		})
	}
	if n := len(q.srv.Messages()); n != 0 {
		t.Errorf("refused submissions published %d messages, want 0", n)
	}
}

func TestSubmit_QueueStateQueuesTheTokenWithoutTheContactFields(t *testing.T) {
	t.Parallel()
	q := newInvitationEnv(t)
	token, _ := q.invite(t, "kedah", time.Now().Add(time.Hour))
	w := q.do(t, http.MethodPost, "/submit", invitationBody(token), nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status: got %d, want 202: %s", w.Code, w.Body)
	}
	a := decodeAccepted(t, w.Body.Bytes())
	msgs := q.srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("published: got %d messages, want 1", len(msgs))
	}
	var req booking.Request
	if err := json.Unmarshal(msgs[0].Data, &req); err != nil {
		t.Fatal(err)
	}
	if req.Reference != a.Reference || req.Invitation != token || req.IDNumber != inviteeIC || req.State != "kedah" ||
		req.Name != "" || req.Phone != "" || req.Email != "" || req.Lang != "" || req.Contact != "" {
		t.Errorf("published request: got %+v, want the token, the normalised IC, and nothing the registration holds", req)
	}
}

// Fields first, then the state, then the invitation, then the listing.
func TestSubmit_QueueStateChecksInvitationAfterFieldsAndBeforeTheListing(t *testing.T) {
	t.Parallel()
	q := newInvitationEnv(t)
	token, _ := q.invite(t, "kedah", time.Now().Add(time.Hour))
	cases := []struct {
		name, body  string
		status      int
		code, field string
	}{
		{"bad field with a good token", withEmail(invitationBody(token), "nope"), 400, "invalid", "email"},
		{"bad field with a forged token", withEmail(invitationBody("forged"), "nope"), 400, "invalid", "email"},
		{"unknown state", strings.Replace(invitationBody("forged"), `"kedah"`, `"atlantis"`, 1), 400, "unknown_state", "state"},
		{"no invitation, every choice full", kedahSubmission(nil, kedahFull), 403, "invitation_required", "invitation"},
		{"empty invitation, no name", invitationBody(""), 400, "required", "name"},
		{"forged, unknown slot", invitationBody("forged", "ked-999"), 403, "invitation_invalid", "invitation"},
		{"good token, every choice full", invitationBody(token, kedahFull), 409, "slots_full", "preferences"},
		{"good token, unknown slot", invitationBody(token, "ked-999"), 400, "unknown_slot", "preferences"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := q.do(t, http.MethodPost, "/submit", tc.body, nil)
			got := decodeError(t, w)
			if w.Code != tc.status || got.Error.Code != tc.code || got.Error.Field != tc.field {
				t.Errorf("got %d %s field %q, want %d %s field %s: %s", w.Code, got.Error.Code, got.Error.Field, tc.status, tc.code, tc.field, w.Body)
			}
		})
	}
}

func withEmail(body, email string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	m["email"] = email
	b, _ := json.Marshal(m)
	return string(b)
}

func TestSubmit_OpenStateIgnoresAnInvitation(t *testing.T) {
	t.Parallel()
	q := newInvitationEnv(t)
	w := q.do(t, http.MethodPost, "/submit", submission(func(m map[string]any) { m["invitation"] = "anything at all" }), nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status: got %d, want 202: %s", w.Code, w.Body)
	}
	var req booking.Request
	if err := json.Unmarshal(q.srv.Messages()[0].Data, &req); err != nil {
		t.Fatal(err)
	}
	if req.Invitation != "" || req.Name != "Siti Aminah" {
		t.Errorf("published request: got %+v, want no invitation and the name given", req)
	}

	// Judged as if absent: the contact fields are required...
	w = q.do(t, http.MethodPost, "/submit", submission(func(m map[string]any) {
		m["invitation"] = "anything at all"
		delete(m, "name")
	}), nil)
	if got := decodeError(t, w); w.Code != http.StatusBadRequest || got.Error.Field != "name" || got.Error.Code != booking.CodeRequired {
		t.Errorf("open state, invitation, no name: got %d %+v, want 400 name required", w.Code, got.Error)
	}

	// ...unless the person's own invitation for the state (one issued
	// before it switched to open) stands in for them, as on the
	// invitation page.
	token, _ := q.invite(t, "selangor", time.Now().Add(time.Hour))
	page := strings.Replace(strings.Replace(invitationBody(token), `"kedah"`, `"selangor"`, 1), kedahRoom, open, 1)
	w = q.do(t, http.MethodPost, "/submit", page, nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("open state, own invitation, ID number only: got %d, want 202: %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(q.srv.Messages()[1].Data, &req); err != nil {
		t.Fatal(err)
	}
	if req.Invitation != token || req.Name != "" {
		t.Errorf("published request: got %+v, want the invitation kept for the worker to fill the rest", req)
	}
	kedahToken, _ := q.invite(t, "kedah", time.Now().Add(time.Hour))
	page = strings.Replace(strings.Replace(invitationBody(kedahToken), `"kedah"`, `"selangor"`, 1), kedahRoom, open, 1)
	if w := q.do(t, http.MethodPost, "/submit", page, nil); w.Code != http.StatusBadRequest {
		t.Errorf("open state, another state's invitation, ID number only: got %d, want 400: %s", w.Code, w.Body)
	}
}

func TestSubmit_QueueStateWithoutASecretIs503AndLoggedOnce(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := newEnv(t, false)
	fill(t, e.rdb, append(slotRows(), queueRows()...))
	h := api.NewServer(slog.New(slog.NewJSONHandler(&logs, nil)), redis.NewListings(e.rdb), nil, redis.NewStatuses(e.rdb, time.Hour), api.Options{})
	for range 3 {
		w := post(t, h, invitationBody("whatever"))
		got := decodeError(t, w)
		if w.Code != http.StatusServiceUnavailable || got.Error.Code != "invitations_unavailable" || w.Header().Get("Retry-After") == "" {
			t.Fatalf("got %d %s Retry-After %q, want 503 invitations_unavailable with Retry-After", w.Code, got.Error.Code, w.Header().Get("Retry-After"))
		}
	}
	if n := strings.Count(logs.String(), "INVITATION_SECRET"); n != 1 {
		t.Errorf("log lines naming INVITATION_SECRET: got %d, want 1:\n%s", n, logs.String())
	}
	// Open states work as before.
	if w := post(t, h, submission(func(m map[string]any) { m["preferences"] = []string{full} })); w.Code != http.StatusConflict {
		t.Errorf("open state without a secret: got %d, want 409 slots_full as before", w.Code)
	}
}

func post(t *testing.T, h http.Handler, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/submit", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
