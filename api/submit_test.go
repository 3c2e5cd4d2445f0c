package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

const open, full = "sel-001-2026-12-01-am", "sel-001-2026-12-01-pm"

func submission(mod func(map[string]any)) string {
	m := map[string]any{
		"state": "selangor", "name": "Siti Aminah", "id_number": "900101-14-5678",
		"phone": "0123456789", "email": "siti@example.com",
		"preferences": []string{open, full},
	}
	if mod != nil {
		mod(m)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

type accepted struct {
	Reference string `json:"reference"`
	Status    string `json:"status"`
}

func decodeAccepted(t *testing.T, body []byte) accepted {
	t.Helper()
	var a accepted
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("202 body %q: %v", body, err)
	}
	return a
}

func TestSubmit_QueuesANormalisedRequestAndAnswersPending(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	w := e.do(t, http.MethodPost, "/submit", submission(nil), nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status: got %d, want 202: %s", w.Code, w.Body)
	}
	a := decodeAccepted(t, w.Body.Bytes())
	if !booking.ValidReference(a.Reference) || a.Status != "pending" {
		t.Errorf("answer: got %+v, want a reference and pending", a)
	}
	msgs := e.srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("published: got %d messages, want 1", len(msgs))
	}
	var req booking.Request
	if err := json.Unmarshal(msgs[0].Data, &req); err != nil {
		t.Fatal(err)
	}
	if req.Reference != a.Reference || req.IDNumber != "900101145678" || req.Phone != "+60123456789" ||
		req.Lang != "ms" || len(req.Preferences) != 2 || req.SubmittedAt.IsZero() {
		t.Errorf("published request: got %+v", req)
	}
	if msgs[0].Attributes["reference"] != a.Reference {
		t.Errorf("attributes: got %v", msgs[0].Attributes)
	}

	s := e.do(t, http.MethodGet, "/status/"+strings.ToLower(a.Reference), "", nil)
	var rec booking.StatusRecord
	if err := json.Unmarshal(s.Body.Bytes(), &rec); err != nil || s.Code != 200 || rec.Status != booking.StatusPending || rec.Reference != a.Reference {
		t.Errorf("status: got %d %s", s.Code, s.Body)
	}
}

func TestSubmit_RejectsBadInputNamingTheField(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	cases := []struct {
		name  string
		body  string
		want  int
		field string
		code  string
	}{
		{"no state", submission(set("state", "")), 400, "state", ""},
		{"unknown state", submission(set("state", "atlantis")), 400, "state", "unknown_state"},
		{"blank name", submission(set("name", "   ")), 400, "name", ""},
		{"long name", submission(set("name", strings.Repeat("a", 101))), 400, "name", ""},
		{"IC with impossible date", submission(set("id_number", "901301-14-5678")), 400, "id_number", ""},
		{"IC too short", submission(set("id_number", "90010114567")), 400, "id_number", ""},
		{"passport without letters", submission(set("id_number", "12345678")), 400, "id_number", ""},
		{"phone not E.164", submission(set("phone", "12345")), 400, "phone", ""},
		{"email without domain dot", submission(set("email", "siti@example")), 400, "email", ""},
		{"no preferences", submission(set("preferences", []string{})), 400, "preferences", ""},
		{"four preferences", submission(set("preferences", []string{"a", "b", "c", "d"})), 400, "preferences", ""},
		{"repeated preference", submission(set("preferences", []string{open, open})), 400, "preferences", ""},
		{"unknown slot", submission(set("preferences", []string{open, "sel-999"})), 400, "preferences", "unknown_slot"},
		{"bad lang", submission(set("lang", "fr")), 400, "lang", ""},
		{"unknown field", submission(set("nickname", "x")), 400, "nickname", "unknown_field"},
		{"wrong type", submission(set("preferences", "sel-001")), 400, "preferences", "invalid_type"},
		{"not JSON", `{"state":`, 400, "", "invalid_json"},
		{"two objects", submission(nil) + submission(nil), 400, "", "invalid_json"},
		{"every choice full", submission(set("preferences", []string{full})), 409, "preferences", "slots_full"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantRefused(t, e.do(t, http.MethodPost, "/submit", tc.body, nil), tc.want, tc.field, tc.code)
		})
	}
	if n := len(e.srv.Messages()); n != 0 {
		t.Errorf("bad submissions published %d messages, want 0", n)
	}
}

