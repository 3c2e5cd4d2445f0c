package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vaxbook/vaxbook/internal/testenv"
)

// stateSet runs `vaxbook state set` against the test's database.
func stateSet(t *testing.T, dbURL string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"vaxbook", "state", "set"}, args...), envFunc(map[string]string{"DATABASE_URL": dbURL}), &out); err != nil {
		t.Fatalf("state set %v: %v", args, err)
	}
	return out.String()
}

// waitStateClosed waits until GET /states shows the state's switch as want.
func waitStateClosed(t *testing.T, base, state string, want bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var doc struct {
			States []struct {
				Code   string
				Closed bool
			}
		}
		getJSON(t, base+"/states", &doc)
		for _, s := range doc.States {
			if s.Code == state && s.Closed == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /states never showed %s with closed %v: %+v", state, want, doc.States)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowser_MaintenanceSwitchStopsBookingAndSaysSoInBothLanguages: an
// operator closes a state while a person is filling in the form; their
// booking is refused with the maintenance message (English, then Malay),
// the listing and the statuses keep working, a page opened afterwards says
// so as soon as the state is chosen, and opening the state again books.
func TestBrowser_MaintenanceSwitchStopsBookingAndSaysSoInBothLanguages(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	seedBrowserData(t, dbURL)
	base := startRole(t, map[string]string{
		"PORT": freePort(t), "DATABASE_URL": dbURL, "REDIS_URL": testenv.RedisURL(t),
		"CACHEFILL_INTERVAL": "300ms", "LISTPPV_MICROCACHE_TTL": "100ms", "LOG_LEVEL": "warn",
	}, "/readyz", "dev")
	before := submitAccepted(t, base, `{"state":"selangor","name":"Orang Awal","id_number":"880808-08-8888","phone":"0123456781","email":"awal@example.com","preferences":["sel-002-pm"]}`)

	browser := newBrowser(t)
	p := openPage(t, browser, base, "/?lang=en")
	p.chooseState("selangor")
	if p.visible("state-closed") {
		t.Fatal("the maintenance message shows for an open state")
	}
	if out := stateSet(t, dbURL, "selangor", "--closed"); !strings.Contains(out, "state selangor: closed") {
		t.Errorf("state set --closed printed %q", out)
	}
	waitStateClosed(t, base, "selangor", true)

	p.do(chromedp.Click(chromedp.ID("s-sel-001-am")))
	p.fill(map[string]string{"name": "Nurul Huda", "id_number": "920315-05-4321", "phone": "0191234567", "email": "nurul@example.com"})
	p.do(chromedp.Click(chromedp.ID("submit")))
	p.waitFor(`!document.getElementById('form-msg').hidden && document.getElementById('form-msg').textContent.includes('paused for maintenance')`)
	if got := p.text("#state-closed"); !p.visible("state-closed") || !strings.Contains(got, "paused for maintenance") {
		t.Errorf("English maintenance message by the state: visible %v, %q", p.visible("state-closed"), got)
	}
	p.screenshot("10-maintenance-en")
	p.checkA11y("the maintenance message")
	p.lang("ms")
	if got := p.text("#state-closed"); !strings.Contains(got, "ditangguhkan untuk penyelenggaraan") {
		t.Errorf("Malay maintenance message: got %q", got)
	}
	p.screenshot("10-maintenance-ms")

	// Lists and statuses keep working; bookings are answered 503.
	for _, path := range []string{"/listppv?state=selangor", "/status/" + before} {
		if code, _, _ := httpGet(t, base+path); code != http.StatusOK {
			t.Errorf("GET %s while closed: got %d, want 200", path, code)
		}
	}
	resp, err := http.Post(base+"/submit", "application/json", strings.NewReader(`{"state":"selangor","name":"Orang Lain","id_number":"850505-10-1234","phone":"0123456782","email":"lain@example.com","preferences":["sel-002-am"]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"state_closed"`) || resp.Header.Get("Retry-After") == "" {
		t.Errorf("POST /submit while closed: got %d Retry-After %q %s, want 503 state_closed with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}

	// A page opened now says so as soon as the state is chosen. The browser
	// may answer /states from its cache for a few seconds (max-age=1,
	// stale-while-revalidate=2), so the person reloads until it shows.
	q := openPage(t, browser, base, "/?lang=ms")
	deadline := time.Now().Add(60 * time.Second)
	for {
		q.do(chromedp.SetValue(chromedp.ID("state"), "selangor"))
		if eval[bool](q, `document.getElementById('state').dispatchEvent(new Event('change')) && !document.getElementById('state-closed').hidden`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a page opened after the switch never showed the maintenance message")
		}
		time.Sleep(500 * time.Millisecond)
		q.open("/?lang=ms")
	}
	if got := q.text("#state-closed"); !strings.Contains(got, "ditangguhkan untuk penyelenggaraan") {
		t.Errorf("Malay maintenance message on a fresh page: got %q", got)
	}

	// Opened again: within a cache interval, the same page books.
	stateSet(t, dbURL, "selangor", "--open")
	waitStateClosed(t, base, "selangor", false)
	p.waitFor(`!document.getElementById('submit').disabled`)
	p.do(chromedp.Click(chromedp.ID("submit")))
	p.waitFor(`document.querySelector('#status .ok') !== null`)
}

// httpGet is a GET's status, Cache-Control and body.
func httpGet(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Cache-Control"), string(b)
}
