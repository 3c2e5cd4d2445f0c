package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/proof"
	"github.com/vaxbook/vaxbook/internal/ratelimit"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

const proofSecret = "test-contact-proof-secret-0123456789"

// proofMail records the code e-mails the API asks for, or fails with err.
type proofMail struct {
	mu   sync.Mutex
	sent []email.Request
	err  error
}

func (m *proofMail) Publish(_ context.Context, r email.Request) error {
	if m.err != nil {
		return m.err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, r)
	return nil
}

func (m *proofMail) last(t *testing.T) email.Request {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) == 0 {
		t.Fatal("no code e-mail was asked for")
	}
	return m.sent[len(m.sent)-1]
}

func mustProofSigner(t testing.TB) *proof.Signer {
	t.Helper()
	s, err := proof.NewSigner(proofSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withProof turns contact proof on, counting tries in a Redis of the
// test's own and recording the code e-mails in mail.
func withProof(t *testing.T, mail *proofMail) option {
	t.Helper()
	tries := redis.NewProofTries(testenv.NewRedis(t))
	return func(o *api.Options) {
		o.Proof = api.Proof{Signer: mustProofSigner(t), Tries: tries, Mail: mail}
	}
}

type proofAnswer struct {
	Challenge string    `json:"challenge"`
	ExpiresAt time.Time `json:"expires_at"`
}

// askCode asks POST /proof for a code to addr and returns the challenge and
// the code the e-mail carries.
func askCode(t *testing.T, e *env, mail *proofMail, addr string) (challenge, code string) {
	t.Helper()
	w := e.do(t, http.MethodPost, "/proof", `{"email":"`+addr+`","lang":"en"}`, nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("POST /proof: %d %s, want 202", w.Code, w.Body)
	}
	var a proofAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || a.Challenge == "" {
		t.Fatalf("POST /proof body %s: %v", w.Body, err)
	}
	return a.Challenge, mail.last(t).Code
}

func withProofField(challenge, code string) func(map[string]any) {
	return func(m map[string]any) { m["proof"] = map[string]string{"challenge": challenge, "code": code} }
}

func TestProof_SendsACodeEmailCarryingNothingElse(t *testing.T) {
	t.Parallel()
	mail := &proofMail{}
	e := newEnv(t, true, withProof(t, mail))
	before := time.Now()
	w := e.do(t, http.MethodPost, "/proof", `{"email":" siti@Example.COM ","lang":"en"}`, nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("POST /proof: %d %s", w.Code, w.Body)
	}
	var a proofAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if d := a.ExpiresAt.Sub(before); d < 14*time.Minute || d > 16*time.Minute {
		t.Errorf("expires_at %s: want about 15 minutes from now", a.ExpiresAt)
	}
	r := mail.last(t)
	if err := r.Validate(); err != nil {
		t.Errorf("the code e-mail request is not one the worker sends: %v", err)
	}
	if r.Kind != notify.KindProof || r.Email != "siti@example.com" || r.Lang != "en" || len(r.Code) != 6 || r.Name != "" {
		t.Errorf("code e-mail request %+v: want kind proof to the normalised address in en, a 6-digit code, no name", r)
	}
	if strings.Contains(w.Body.String(), r.Code) {
		t.Error("the answer to POST /proof gives away the code")
	}
	// Another challenge, another e-mail: each is sent once under its own key.
	askCode(t, e, mail, "siti@example.com")
	if mail.sent[0].Reference == mail.sent[1].Reference {
		t.Error("two challenges share the e-mail's send-once reference")
	}
}

func TestProof_RefusesABadRequest(t *testing.T) {
	t.Parallel()
	mail := &proofMail{}
	e := newEnv(t, true, withProof(t, mail))
	for _, tc := range []struct{ body, field string }{
		{`{"email":"not an address"}`, "email"},
		{`{"email":"a@b.co","lang":"fr"}`, "lang"},
		{`{"email":"a@b.co","channel":"pigeon"}`, "channel"},
		{`{"email":"a@b.co","name":"Click here"}`, "name"},
	} {
		w := e.do(t, http.MethodPost, "/proof", tc.body, nil)
		if got := decodeError(t, w); w.Code != http.StatusBadRequest || got.Error.Field != tc.field {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.body, w.Code, w.Body, tc.field)
		}
	}
	if len(mail.sent) != 0 {
		t.Errorf("bad requests sent %d e-mails", len(mail.sent))
	}
}

func TestSubmit_WithProofOnNothingCountsWithoutTheRightCode(t *testing.T) {
	t.Parallel()
	mail := &proofMail{}
	e := newEnv(t, true, withProof(t, mail))
	s := mustProofSigner(t)
	challenge, code := askCode(t, e, mail, "siti@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	flipped := []byte(challenge)
	flipped[len(flipped)/2] ^= 1
	other, otherCode := askCode(t, e, mail, "amin@example.com")
	expired := s.Sign(proof.Challenge{Channel: notify.ChannelEmail, ExpiresAt: time.Now().Add(-time.Second)}, "siti@example.com", "123456")
	foreign := mustSigner(t, proofSecret).Sign("ABCDEFGHJKMNPQRS", "selangor", inviteeHash, time.Now().Add(time.Hour))
	cases := []struct {
		name   string
		mod    func(map[string]any)
		status int
		code   string
	}{
		{"no proof", nil, 403, "proof_required"},
		{"proof null", func(m map[string]any) { m["proof"] = nil }, 403, "proof_required"},
		{"no challenge", withProofField("", code), 403, "proof_required"},
		{"wrong code", withProofField(challenge, wrong), 403, "proof_invalid"},
		{"code with letters", withProofField(challenge, "12345a"), 403, "proof_invalid"},
		{"short code", withProofField(challenge, code[:5]), 403, "proof_invalid"},
		{"forged challenge", withProofField(string(flipped), code), 403, "proof_invalid"},
		{"an invitation token as challenge", withProofField(foreign, code), 403, "proof_invalid"},
		{"another address's proof", withProofField(other, otherCode), 403, "proof_invalid"},
		{"expired", withProofField(expired, "123456"), 410, "proof_expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, http.MethodPost, "/submit", submission(tc.mod), nil)
			got := decodeError(t, w)
			if w.Code != tc.status || got.Error.Code != tc.code || got.Error.Field != "proof" {
				t.Errorf("got %d %s field %q, want %d %s field proof", w.Code, got.Error.Code, got.Error.Field, tc.status, tc.code)
			}
		})
	}
	if n := len(e.srv.Messages()); n != 0 {
		t.Fatalf("refused submissions published %d bookings, want 0", n)
	}
	// The right code books, and (until it expires) books again: a parent
	// books the family with one address.
	for i, id := range []string{"900101-14-5678", "A1234567"} {
		w := e.do(t, http.MethodPost, "/submit", submission(func(m map[string]any) {
			m["id_number"] = id
			withProofField(challenge, code)(m)
		}), nil)
		if w.Code != http.StatusAccepted {
			t.Fatalf("booking %d with the right code: %d %s", i+1, w.Code, w.Body)
		}
	}
	if n := len(e.srv.Messages()); n != 2 {
		t.Errorf("published %d bookings, want 2", n)
	}
}

func TestSubmit_ProofTriesAreBoundedPerChallenge(t *testing.T) {
	t.Parallel()
	mail := &proofMail{}
	e := newEnv(t, true, withProof(t, mail))
	challenge, code := askCode(t, e, mail, "siti@example.com")
	guess := func(c string) (int, string) {
		w := e.do(t, http.MethodPost, "/submit", submission(withProofField(challenge, c)), nil)
		return w.Code, decodeError(t, w).Error.Code
	}
	// The right code spends nothing.
	if w := e.do(t, http.MethodPost, "/submit", submission(withProofField(challenge, code)), map[string]string{"Idempotency-Key": "k1"}); w.Code != http.StatusAccepted {
		t.Fatalf("right code: %d %s", w.Code, w.Body)
	}
	wrongs := 0
	for n := 0; wrongs < 5; n++ {
		c := strings.Repeat(string(rune('0'+n%10)), 6)
		if c == code {
			continue
		}
		wrongs++
		if status, got := guess(c); status != 403 || got != "proof_invalid" {
			t.Fatalf("wrong code %d: %d %s, want 403 proof_invalid", wrongs, status, got)
		}
	}
	if status, got := guess(code); status != http.StatusTooManyRequests || got != "proof_attempts" {
		t.Errorf("right code after 5 wrong ones: %d %s, want 429 proof_attempts (the challenge is spent)", status, got)
	}
	// A new challenge works again.
	c2, code2 := askCode(t, e, mail, "siti@example.com")
	if w := e.do(t, http.MethodPost, "/submit", submission(withProofField(c2, code2)), nil); w.Code != http.StatusAccepted {
		t.Errorf("new challenge: %d %s", w.Code, w.Body)
	}
}

func TestSubmit_ProofCountsFailClosedWithoutRedis(t *testing.T) {
	t.Parallel()
	mail := &proofMail{}
	s := mustProofSigner(t)
	e := newEnv(t, true, func(o *api.Options) {
		o.Proof = api.Proof{Signer: s, Tries: failingTries{}, Mail: mail}
	})
	challenge, code := askCode(t, e, mail, "siti@example.com")
	w := e.do(t, http.MethodPost, "/submit", submission(withProofField(challenge, code)), nil)
	if got := decodeError(t, w); w.Code != http.StatusServiceUnavailable || got.Error.Code != "proof_unavailable" || w.Header().Get("Retry-After") == "" {
		t.Errorf("tries uncountable: %d %s, want 503 proof_unavailable with Retry-After", w.Code, w.Body)
	}
}

// stubTries grants every try, or none.
type stubTries struct{ ok bool }

func (s stubTries) Reserve(context.Context, string, int, time.Duration) (bool, error) {
	return s.ok, nil
}
func (stubTries) Refund(context.Context, string) error { return nil }

type failingTries struct{}

func (failingTries) Reserve(context.Context, string, int, time.Duration) (bool, error) {
	return false, errDown
}
func (failingTries) Refund(context.Context, string) error { return errDown }

func TestSubmit_InvitationBookingNeedsNoProof(t *testing.T) {
	t.Parallel()
	q := newInvitationEnv(t)
	mail := &proofMail{}
	// Rebuild the same environment's handler with proof on.
	qp := invitationEnv{signer: q.signer, regs: q.regs}
	qp.env = newEnv(t, false, func(o *api.Options) {
		o.Invitations = api.Invitations{Signer: q.signer, IDs: pii.Dev(), Records: q.regs}
	}, withProof(t, mail))
	fill(t, qp.rdb, append(slotRows(), queueRows()...))
	token, _ := qp.invite(t, "kedah", time.Now().Add(time.Hour))
	if w := qp.do(t, http.MethodPost, "/submit", invitationBody(token), nil); w.Code != http.StatusAccepted {
		t.Errorf("invitation booking with proof on: %d %s, want 202", w.Code, w.Body)
	}
	// An open state's booking that only carries someone's invitation but
	// names its own contact is an ordinary booking: it needs the proof.
	w := qp.do(t, http.MethodPost, "/submit", submission(func(m map[string]any) { m["invitation"] = token }), nil)
	if got := decodeError(t, w); got.Error.Code != "proof_required" {
		t.Errorf("open-state booking with an invitation and its own contact: %d %s, want proof_required", w.Code, w.Body)
	}
}

func TestRegister_WithProofOnNeedsTheRightCode(t *testing.T) {
	t.Parallel()
	mail := &proofMail{}
	e := newQueueEnv(t, registrationsTopic, withProof(t, mail))
	body := func(mod func(map[string]any)) string {
		return registration(func(m map[string]any) {
			m["state"] = "perlis"
			if mod != nil {
				mod(m)
			}
		})
	}
	if w := e.do(t, http.MethodPost, "/register", body(nil), nil); decodeError(t, w).Error.Code != "proof_required" || w.Code != 403 {
		t.Errorf("no proof: %d %s, want 403 proof_required", w.Code, w.Body)
	}
	challenge, code := askCode(t, e.env, mail, "siti@example.com")
	wrong := "999999"
	if code == wrong {
		wrong = "888888"
	}
	if w := e.do(t, http.MethodPost, "/register", body(withProofField(challenge, wrong)), nil); decodeError(t, w).Error.Code != "proof_invalid" {
		t.Errorf("wrong code: %d %s, want proof_invalid", w.Code, w.Body)
	}
	if n := len(e.published(t)); n != 0 {
		t.Fatalf("refused registrations published %d, want 0", n)
	}
	if w := e.do(t, http.MethodPost, "/register", body(withProofField(challenge, code)), nil); w.Code != http.StatusAccepted {
		t.Errorf("right code: %d %s, want 202", w.Code, w.Body)
	}
}

func TestProof_OffLeavesTheContractAsItWas(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	if w := e.do(t, http.MethodPost, "/proof", `{"email":"siti@example.com"}`, nil); w.Code != http.StatusNotFound {
		t.Errorf("POST /proof with proof off: %d, want 404", w.Code)
	}
	if w := e.do(t, http.MethodPost, "/submit", submission(nil), nil); w.Code != http.StatusAccepted {
		t.Errorf("plain contract body with proof off: %d %s, want 202", w.Code, w.Body)
	}
	// A page that sends a proof to a deployment without it still books.
	if w := e.do(t, http.MethodPost, "/submit", submission(withProofField("x", "123456")), nil); w.Code != http.StatusAccepted {
		t.Errorf("body with a proof, proof off: %d %s, want 202", w.Code, w.Body)
	}
	var cfg struct {
		ContactProof *bool `json:"contact_proof"`
	}
	w := e.do(t, http.MethodGet, "/config", "", nil)
	if err := json.Unmarshal(w.Body.Bytes(), &cfg); err != nil || cfg.ContactProof != nil {
		t.Errorf("/config with proof off: %s, want no contact_proof (the answer as before)", w.Body)
	}
	on := newEnv(t, true, withProof(t, &proofMail{}))
	w = on.do(t, http.MethodGet, "/config", "", nil)
	if err := json.Unmarshal(w.Body.Bytes(), &cfg); err != nil || cfg.ContactProof == nil || !*cfg.ContactProof {
		t.Errorf("/config with proof on: %s, want contact_proof true", w.Body)
	}
}

func TestProof_CodesPerAddressAreCapped(t *testing.T) {
	t.Parallel()
	mail := &proofMail{}
	a := testAbuse(t, "off", false)
	a.ProofCap = ratelimit.Cap{Max: 2, Window: time.Hour}
	e := newEnv(t, true, withProof(t, mail), func(o *api.Options) { o.Abuse = a })
	for range 2 {
		askCode(t, e, mail, "siti@example.com")
	}
	// Variants of one mailbox count as one.
	w := e.do(t, http.MethodPost, "/proof", `{"email":"Siti+x@example.com"}`, nil)
	if got := decodeError(t, w); w.Code != http.StatusTooManyRequests || got.Error.Code != "contact_limit" || got.Error.Field != "email" || w.Header().Get("Retry-After") == "" {
		t.Errorf("third code to one mailbox: %d %s, want 429 contact_limit on email with Retry-After", w.Code, w.Body)
	}
	if len(mail.sent) != 2 {
		t.Errorf("sent %d code e-mails, want 2", len(mail.sent))
	}
	askCode(t, e, mail, "amin@example.com")
}

func TestProof_UnsentCodeIs503AndNotCounted(t *testing.T) {
	t.Parallel()
	mail := &proofMail{err: errors.New("pubsub down")}
	a := testAbuse(t, "off", false)
	a.ProofCap = ratelimit.Cap{Max: 1, Window: time.Hour}
	e := newEnv(t, true, withProof(t, mail), func(o *api.Options) { o.Abuse = a })
	for range 2 {
		w := e.do(t, http.MethodPost, "/proof", `{"email":"siti@example.com"}`, nil)
		if got := decodeError(t, w); w.Code != http.StatusServiceUnavailable || got.Error.Code != "proof_unavailable" {
			t.Errorf("publish failing: %d %s, want 503 proof_unavailable (not a cap: nothing was sent)", w.Code, w.Body)
		}
	}
}

func TestConfig_ContactProofSettings(t *testing.T) {
	t.Parallel()
	base := map[string]string{"CONTACT_PROOF": "on", "CONTACT_PROOF_SECRET": proofSecret, "EMAIL_TOPIC": "email-topic"}
	for _, tc := range []struct {
		name, key, value, want string
	}{
		{"bad mode", "CONTACT_PROOF", "yes", "CONTACT_PROOF:"},
		{"short secret", "CONTACT_PROOF_SECRET", "short", "CONTACT_PROOF_SECRET:"},
		{"no topic", "EMAIL_TOPIC", "", "EMAIL_TOPIC:"},
		{"short ttl", "CONTACT_PROOF_TTL", "10s", "CONTACT_PROOF_TTL:"},
		{"no tries", "CONTACT_PROOF_TRIES", "0", "CONTACT_PROOF_TRIES:"},
	} {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		env[tc.key] = tc.value
		_, err := loadOptions(t, env)
		if err == nil || !strings.Contains(err.Error(), "configuration: "+tc.want) || strings.Contains(err.Error(), proofSecret) {
			t.Errorf("%s: error %v, want one line naming %s and no secret", tc.name, err, tc.want)
		}
	}
	o, err := loadOptions(t, base)
	if err != nil || !o.Proof.On() {
		t.Errorf("on: %+v, %v; want proof on", o.Proof, err)
	}
	o, err = loadOptions(t, map[string]string{})
	if err != nil || o.Proof.On() {
		t.Errorf("default: %v; want proof off", err)
	}
}

func loadOptions(t *testing.T, env map[string]string) (api.Options, error) {
	t.Helper()
	var c api.Config
	if err := config.Load(context.Background(), func(k string) string { return env[k] }, &c); err != nil {
		t.Fatal(err)
	}
	return c.Options("p")
}

func TestConfig_ProofRouteLimitedOnlyWithProofOn(t *testing.T) {
	t.Parallel()
	env := map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_KEY": "0123456789abcdef", "RATE_LIMIT_PROOF": "3/h"}
	limited := func(o api.Options) bool {
		for _, r := range o.Abuse.Routes {
			if r.Path == "/proof" && r.Limit == (ratelimit.Limit{Rate: 3, Period: time.Hour, Burst: 3}) {
				return true
			}
		}
		return false
	}
	if o, err := loadOptions(t, env); err != nil || limited(o) {
		t.Errorf("proof off: /proof limited %t (%v), want no such route", limited(o), err)
	}
	env["CONTACT_PROOF"], env["CONTACT_PROOF_SECRET"], env["EMAIL_TOPIC"] = "on", proofSecret, "email-topic"
	if o, err := loadOptions(t, env); err != nil || !limited(o) {
		t.Errorf("proof on: /proof limited %t (%v), want 3/h", limited(o), err)
	}
	env["RATE_LIMIT_PROOF"] = "lots"
	if _, err := loadOptions(t, env); err == nil || !strings.HasPrefix(err.Error(), "configuration: RATE_LIMIT_PROOF") {
		t.Errorf("bad RATE_LIMIT_PROOF: %v, want a line naming it", err)
	}
}
