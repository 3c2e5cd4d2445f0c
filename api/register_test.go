package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/captcha"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

const registrationsTopic = "registrations-topic"

// registration is a valid POST /register body for perlis, changed by mod.
func registration(mod func(map[string]any)) string {
	m := map[string]any{
		"state": "perlis", "name": "Siti Aminah", "id_number": "900101-14-5678",
		"phone": "0123456789", "email": "siti@example.com", "contact": "both",
	}
	if mod != nil {
		mod(m)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

type queueEnv struct {
	*env
	records *redis.Registrations
}

// newQueueEnv is an API over real Redis and pstest with perlis in queue
// mode (selangor stays open), publishing registrations to topic.
func newQueueEnv(t *testing.T, topic string, opts ...option) queueEnv {
	t.Helper()
	rdb := testenv.NewRedis(t)
	rows := slotRows()
	rows[0].StateMode, rows[0].StateOpensAt = "queue", time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	fill(t, rdb, rows)
	srv, psc := testenv.NewPubSub(t, "test")
	if err := pubsub.EnsureTopic(t.Context(), psc, registrationsTopic); err != nil {
		t.Fatal(err)
	}
	pub := pubsub.NewPublisher(psc, "appointments-topic")
	t.Cleanup(pub.Stop)
	regs := pubsub.NewRegistrationPublisher(psc, topic)
	t.Cleanup(regs.Stop)
	records := redis.NewRegistrations(rdb, time.Hour)
	o := api.Options{Project: "test", Queue: api.Queue{Publisher: regs, Records: records}}
	for _, f := range opts {
		f(&o)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return queueEnv{
		env:     &env{rdb: rdb, srv: srv, handler: api.NewServer(log, redis.NewListings(rdb), pub, redis.NewStatuses(rdb, time.Hour), o)},
		records: records,
	}
}

func (e queueEnv) published(t *testing.T) []queue.Registration {
	t.Helper()
	var out []queue.Registration
	for _, m := range e.srv.Messages() {
		var reg queue.Registration
		if err := json.Unmarshal(m.Data, &reg); err != nil {
			t.Fatal(err)
		}
		out = append(out, reg)
	}
	return out
}

func TestRegister_PublishesANormalisedRegistrationAndAnswersReceived(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t, registrationsTopic)
	before := time.Now().UTC()
	w := e.do(t, http.MethodPost, "/register", registration(nil), nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status: got %d, want 202: %s", w.Code, w.Body)
	}
	a := decodeAccepted(t, w.Body.Bytes())
	if !booking.ValidReference(a.Reference) || a.Status != "received" {
		t.Errorf("answer: got %+v, want a reference and received", a)
	}
	msgs := e.published(t)
	if len(msgs) != 1 {
		t.Fatalf("published: got %d messages, want 1", len(msgs))
	}
	want := queue.Registration{Reference: a.Reference, State: "perlis", Name: "Siti Aminah", IDNumber: "900101145678",
		Phone: "+60123456789", Email: "siti@example.com", Lang: "ms", Contact: booking.ContactBoth, ReceivedAt: msgs[0].ReceivedAt}
	if msgs[0] != want || msgs[0].ReceivedAt.Before(before) || msgs[0].ReceivedAt.After(time.Now()) {
		t.Errorf("published:\n got %+v\nwant %+v, received now", msgs[0], want)
	}
	if attrs := e.srv.Messages()[0].Attributes; attrs["reference"] != a.Reference {
		t.Errorf("attributes: got %v", attrs)
	}

	s := e.do(t, http.MethodGet, "/registration/"+strings.ToLower(a.Reference), "", nil)
	if s.Code != 200 || s.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /registration: got %d Cache-Control %q: %s", s.Code, s.Header().Get("Cache-Control"), s.Body)
	}
	if got, want := s.Body.String(), `{"reference":"`+a.Reference+`","state":"perlis","status":"received"}`; strings.TrimSpace(got) != want {
		t.Errorf("GET /registration: got %s, want %s", got, want)
	}
}

func TestRegister_RejectsBadInputNamingTheField(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t, registrationsTopic)
	set := func(k string, v any) string { return registration(func(m map[string]any) { m[k] = v }) }
	cases := []struct {
		name  string
		body  string
		want  int
		field string
		code  string
	}{
		{"no state", set("state", ""), 400, "state", "required"},
		{"state too long", set("state", strings.Repeat("p", 41)), 400, "state", "too_long"},
		{"state not a code", set("state", "per lis"), 400, "state", "invalid"},
		{"unknown state", set("state", "atlantis"), 400, "state", "unknown_state"},
		{"open state", set("state", "selangor"), 409, "state", "not_queue_mode"},
		{"no name", set("name", "   "), 400, "name", "required"},
		{"long name", set("name", strings.Repeat("a", 101)), 400, "name", "too_long"},
		{"control character in name", set("name", "Siti\u0007"), 400, "name", "invalid"},
		{"no id_number", set("id_number", ""), 400, "id_number", "required"},
		{"IC with impossible date", set("id_number", "901301-14-5678"), 400, "id_number", ""},
		{"passport without letters", set("id_number", "12345678"), 400, "id_number", ""},
		{"no phone", set("phone", ""), 400, "phone", "required"},
		{"phone not E.164", set("phone", "12345"), 400, "phone", "invalid"},
		{"no email", set("email", ""), 400, "email", "required"},
		{"email without domain dot", set("email", "siti@example"), 400, "email", "invalid"},
		{"email too long", set("email", strings.Repeat("a", 250)+"@example.com"), 400, "email", "too_long"},
		{"bad lang", set("lang", "fr"), 400, "lang", "invalid"},
		{"bad contact", set("contact", "fax"), 400, "contact", "invalid"},
		{"preferences are a booking's", set("preferences", []string{"sel-001"}), 400, "preferences", "unknown_field"},
		{"invitation is a booking's", set("invitation", "tok"), 400, "invitation", "unknown_field"},
		{"unknown field", set("nickname", "x"), 400, "nickname", "unknown_field"},
		{"wrong type", set("contact", 1), 400, "contact", "invalid_type"},
		{"repeated field", `{"state":"perlis","state":"johor"}`, 400, "state", "duplicate"},
		{"not JSON", `{"state":`, 400, "", "invalid_json"},
		{"two objects", registration(nil) + registration(nil), 400, "", "invalid_json"},
		{"empty", ``, 400, "", "invalid_json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantRefused(t, e.do(t, http.MethodPost, "/register", tc.body, map[string]string{"Content-Type": "application/json"}), tc.want, tc.field, tc.code)
		})
	}
	if n := len(e.srv.Messages()); n != 0 {
		t.Errorf("bad registrations published %d messages, want 0", n)
	}
}

