package main

// The registration queue on the booking page (issue 10), in Chromium as in
// browser_test.go: a `queue` state's registration form and its place in the
// queue, and the invitation link that books with the ID number alone.
//
// TestBrowser_QueueRegisterInviteBook runs the whole way against `vaxbook
// dev`; TestBrowser_QueuePageAnswers gives the page every answer of
// /register, /registration, /submit and /status it must handle, from a
// stand-in for those four paths, so that each sentence and each screen is
// checked without waiting for an invitation to expire.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/seed"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// invitationSecret is the INVITATION_SECRET of the test's `vaxbook dev`, so
// the test can sign the token of an invitation that has already expired.
const invitationSecret = "browser-test-invitation-secret-0123456789"

// setStateMode changes a state's mode in Postgres, as `vaxbook state set`
// does; the cache fill carries it to GET /states.
func setStateMode(t *testing.T, dbURL, state, mode string, opensAt *time.Time) {
	t.Helper()
	if _, err := testenv.OpenPool(t, dbURL).Exec(context.Background(), `UPDATE states SET mode = $2, opens_at = $3 WHERE code = $1`, state, mode, opensAt); err != nil {
		t.Fatal(err)
	}
}

// waitStateMode waits until GET /states shows the mode, so the page reads it.
func waitStateMode(t *testing.T, base, state, mode string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var doc struct {
			States []struct{ Code, Mode string }
		}
		getJSON(t, base+"/states", &doc)
		for _, s := range doc.States {
			if s.Code == state && s.Mode == mode {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /states never showed %s in mode %s: %+v", state, mode, doc.States)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// chooseQueueState chooses a state in queue mode, which shows the
// registration form in place of the times.
func (p *page) chooseQueueState(code string) {
	p.t.Helper()
	p.do(chromedp.SetValue(chromedp.ID("state"), code), chromedp.Click(chromedp.ID("show")))
	p.waitFor(`!document.getElementById('details').hidden && !document.getElementById('contact-box').hidden && document.getElementById('slots').hidden`)
}

// chooseInvitationState chooses the state on a page opened from an
// invitation's link, and checks that the form asks only for the ID number.
func (p *page) chooseInvitationState(code string) {
	p.t.Helper()
	if !p.visible("invite-note") {
		p.t.Error("the invitation's note is not shown")
	}
	p.chooseState(code)
	for _, f := range []string{"name", "phone", "email"} {
		if p.visible(f) {
			p.t.Errorf("%s is asked for with an invitation; the registration holds it", f)
		}
	}
}

// visible reports whether the element with id is shown (it and every
// ancestor without hidden).
func (p *page) visible(id string) bool {
	p.t.Helper()
	return eval[bool](p, fmt.Sprintf(`!!document.getElementById(%q)?.checkVisibility()`, id))
}

func (p *page) lang(l string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-lang=%q]`, l))))
}

// TestBrowser_QueueRegisterInviteBook: a person registers in a queue state,
// the invite loop of `vaxbook dev` invites them, and the link in their
// e-mail books; the same link then finds itself used, a link presented
// with another IC is refused at the ID field, and an expired one sends the
// person back to register.
func TestBrowser_QueueRegisterInviteBook(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	seedBrowserData(t, dbURL)
	seedFullQueueState(t, dbURL)
	setStateMode(t, dbURL, "johor", "queue", nil)
	setStateMode(t, dbURL, "kedah", "queue", nil)
	port := freePort(t)
	base := startRole(t, map[string]string{
		"PORT": port, "DATABASE_URL": dbURL, "REDIS_URL": testenv.RedisURL(t),
		"CACHEFILL_INTERVAL": "300ms", "LISTPPV_MICROCACHE_TTL": "100ms", "LOG_LEVEL": "warn",
		"INVITE_INTERVAL": "300ms", "INVITATION_SECRET": invitationSecret,
		"PUBLIC_BASE_URL": "http://127.0.0.1:" + port,
	}, "/readyz", "dev")
	waitStateMode(t, base, "kedah", "queue")
	browser := newBrowser(t)

	const (
		ic, icDigits       = "900101-14-5678", "900101145678"
		otherIC, otherBare = "850505-10-1234", "850505101234"
		mail               = "siti.queue@example.com"
	)

	p := openPage(t, browser, base, "/?lang=en")
	p.chooseQueueState("johor")
	p.screenshot("q1-register-form")
	p.checkNoA11yViolations("the registration form")
	p.fill(map[string]string{"name": "Siti Aminah", "id_number": ic, "phone": "012-345 6789", "email": mail})
	p.do(chromedp.Click(chromedp.CSS(`input[name="contact"][value="both"]`)), chromedp.Click(chromedp.ID("submit")))
	p.waitFor(`!document.getElementById('result').hidden`)
	regRef := p.text("#ref")
	if h := p.text("#h-result"); h != "Your registration" || len(regRef) < 8 {
		t.Errorf("after registering: heading %q, reference %q", h, regRef)
	}
	// The loop invites within a round or two; the page finds out by itself.
	p.waitFor(`document.getElementById('status').textContent.includes('You are invited')`)
	if got := p.text("#status"); !strings.Contains(got, "(Malaysia time)") {
		t.Errorf("invited status: got %q, want the link's expiry in Malaysia time", got)
	}
	p.screenshot("q2-invited")
	p.checkNoA11yViolations("the invited registration")
	p.lang("ms")
	if got := p.text("#status"); !strings.Contains(got, "Anda telah dijemput") {
		t.Errorf("invited status in Malay: got %q", got)
	}
	p.checkNoA11yViolations("the invited registration, in Malay")

	link := invitationLink(t, base, mail)
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("invite") == "" {
		t.Fatalf("invitation link %q: want PUBLIC_BASE_URL/?invite=TOKEN", link)
	}
	invitePath := "/?" + u.RawQuery + "&lang=en"

	t.Run("a link opened with another IC", func(t *testing.T) {
		q := bookWithInvitation(t, browser, base, invitePath, otherIC)
		q.waitFor(`document.getElementById('id_number-err').textContent !== ''`)
		if got := q.text("#id_number-err"); !strings.Contains(got, "sent for another ID number") {
			t.Errorf("another IC: got %q", got)
		}
		q.checkNoA11yViolations("an invitation presented with another IC")
		if n, _, _ := bookingsFor(t, dbURL, otherBare); n != 0 {
			t.Errorf("Postgres: %d bookings for the other IC, want none", n)
		}
	})

	t.Run("the invitation books", func(t *testing.T) {
		q := bookWithInvitation(t, browser, base, invitePath, ic)
		q.waitFor(`document.querySelector('#status .ok') !== null`)
		if got := q.text("#status"); !strings.Contains(got, "Your booking is confirmed.") || !strings.Contains(got, "Dewan Skudai") {
			t.Errorf("confirmed: got %q", got)
		}
		q.screenshot("q4-invitation-confirmed")
		if n, st, slot := bookingsFor(t, dbURL, icDigits); n != 1 || st != "confirmed" || slot != "jhr-001-am" {
			t.Errorf("Postgres: %d bookings, %s %s; want one confirmed in jhr-001-am", n, st, slot)
		}
	})

	t.Run("a used link", func(t *testing.T) {
		waitRegistration(t, base, regRef, "booked")
		q := bookWithInvitation(t, browser, base, invitePath, ic)
		q.waitFor(`!document.getElementById('form-msg').hidden`)
		if got := q.text("#form-msg"); !strings.Contains(got, "already been used") {
			t.Errorf("used link: got %q", got)
		}
		q.checkNoA11yViolations("a used invitation")
		if n, _, _ := bookingsFor(t, dbURL, icDigits); n != 1 {
			t.Errorf("Postgres: %d bookings after the used link, want still 1", n)
		}
	})

	t.Run("an expired link", func(t *testing.T) {
		// Signed as the loop signs, with an expiry already past: the API
		// judges it from the token alone.
		signer, err := queue.NewSigner(invitationSecret)
		if err != nil {
			t.Fatal(err)
		}
		tok := signer.Sign(regRef, "johor", pii.Dev().Hash(icDigits), time.Now().Add(-time.Hour))
		q := bookWithInvitation(t, browser, base, "/?invite="+tok+"&lang=ms", ic)
		q.waitFor(`!document.getElementById('form-msg').hidden`)
		if got := q.text("#form-msg"); !strings.Contains(got, "telah tamat tempoh") || !q.visible("to-register") {
			t.Errorf("expired link: got %q, want the sentence and the way to register again", got)
		}
		q.screenshot("q5-invitation-expired")
		q.checkNoA11yViolations("an expired invitation, in Malay")
		q.do(chromedp.Click(chromedp.ID("to-register")))
		q.waitFor(`!document.getElementById('contact-box').hidden && !location.search.includes('invite')`)
	})

	t.Run("waiting in a state with no free place", func(t *testing.T) {
		q := openPage(t, browser, base, "/?lang=en")
		q.chooseQueueState("kedah")
		q.fill(map[string]string{"name": "Lim Wei Ling", "id_number": "A1234567", "phone": "0123456780", "email": "lim@example.com"})
		q.do(chromedp.Click(chromedp.ID("submit")))
		q.waitFor(`document.getElementById('status').textContent.includes('You are in the queue')`)
		q.screenshot("q6-queued")
		q.checkNoA11yViolations("a queued registration")
		q.lang("ms")
		q.checkNoA11yViolations("a queued registration, in Malay")
	})
}

// bookWithInvitation opens an invitation's link in a new tab and books
// Johor's morning with the ID number, as the invitee would.
func bookWithInvitation(t *testing.T, browser context.Context, base, path, idNumber string) *page {
	t.Helper()
	p := openPage(t, browser, base, path)
	p.chooseInvitationState("johor")
	p.checkNoA11yViolations("the booking form of an invitation")
	p.do(chromedp.Click(chromedp.ID("s-jhr-001-am")))
	p.fill(map[string]string{"id_number": idNumber})
	p.do(chromedp.Click(chromedp.ID("submit")))
	return p
}

// seedFullQueueState adds Kedah, whose one slot is taken: a queue there
// waits, since the loop has no place to invite anyone into.
func seedFullQueueState(t *testing.T, dbURL string) {
	t.Helper()
	ctx := context.Background()
	pool := testenv.OpenPool(t, dbURL)
	day := testenv.Day(7)
	if _, err := seed.Load(ctx, pool, []seed.Row{{State: "kedah", StateName: "Kedah", CenterID: "kdh-001", CenterName: "Dewan Alor Setar",
		Address: "Jalan Dewan, Kedah", SlotID: "kdh-001-am", Date: day, Time: "08:00-13:00", Capacity: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE slots SET booked = capacity WHERE id = 'kdh-001-am'`); err != nil {
		t.Fatal(err)
	}
}

var inviteLinkRE = regexp.MustCompile(`https?://\S+/\?invite=[A-Za-z0-9_-]+`)

// invitationLink finds the link of the invitation e-mailed to an address in
// `vaxbook dev`'s outbox.
func invitationLink(t *testing.T, base, to string) string {
	t.Helper()
	text := awaitMail(t, base, "invitation", to)
	link := inviteLinkRE.FindString(text)
	if link == "" {
		t.Fatalf("the invitation to %s has no ?invite= link:\n%s", to, text)
	}
	return link
}

// waitRegistration polls GET /registration/{ref} until it shows status.
func waitRegistration(t *testing.T, base, ref, status string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var rec struct{ Status string }
		resp, err := http.Get(base + "/registration/" + ref)
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&rec)
			resp.Body.Close()
			if rec.Status == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /registration/%s never showed %s (last %q, %v)", ref, status, rec.Status, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// standIn answers the page's calls to some API paths with what the test
// says, through Chromium's Fetch domain, and keeps what the page sent.
type standIn struct {
	mu      sync.Mutex
	answers map[string]cannedAnswer // by path prefix; the longest match wins
	sent    []sentRequest
}

type cannedAnswer struct {
	status int
	body   string
}

type sentRequest struct {
	Method, Path, Key string
	Body              map[string]any
}

func (s *standIn) set(path string, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[path] = cannedAnswer{status, body}
}

// last is the last request sent to a path prefix.
func (s *standIn) last(path string) sentRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.sent) - 1; i >= 0; i-- {
		if strings.HasPrefix(s.sent[i].Path, path) {
			return s.sent[i]
		}
	}
	return sentRequest{}
}

