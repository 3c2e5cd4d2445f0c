package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vaxbook/vaxbook/internal/testenv"
)

// proofCodeRE is the code's own line in the proof e-mail's text.
var proofCodeRE = regexp.MustCompile(`(?m)^\s+(\d{6})$`)

// proofCode reads the code e-mailed to `to` from `vaxbook dev`'s outbox.
func proofCode(t *testing.T, base, to string) string {
	t.Helper()
	text := awaitMail(t, base, "proof", to)
	c := proofCodeRE.FindStringSubmatch(text)
	if c == nil {
		t.Fatalf("the proof e-mail to %s has no code line:\n%s", to, text)
	}
	return c[1]
}

// awaitMail waits up to 30 s for a message of kind to `to` in `vaxbook
// dev`'s outbox (/dev/mail.json) and returns its text.
func awaitMail(t *testing.T, base, kind, to string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var box struct {
			Messages []struct {
				Message struct {
					Kind string
					To   struct{ Email string }
					Text string
				}
			}
		}
		getJSON(t, base+"/dev/mail.json", &box)
		for _, m := range box.Messages {
			if m.Message.Kind == kind && m.Message.To.Email == to {
				return m.Message.Text
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s e-mail to %s in /dev/mail.json after 30 s", kind, to)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowser_ContactProofBooks runs `vaxbook dev` with CONTACT_PROOF=on: in
// each language a person asks for a code, a wrong code is refused at the
// code's field in the person's language, and the code from /dev/mail books.
func TestBrowser_ContactProofBooks(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	seedBrowserData(t, dbURL)
	env := map[string]string{
		"PORT": freePort(t), "DATABASE_URL": dbURL, "REDIS_URL": testenv.RedisURL(t),
		"CACHEFILL_INTERVAL": "500ms", "LISTPPV_MICROCACHE_TTL": "100ms", "LOG_LEVEL": "warn",
		"CONTACT_PROOF": "on",
	}
	base := startRole(t, env, "/readyz", "dev")
	browser := newBrowser(t)

	for _, tc := range []struct {
		lang, id, digits, email string
		required, wrong, sent   string
	}{
		{"en", "900101-14-5678", "900101145678", "siti@example.com",
			"Send a code to your e-mail and enter it.", "This code is not right for this e-mail address.", "A code was sent to siti@example.com"},
		{"ms", "850505-10-1234", "850505101234", "amin@example.com",
			"Hantar kod ke e-mel anda dan masukkan kod itu.", "Kod ini tidak betul untuk alamat e-mel ini.", "Kod telah dihantar ke amin@example.com"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			p := openPage(t, browser, base, "/?lang="+tc.lang)
			p.chooseState("selangor")
			p.waitFor(`!document.getElementById('proof-box').hidden`)
			p.do(chromedp.Click(chromedp.ID("s-sel-002-pm")))
			p.fill(map[string]string{"name": "Siti Aminah", "id_number": tc.id, "phone": "012-345 6789", "email": tc.email})

			// No code yet: the page asks for one before sending anything.
			p.do(chromedp.Click(chromedp.ID("submit")))
			p.waitFor(`document.getElementById('proof-err').textContent !== ''`)
			if got := p.text("#proof-err"); got != tc.required {
				t.Errorf("submit before a code: proof error %q, want %q", got, tc.required)
			}
			if n := p.countRequests("POST " + base + "/submit"); n != 0 {
				t.Errorf("the page sent /submit %d times without a code", n)
			}

			p.do(chromedp.Click(chromedp.ID("send-code")))
			p.waitFor(`document.getElementById('code-sent').textContent !== ''`)
			if got := p.text("#code-sent"); !strings.Contains(got, tc.sent) {
				t.Errorf("code sent note: %q, want %q", got, tc.sent)
			}
			if focused := eval[string](p, `document.activeElement.id`); focused != "proof" {
				t.Errorf("focus after sending the code: #%s, want #proof", focused)
			}
			code := proofCode(t, base, tc.email)
			p.screenshot("proof-" + tc.lang + "-1-code-sent")
			p.checkA11y("the form with the code step (" + tc.lang + ")")

			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			p.do(chromedp.SendKeys(chromedp.ID("proof"), wrong), chromedp.Click(chromedp.ID("submit")))
			p.waitFor(`document.getElementById('proof-err').textContent !== ''`)
			if got := p.text("#proof-err"); !strings.HasPrefix(got, tc.wrong) {
				t.Errorf("wrong code: proof error %q, want it to start %q", got, tc.wrong)
			}
			if got := eval[string](p, `document.getElementById('proof').getAttribute('aria-invalid') || ''`); got != "true" {
				t.Errorf("wrong code: #proof aria-invalid %q, want true", got)
			}
			p.screenshot("proof-" + tc.lang + "-2-wrong-code")
			p.checkA11y("the wrong code answer (" + tc.lang + ")")
			if n, _, _ := bookingsFor(t, dbURL, tc.digits); n != 0 {
				t.Fatalf("a wrong code booked: %d bookings", n)
			}

			p.waitFor(`!document.getElementById('submit').disabled`)
			eval[bool](p, `(document.getElementById('proof').value = '') === ''`)
			p.do(chromedp.SendKeys(chromedp.ID("proof"), code), chromedp.Click(chromedp.ID("submit")))
			p.waitFor(`document.querySelector('#status .ok') !== null`)
			p.screenshot("proof-" + tc.lang + "-3-confirmed")
			if n, st, slot := bookingsFor(t, dbURL, tc.digits); n != 1 || st != "confirmed" || slot != "sel-002-pm" {
				t.Errorf("Postgres: %d bookings, %s %s; want one confirmed in sel-002-pm", n, st, slot)
			}
			if n := p.countRequests(fmt.Sprintf("POST %s/proof", base)); n != 1 {
				t.Errorf("POST /proof sent %d times, want 1", n)
			}
		})
	}
}