func TestRegister_ListsEveryBadFieldAsSubmitDoes(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t, registrationsTopic)
	w := e.do(t, http.MethodPost, "/register", `{"state":"","name":" ","id_number":"x","phone":"1","email":"a","lang":"fr","contact":"fax"}`, nil)
	var body struct {
		Error struct {
			Field  string `json:"field"`
			Fields []struct {
				Field string `json:"field"`
			} `json:"fields"`
		} `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 400 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	var fields []string
	for _, f := range body.Error.Fields {
		fields = append(fields, f.Field)
	}
	if got, want := strings.Join(fields, ","), "state,name,id_number,phone,email,lang,contact"; got != want || body.Error.Field != "state" {
		t.Errorf("fields: got %s (first %s), want %s", got, body.Error.Field, want)
	}
}

func TestRegister_AnswersTransportErrorsAsSubmitDoes(t *testing.T) {
	t.Parallel()
	abuse := testAbuse(t, "1/h:1", false)
	abuse.Routes = append(abuse.Routes, api.RouteLimit{Path: "/register", Limit: abuse.Routes[0].Limit})
	e := newQueueEnv(t, registrationsTopic, func(o *api.Options) { o.Abuse = abuse })
	cases := []struct {
		name, contentType, body, ip string
		header                      map[string]string
		want                        int
	}{
		{name: "no content type", body: registration(nil), ip: "203.0.113.1", want: 415},
		{name: "text/plain", contentType: "text/plain", body: registration(nil), ip: "203.0.113.2", want: 415},
		{name: "body over the limit", contentType: "application/json", body: `{"name":"` + strings.Repeat("a", 20<<10) + `"}`, ip: "203.0.113.3", want: 413},
		{name: "bad idempotency key", contentType: "application/json", body: registration(nil), ip: "203.0.113.4", header: map[string]string{"Idempotency-Key": strings.Repeat("k", 300)}, want: 400},
		{name: "first from an address", contentType: "application/json", body: registration(nil), ip: "203.0.113.5", want: 202},
		{name: "second from that address", contentType: "application/json", body: registration(nil), ip: "203.0.113.5", want: 429},
	}
	for _, tc := range cases {
		r := httptestRequest(http.MethodPost, "/register", tc.body)
		if tc.contentType != "" {
			r.Header.Set("Content-Type", tc.contentType)
		}
		r.Header.Set("X-Forwarded-For", tc.ip)
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		w := serve(e.env, r)
		if w.Code != tc.want {
			t.Errorf("%s: got %d, want %d: %s", tc.name, w.Code, tc.want, w.Body)
		}
		if w.Code == 429 && w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: 429 without Retry-After", tc.name)
		}
	}
}

func TestRegister_AsksForTheCaptchaWhenConfigured(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t, registrationsTopic, func(o *api.Options) {
		o.Captcha = api.Captcha{Provider: captcha.Turnstile, Verifier: stubVerifier{captcha.ErrRejected}}
	})
	w := e.do(t, http.MethodPost, "/register", registration(nil), nil)
	if got := decodeError(t, w); w.Code != 400 || got.Error.Field != "captcha_token" || got.Error.Code != "required" {
		t.Errorf("no token: got %d %s", w.Code, w.Body)
	}
	w = e.do(t, http.MethodPost, "/register", registration(func(m map[string]any) { m["captcha_token"] = "robot" }), nil)
	if got := decodeError(t, w); w.Code != 400 || got.Error.Code != "captcha_failed" {
		t.Errorf("rejected token: got %d %s", w.Code, w.Body)
	}
	if n := len(e.srv.Messages()); n != 0 {
		t.Errorf("published %d, want 0", n)
	}
}

func TestRegister_RetryWithSameKeyGivesSameReferenceAndQueuesOnce(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t, registrationsTopic)
	key := map[string]string{"Idempotency-Key": "reg-7f3a"}
	first := decodeAccepted(t, e.do(t, http.MethodPost, "/register", registration(nil), key).Body.Bytes())
	second := decodeAccepted(t, e.do(t, http.MethodPost, "/register", registration(nil), key).Body.Bytes())
	if first.Reference != booking.DevReferences().For("reg-7f3a", "900101145678") || second != first {
		t.Fatalf("answers: got %+v then %+v, want the key's reference twice", first, second)
	}
	if n := len(e.srv.Messages()); n != 1 {
		t.Errorf("published: got %d, want 1", n)
	}
}

func TestRegister_PublishFailureIs503AndNothingIsRecorded(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t, "no-such-topic")
	w := e.do(t, http.MethodPost, "/register", registration(nil), map[string]string{"Idempotency-Key": "k1"})
	if got := wantUnqueued(t, w); got.Error.Code != "queue_unavailable" {
		t.Errorf("code: got %q", got.Error.Code)
	}
	if _, err := e.records.Get(t.Context(), booking.DevReferences().For("k1", "900101145678")); err == nil {
		t.Error("a record was written for a registration that was not queued")
	}
}

func TestRegister_CacheNotFilledIs503(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t, registrationsTopic)
	if err := redis.NewListings(e.rdb).Write(t.Context(), listing.Documents{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if w := e.do(t, http.MethodPost, "/register", registration(nil), nil); w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("got %d, want 503 with Retry-After: %s", w.Code, w.Body)
	}
}

func TestRegistration_ShowsEachStatusWithItsFieldsAndNeverThePlace(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t, registrationsTopic)
	ctx := t.Context()
	// The invited-through mark as the loop writes it after a rebuild.
	token, err := e.records.BeginRestore(ctx, "perlis")
	if err != nil {
		t.Fatal(err)
	}
	if done, err := e.records.FinishRestore(ctx, "perlis", token, 3); err != nil || !done {
		t.Fatalf("FinishRestore: got %t, %v", done, err)
	}
	exp := time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)
	cases := []struct {
		rec  queue.Record
		want string // the body after the reference
	}{
		{queue.Record{State: "perlis", Status: queue.StatusReceived}, `"state":"perlis","status":"received"}`},
		{queue.Record{State: "perlis", Status: queue.StatusQueued, Place: 10}, `"state":"perlis","status":"queued","ahead":6}`},
		{queue.Record{State: "perlis", Status: queue.StatusQueued, Place: 4}, `"state":"perlis","status":"queued","ahead":0}`},
		{queue.Record{State: "perlis", Status: queue.StatusQueued, Place: 2}, `"state":"perlis","status":"queued","ahead":0}`},
		{queue.Record{State: "perlis", Status: queue.StatusQueued}, `"state":"perlis","status":"queued"}`},
		{queue.Record{State: "johor", Status: queue.StatusQueued, Place: 5}, `"state":"johor","status":"queued","ahead":4}`},
		{queue.Record{State: "perlis", Status: queue.StatusInvited, Place: 3, ExpiresAt: &exp}, `"state":"perlis","status":"invited","expires_at":"2026-12-03T01:00:00Z"}`},
		{queue.Record{State: "perlis", Status: queue.StatusBooked, Place: 3, BookingReference: "BBBBBBBBBBBBBBBB"}, `"state":"perlis","status":"booked","booking_reference":"BBBBBBBBBBBBBBBB"}`},
		{queue.Record{State: "perlis", Status: queue.StatusExpired, Place: 3}, `"state":"perlis","status":"expired"}`},
		{queue.Record{State: "perlis", Status: queue.StatusDuplicate}, `"state":"perlis","status":"duplicate"}`},
	}
	for _, tc := range cases {
		tc.rec.Reference = booking.NewReference()
		if err := e.records.Set(ctx, tc.rec); err != nil {
			t.Fatal(err)
		}
		w := e.do(t, http.MethodGet, "/registration/"+tc.rec.Reference, "", nil)
		want := `{"reference":"` + tc.rec.Reference + `",` + tc.want
		if w.Code != 200 || strings.TrimSpace(w.Body.String()) != want || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s place %d: got %d %s (Cache-Control %q), want 200 %s", tc.rec.Status, tc.rec.Place, w.Code, w.Body, w.Header().Get("Cache-Control"), want)
		}
	}
}

func TestRegistration_MalformedIs400AndUnknownIs404(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t, registrationsTopic)
	if w := e.do(t, http.MethodGet, "/registration/not-a-ref", "", nil); w.Code != 400 || decodeError(t, w).Error.Field != "reference" {
		t.Errorf("malformed: got %d %s", w.Code, w.Body)
	}
	if w := e.do(t, http.MethodGet, "/registration/"+booking.NewReference(), "", nil); w.Code != 404 || decodeError(t, w).Error.Code != "not_found" {
		t.Errorf("unknown: got %d %s", w.Code, w.Body)
	}
}