func TestSubmit_AnswersTransportErrorsByContract(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	cases := []struct {
		name, contentType, body string
		want                    int
	}{
		{"no content type", "", submission(nil), 415},
		{"text/plain", "text/plain", submission(nil), 415},
		{"json with charset", "application/json; charset=utf-8", submission(nil), 202},
		{"body over the limit", "application/json", `{"name":"` + strings.Repeat("a", 20<<10) + `"}`, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptestRequest(http.MethodPost, "/submit", tc.body)
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			w := serve(e, r)
			if w.Code != tc.want {
				t.Fatalf("status: got %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if w.Code >= 400 {
				decodeError(t, w)
			}
		})
	}
}

func TestSubmit_RetryWithSameKeyGivesSameReference(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	key := map[string]string{"Idempotency-Key": "form-7f3a"}
	first := decodeAccepted(t, e.do(t, http.MethodPost, "/submit", submission(nil), key).Body.Bytes())
	second := decodeAccepted(t, e.do(t, http.MethodPost, "/submit", submission(nil), key).Body.Bytes())
	if first.Reference == "" || first.Reference != second.Reference {
		t.Fatalf("references: got %q then %q, want the same", first.Reference, second.Reference)
	}
	if n := len(e.srv.Messages()); n != 1 {
		t.Errorf("published: got %d, want 1 (the retry is answered, not queued again)", n)
	}
	// The same key from another person is another booking.
	other := decodeAccepted(t, e.do(t, http.MethodPost, "/submit", submission(func(m map[string]any) { m["id_number"] = "A1234567" }), key).Body.Bytes())
	if other.Reference == first.Reference {
		t.Errorf("another person with the same key got the same reference")
	}
	// Without a key every submission is new.
	a := decodeAccepted(t, e.do(t, http.MethodPost, "/submit", submission(nil), nil).Body.Bytes())
	b := decodeAccepted(t, e.do(t, http.MethodPost, "/submit", submission(nil), nil).Body.Bytes())
	if a.Reference == b.Reference {
		t.Errorf("two keyless submissions share reference %s", a.Reference)
	}
}

func TestSubmit_SameKeyOnAnotherInstanceGivesSameReference(t *testing.T) {
	t.Parallel()
	one, two := newEnv(t, true), newEnv(t, true)
	key := map[string]string{"Idempotency-Key": "shared-key"}
	a := decodeAccepted(t, one.do(t, http.MethodPost, "/submit", submission(nil), key).Body.Bytes())
	b := decodeAccepted(t, two.do(t, http.MethodPost, "/submit", submission(nil), key).Body.Bytes())
	if a.Reference != b.Reference {
		t.Errorf("instances disagree: %s vs %s", a.Reference, b.Reference)
	}
}

func TestSubmit_BadIdempotencyKeyIs400(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	w := e.do(t, http.MethodPost, "/submit", submission(nil), map[string]string{"Idempotency-Key": strings.Repeat("k", 300)})
	if w.Code != 400 || decodeError(t, w).Error.Field != "Idempotency-Key" {
		t.Errorf("got %d %s, want 400 on Idempotency-Key", w.Code, w.Body)
	}
}

func TestSubmit_PublishFailureIs503AndNothingIsRecorded(t *testing.T) {
	t.Parallel()
	rdb := testenv.NewRedis(t)
	fill(t, rdb, slotRows())
	_, psc := testenv.NewPubSub(t, "test")
	pub := pubsub.NewPublisher(psc, "no-such-topic")
	t.Cleanup(pub.Stop)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	statuses := redis.NewStatuses(rdb, time.Hour)
	e := &env{handler: api.NewServer(log, redis.NewListings(rdb), pub, statuses, api.Options{})}

	w := e.do(t, http.MethodPost, "/submit", submission(nil), map[string]string{"Idempotency-Key": "k1"})
	wantUnqueued(t, w)
	ref := booking.DevReferences().For("k1", "900101145678")
	if _, err := statuses.Get(context.Background(), ref); err == nil {
		t.Errorf("a status was recorded for a booking that was not queued")
	}
}

func TestStatus_AnswersByContract(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	if w := e.do(t, http.MethodGet, "/status/not-a-ref", "", nil); w.Code != 400 || decodeError(t, w).Error.Field != "reference" {
		t.Errorf("malformed reference: got %d %s", w.Code, w.Body)
	}
	if w := e.do(t, http.MethodGet, "/status/"+booking.NewReference(), "", nil); w.Code != 404 {
		t.Errorf("unknown reference: got %d, want 404", w.Code)
	}
}