func (s *standIn) answer(e *fetch.EventRequestPaused) cannedAnswer {
	u, _ := url.Parse(e.Request.URL)
	req := sentRequest{Method: e.Request.Method, Path: u.Path}
	if k, ok := e.Request.Headers["Idempotency-Key"].(string); ok {
		req.Key = k
	}
	var body []byte
	for _, d := range e.Request.PostDataEntries {
		body = append(body, d.Bytes...)
	}
	_ = json.Unmarshal(body, &req.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, req)
	best := ""
	for path := range s.answers {
		if strings.HasPrefix(u.Path, path) && len(path) > len(best) {
			best = path
		}
	}
	return s.answers[best]
}

// standIn makes the page's calls to paths answer from the stand-in; the
// rest (the page, /states, /listppv) still come from `vaxbook dev`.
func (p *page) standIn(paths ...string) *standIn {
	p.t.Helper()
	s := &standIn{answers: map[string]cannedAnswer{}}
	var patterns []string
	for _, path := range paths {
		s.answers[path] = cannedAnswer{http.StatusServiceUnavailable, `{"error":{"code":"unavailable","message":"no answer set"}}`}
		patterns = append(patterns, p.base+path+"*")
	}
	p.intercept(patterns, func(e *fetch.EventRequestPaused) (int, string, string) {
		a := s.answer(e)
		return a.status, "application/json; charset=utf-8", a.body
	})
	return s
}

// TestBrowser_QueuePageAnswers shows the page every answer the queue adds,
// with the states, listings and the page itself from `vaxbook dev` (Johor
// in queue mode, opening tomorrow) and the four queue paths from a stand-in.
func TestBrowser_QueuePageAnswers(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	seedBrowserData(t, dbURL)
	opens := time.Now().Add(24 * time.Hour).Truncate(time.Minute)
	setStateMode(t, dbURL, "johor", "queue", &opens)
	base := startBrowserDev(t, dbURL, testenv.RedisURL(t))
	waitStateMode(t, base, "johor", "queue")
	browser := newBrowser(t)
	person := map[string]string{"name": "Siti Aminah", "id_number": "900101-14-5678", "phone": "012-345 6789", "email": "siti@example.com"}
	registration := func(status, extra string) string {
		return fmt.Sprintf(`{"reference":"REGREF0001","state":"johor","status":%q%s}`, status, extra)
	}

	t.Run("the registration form and its checks, in both languages", func(t *testing.T) {
		p := openPage(t, browser, base, "/?lang=en")
		p.standIn("/register", "/registration/")
		p.do(chromedp.SetValue(chromedp.ID("state"), "johor"))
		eval[bool](p, `document.getElementById('state').dispatchEvent(new Event('change'))`)
		if got := p.text("#show"); got != "Continue to registration" {
			t.Errorf("the state button for a queue state: %q", got)
		}
		p.chooseQueueState("johor")
		if got := eval[string](p, `document.activeElement.id`); got != "h-details" {
			t.Errorf("focus after choosing a queue state: %q, want the form's heading", got)
		}
		help := p.text("#reg-help")
		if !strings.Contains(help, "books by invitation") || !strings.Contains(help, "(Malaysia time)") || !strings.Contains(help, "random order") {
			t.Errorf("registration help: got %q, want the mode, the opening time in Malaysia time and the shuffle", help)
		}
		if h, btn := p.text("#h-details"), p.text("#submit"); h != "2. Register for an invitation" || btn != "Register" {
			t.Errorf("heading %q, button %q", h, btn)
		}
		if checked := eval[string](p, `document.querySelector('input[name="contact"]:checked').value`); checked != "email" {
			t.Errorf("contact chosen at first: %q, want email", checked)
		}
		p.screenshot("qa1-register-form")
		p.checkNoA11yViolations("the registration form")
		p.do(chromedp.Click(chromedp.ID("submit")))
		p.waitFor(`document.getElementById('name-err').textContent !== ''`)
		if n := eval[int](p, `['name', 'id_number', 'phone', 'email'].filter(f =>
				document.getElementById(f).getAttribute('aria-invalid') === 'true' && document.getElementById(f + '-err').textContent).length`); n != 4 {
			t.Errorf("errors shown and linked for %d of the 4 empty fields", n)
		}
		if got := eval[string](p, `document.activeElement.id`); got != "name" {
			t.Errorf("focus after the errors: %q, want the first field at fault", got)
		}
		if n := p.countRequests("POST " + base + "/register"); n != 0 {
			t.Errorf("an empty form was sent %d times", n)
		}
		p.checkNoA11yViolations("the registration form with errors")
		p.lang("ms")
		if h, err := p.text("#h-details"), p.text("#name-err"); h != "2. Daftar untuk jemputan" || err != "Masukkan nama anda." {
			t.Errorf("in Malay: heading %q, name error %q", h, err)
		}
		if help := p.text("#reg-help"); !strings.Contains(help, "(waktu Malaysia)") {
			t.Errorf("registration help in Malay: %q", help)
		}
		p.screenshot("qa2-register-form-ms")
		p.checkNoA11yViolations("the registration form in Malay")
	})

	t.Run("registering, then every status of the registration", func(t *testing.T) {
		p := openPage(t, browser, base, "/?lang=en")
		api := p.standIn("/register", "/registration/")
		api.set("/register", http.StatusAccepted, `{"reference":"REGREF0001","status":"received"}`)
		api.set("/registration/", http.StatusOK, registration("received", ""))
		p.chooseQueueState("johor")
		p.fill(person)
		p.do(chromedp.Click(chromedp.CSS(`input[name="contact"][value="both"]`)), chromedp.Click(chromedp.ID("submit")))
		p.waitFor(`!document.getElementById('result').hidden`)
		sent := api.last("/register")
		want := map[string]any{"state": "johor", "name": "Siti Aminah", "id_number": "900101-14-5678", "phone": "012-345 6789",
			"email": "siti@example.com", "lang": "en", "contact": "both"}
		if fmt.Sprint(sent.Body) != fmt.Sprint(want) || sent.Key == "" {
			t.Errorf("POST /register sent %v with Idempotency-Key %q, want %v with a key", sent.Body, sent.Key, want)
		}
		if got := eval[string](p, `document.activeElement.id`); got != "h-result" || p.text("#h-result") != "Your registration" || p.text("#ref") != "REGREF0001" {
			t.Errorf("after registering: focus %q, heading %q, reference %q", got, p.text("#h-result"), p.text("#ref"))
		}
		if got := p.text("#status"); !strings.Contains(got, "being put in the queue") {
			t.Errorf("received: %q", got)
		}
		if live := eval[string](p, `document.getElementById('status').getAttribute('aria-live')`); live != "polite" {
			t.Errorf("the status is not announced: aria-live %q", live)
		}

		steps := []struct{ answer, want string }{
			{registration("queued", ""), "Your place will be drawn at random"},
			{registration("queued", `,"ahead":1234`), "About 1,234 people are ahead of you."},
			{registration("queued", `,"ahead":1`), "About 1 person is ahead of you."},
			{registration("queued", `,"ahead":0`), "you are next"},
			{registration("invited", `,"expires_at":"2026-12-03T08:00:00Z"`), "(Malaysia time)"},
		}
		for _, s := range steps {
			api.set("/registration/", http.StatusOK, s.answer)
			// "Check again" asks at once; the page's own polling may get
			// there first.
			shown := fmt.Sprintf(`document.getElementById('status').textContent.includes(%q)`, s.want)
			ready := `(b => !b.hidden && !b.disabled)(document.getElementById('check'))`
			p.waitFor(shown + " || " + ready)
			eval[bool](p, fmt.Sprintf(`%s || !%s || (document.getElementById('check').click(), true)`, shown, ready))
			p.waitFor(shown)
		}
		p.screenshot("qa3-invited")
		p.checkNoA11yViolations("an invited registration")
		if !eval[bool](p, `document.getElementById('check').hidden`) {
			t.Error("an invited registration still offers to check again")
		}
		p.lang("ms")
		if got := p.text("#status"); !strings.Contains(got, "Anda telah dijemput") || !strings.Contains(got, "(waktu Malaysia)") || p.text("#h-result") != "Pendaftaran anda" {
			t.Errorf("invited in Malay: heading %q, status %q", p.text("#h-result"), got)
		}
		p.checkNoA11yViolations("an invited registration in Malay")
	})

	t.Run("booked, expired and duplicate registrations", func(t *testing.T) {
		p := openPage(t, browser, base, "/?lang=en")
		api := p.standIn("/register", "/registration/")
		api.set("/register", http.StatusAccepted, `{"reference":"REGREF0001","status":"received"}`)
		api.set("/registration/", http.StatusOK, registration("booked", `,"booking_reference":"BOOKREF42"`))
		p.chooseQueueState("johor")
		p.fill(person)
		p.do(chromedp.Click(chromedp.ID("submit")))
		p.waitFor(`document.getElementById('status').textContent.includes('BOOKREF42')`)
		if got := p.text("#status"); !strings.Contains(got, "You booked with your invitation.") {
			t.Errorf("booked: %q", got)
		}
		firstKey := api.last("/register").Key

		api.set("/registration/", http.StatusOK, registration("expired", ""))
		p.do(chromedp.Navigate(base + "/?lang=en"))
		p.waitFor(`document.querySelectorAll('#state option').length > 1`)
		p.chooseQueueState("johor")
		p.fill(person)
		p.do(chromedp.Click(chromedp.ID("submit")))
		p.waitFor(`!document.getElementById('again').hidden`)
		if got, btn := p.text("#status"), p.text("#again"); !strings.Contains(got, "expired unused. Register again") || btn != "Register again" {
			t.Errorf("expired: status %q, button %q", got, btn)
		}
		p.screenshot("qa4-registration-expired")
		p.checkNoA11yViolations("an expired registration")
		p.lang("ms")
		p.checkNoA11yViolations("an expired registration in Malay")
		p.lang("en")
		secondKey := api.last("/register").Key
		p.do(chromedp.Click(chromedp.ID("again")))
		p.waitFor(`!document.getElementById('contact-box').hidden && document.getElementById('result').hidden`)

		api.set("/registration/", http.StatusOK, registration("duplicate", ""))
		p.do(chromedp.Click(chromedp.ID("submit")))
		p.waitFor(`document.getElementById('status').textContent.includes('already has a registration in this state')`)
		if got := p.text("#status"); !strings.Contains(got, "your place in the queue is kept") {
			t.Errorf("duplicate: %q", got)
		}
		if third := api.last("/register").Key; third == secondKey || secondKey == firstKey || third == "" {
			t.Errorf("Idempotency-Keys %q, %q, %q: registering again must send a new one", firstKey, secondKey, third)
		}
		p.checkNoA11yViolations("a duplicate registration")
	})

	t.Run("every answer to a booking with an invitation", func(t *testing.T) {
		const token = "AbC-123_token"
		p := openPage(t, browser, base, "/?invite="+token+"&lang=en")
		api := p.standIn("/submit", "/status/")
		p.chooseInvitationState("johor")
		p.checkNoA11yViolations("the booking form of an invitation")
		p.lang("ms")
		p.checkNoA11yViolations("the booking form of an invitation in Malay")
		p.lang("en")
		p.do(chromedp.Click(chromedp.ID("s-jhr-001-am")))
		p.fill(map[string]string{"id_number": "900101-14-5678"})

		send := func(status int, code string) {
			t.Helper()
			api.set("/submit", status, fmt.Sprintf(`{"error":{"code":%q,"message":"from the API"}}`, code))
			p.waitFor(`!document.getElementById('submit').disabled`)
			p.do(chromedp.Click(chromedp.ID("submit")))
		}
		send(http.StatusForbidden, "invitation_not_yours")
		p.waitFor(`document.getElementById('id_number-err').textContent !== ''`)
		if got, focus := p.text("#id_number-err"), eval[string](p, `document.activeElement.id`); !strings.Contains(got, "sent for another ID number") || focus != "id_number" {
			t.Errorf("invitation_not_yours: %q, focus %q", got, focus)
		}
		p.checkNoA11yViolations("an invitation presented with another IC")
		sent := api.last("/submit")
		if sent.Body["invitation"] != token || sent.Body["id_number"] != "900101-14-5678" || sent.Body["name"] != nil || sent.Body["email"] != nil {
			t.Errorf("POST /submit with an invitation sent %v, want the token, the ID number and no name or e-mail", sent.Body)
		}

		for _, c := range []struct {
			status       int
			code, want   string
			withRegister bool
		}{
			{http.StatusForbidden, "invitation_invalid", "This invitation link is not valid.", false},
			{http.StatusConflict, "invitation_used", "already been used to book", false},
			{http.StatusGone, "invitation_expired", "This invitation has expired.", true},
		} {
			send(c.status, c.code)
			p.waitFor(fmt.Sprintf(`document.getElementById('form-msg').textContent.includes(%q)`, c.want))
			if got := p.visible("to-register"); got != c.withRegister {
				t.Errorf("%s: the way to register again shown %t, want %t", c.code, got, c.withRegister)
			}
			if p.visible("result") {
				t.Errorf("%s: the result is shown", c.code)
			}
		}
		p.screenshot("qa5-invitation-expired")
		p.checkNoA11yViolations("an expired invitation")

		// Accepted, then full: the same link chooses again.
		api.set("/submit", http.StatusAccepted, `{"reference":"BOOK000001","status":"pending"}`)
		api.set("/status/", http.StatusOK, `{"reference":"BOOK000001","status":"full"}`)
		p.do(chromedp.Click(chromedp.ID("submit")))
		p.waitFor(`document.getElementById('preferences-err').textContent.includes('Choose again with the same link')`)
		if p.visible("result") || !p.visible("slots") || eval[string](p, `document.activeElement.id`) != "h-slots" {
			t.Errorf("after a full booking with an invitation: want the times again with focus on their heading; page: %s", p.text("main"))
		}
		p.checkNoA11yViolations("a full booking with an invitation")
		firstKey := api.last("/submit").Key
		api.set("/submit", http.StatusAccepted, `{"reference":"BOOK000002","status":"pending"}`)
		api.set("/status/", http.StatusOK, `{"reference":"BOOK000002","status":"confirmed","slot":{"id":"jhr-001-am","center_name":"Dewan Skudai","address":"Jalan","date":"2026-12-08","time":"08:00-13:00"}}`)
		p.do(chromedp.Click(chromedp.ID("s-jhr-001-am")), chromedp.Click(chromedp.ID("submit")))
		p.waitFor(`document.querySelector('#status .ok') !== null`)
		if again := api.last("/submit"); again.Body["invitation"] != token || again.Key == firstKey {
			t.Errorf("choosing again sent %v with key %q (first %q): want the same invitation under a new key", again.Body, again.Key, firstKey)
		}
	})

	t.Run("an expired invitation leads to the registration form", func(t *testing.T) {
		p := openPage(t, browser, base, "/?invite=tok&lang=en")
		api := p.standIn("/submit")
		api.set("/submit", http.StatusGone, `{"error":{"code":"invitation_expired","message":"expired"}}`)
		p.chooseState("johor")
		p.do(chromedp.Click(chromedp.ID("s-jhr-001-am")))
		p.fill(map[string]string{"id_number": "900101-14-5678"})
		p.do(chromedp.Click(chromedp.ID("submit")))
		p.waitFor(`!document.getElementById('to-register').hidden`)
		p.do(chromedp.Click(chromedp.ID("to-register")))
		p.waitFor(`!document.getElementById('contact-box').hidden`)
		if p.visible("invite-note") || eval[bool](p, `location.search.includes('invite')`) || !p.visible("name") {
			t.Errorf("after choosing to register: want no invitation left and the full form; url %s", eval[string](p, `location.href`))
		}
	})

	t.Run("the API knows a newer mode than the page", func(t *testing.T) {
		p := openPage(t, browser, base, "/?lang=en")
		api := p.standIn("/submit", "/register")
		// Selangor shows as open: the API says it now books by invitation.
		api.set("/submit", http.StatusForbidden, `{"error":{"code":"invitation_required","message":"register"}}`)
		p.chooseState("selangor")
		p.do(chromedp.Click(chromedp.ID("s-sel-002-am")))
		p.fill(person)
		p.do(chromedp.Click(chromedp.ID("submit")))
		p.waitFor(`!document.getElementById('contact-box').hidden && !document.getElementById('form-msg').hidden`)
		if got := p.text("#form-msg"); !strings.Contains(got, "books by invitation only") || p.visible("slots") {
			t.Errorf("invitation_required: message %q; want the registration form in place of the times", got)
		}
		p.checkNoA11yViolations("a state found to book by invitation")

		// Johor shows as queue: the API says it books first come, first served.
		api.set("/register", http.StatusConflict, `{"error":{"code":"not_queue_mode","message":"book"}}`)
		p.chooseQueueState("johor")
		p.fill(person)
		p.do(chromedp.Click(chromedp.ID("submit")))
		// The channel choice stays: bookings ask for it too (issue 12).
		p.waitFor(`!document.getElementById('slots').hidden && !document.getElementById('contact-box').hidden && !document.getElementById('form-msg').hidden`)
		if got := p.text("#form-msg"); !strings.Contains(got, "first come, first served") || !p.visible("name") {
			t.Errorf("not_queue_mode: message %q; want the times and the full form", got)
		}
	})
}
