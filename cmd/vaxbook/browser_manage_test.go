package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

var manageLinkRe = regexp.MustCompile(`https?://[^\s"<>]*/\?manage=([A-Za-z0-9_%.-]+)`)

// manageWords are the sentences the manage page shows, per language.
var manageWords = map[string]map[string]string{
	"en": {"confirmed": "Your booking is confirmed.", "changed": "Your time is changed", "cancelled": "This booking is cancelled",
		"invalid": "This link does not open a booking.", "expired": "This link has expired", "sent": "If those details match a booking",
		"badRef": "16-character reference"},
	"ms": {"confirmed": "Tempahan anda disahkan.", "changed": "Masa anda telah ditukar", "cancelled": "Tempahan ini telah dibatalkan",
		"invalid": "Pautan ini tidak membuka sebarang tempahan.", "expired": "Pautan ini telah tamat", "sent": "Jika butiran itu sepadan",
		"badRef": "16 aksara"},
}

// manageLinkFromOutbox waits for the confirmation of ref in /dev/mail.json
// and returns its manage link, checking that /dev/mail shows it too.
func manageLinkFromOutbox(t *testing.T, base, ref string) string {
	t.Helper()
	link := waitForMessage(t, base, ref, notify.KindConfirmed)
	if link == "" {
		t.Fatalf("the confirmation of %s carries no manage link", ref)
	}
	if page := get(t, base+"/dev/mail"); !strings.Contains(page, strings.ReplaceAll(link, "&", "&amp;")) {
		t.Errorf("/dev/mail does not show the link %s", link)
	}
	return link
}

// TestBrowser_ManageLinkChangesThenCancels is the "done when" for
// people, in each language: book on the page, open the manage link from
// /dev/mail, change the time, then cancel; Postgres agrees at each step.
func TestBrowser_ManageLinkChangesThenCancels(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	seedBrowserData(t, dbURL)
	base := startBrowserDev(t, dbURL, testenv.RedisURL(t))
	browser := newBrowser(t)

	people := map[string]struct{ name, id, digits, email string }{
		"en": {"Siti Aminah", "900101-14-5678", "900101145678", "siti@example.com"},
		"ms": {"Ahmad bin Ali", "850505-10-1234", "850505101234", "ahmad@example.com"},
	}
	for _, lang := range []string{"en", "ms"} {
		t.Run(lang, func(t *testing.T) {
			who, words := people[lang], manageWords[lang]
			p := openPage(t, browser, base, "/?lang="+lang)
			p.chooseState("selangor")
			p.do(chromedp.Click(chromedp.ID("s-sel-001-am")))
			p.fill(map[string]string{"name": who.name, "id_number": who.id, "phone": "0123456789", "email": who.email})
			p.do(chromedp.Click(chromedp.ID("submit")))
			p.waitFor(`document.querySelector('#status .ok') !== null`)
			ref := p.text("#ref")

			link := manageLinkFromOutbox(t, base, ref)
			u, err := url.Parse(link)
			if err != nil {
				t.Fatal(err)
			}
			p.do(chromedp.Navigate(base + "/?" + u.RawQuery + "&lang=" + lang))
			p.waitFor(`document.querySelector('#m-box dl') !== null`)
			view := p.text("#m-box")
			for _, want := range []string{words["confirmed"], ref, "Dewan Komuniti Shah Alam", "Jalan Dewan Komuniti Shah Alam", "08:00-13:00"} {
				if !strings.Contains(view, want) {
					t.Errorf("the manage page shows %q, want %q in it", view, want)
				}
			}
			if !eval[bool](p, `document.getElementById('choose').hidden && document.activeElement.id === 'h-manage'`) {
				t.Errorf("want the booking in place of the state form, with focus on its heading")
			}
			p.screenshot("manage-1-booking-" + lang)
			p.checkNoA11yViolations("the manage page (" + lang + ")")

			// Change time: the booking's own slot and a full one cannot be chosen.
			p.do(chromedp.Click(chromedp.ID("m-change")))
			p.waitFor(`!document.getElementById('slots').hidden && document.getElementById('centres').dataset.state === 'selangor'`)
			if !eval[bool](p, `document.getElementById('s-sel-001-am').disabled && document.getElementById('s-sel-001-pm').disabled && !document.getElementById('s-sel-002-pm').disabled`) {
				t.Errorf("change list: want the current and the full slot disabled, the others open")
			}
			if eval[bool](p, `['name', 'id_number', 'phone', 'email'].some(f => document.getElementById(f).offsetParent !== null)`) {
				t.Errorf("a change of time asks for personal details again")
			}
			p.do(chromedp.Click(chromedp.ID("s-sel-002-pm")))
			p.screenshot("manage-2-change-" + lang)
			p.checkNoA11yViolations("the change of time (" + lang + ")")
			p.do(chromedp.Click(chromedp.ID("submit")))
			p.waitFor(fmt.Sprintf(`document.getElementById('m-box').textContent.includes(%q)`, words["changed"]))
			if view := p.text("#m-box"); !strings.Contains(view, "Stadium Petaling Jaya") || !strings.Contains(view, "14:00-18:00") {
				t.Errorf("after the change the page shows %q, want the new slot", view)
			}
			if n, st, slot := bookingsFor(t, dbURL, who.digits); n != 1 || st != "confirmed" || slot != "sel-002-pm" {
				t.Errorf("Postgres after the change: %d bookings, %s in %s; want one confirmed in sel-002-pm", n, st, slot)
			}
			p.checkNoA11yViolations("the changed booking (" + lang + ")")

			// Cancel asks first; "keep it" changes nothing.
			p.do(chromedp.Click(chromedp.ID("m-cancel")))
			p.waitFor(`!document.getElementById('m-sure').hidden && document.activeElement.id === 'm-yes'`)
			p.checkNoA11yViolations("the cancel question (" + lang + ")")
			p.do(chromedp.Click(chromedp.ID("m-no")))
			if _, st, _ := bookingsFor(t, dbURL, who.digits); st != "confirmed" || !eval[bool](p, `document.getElementById('m-sure').hidden`) {
				t.Errorf("after keep-it: booking %s; want it confirmed and the question gone", st)
			}
			p.do(chromedp.Click(chromedp.ID("m-cancel")), chromedp.Click(chromedp.ID("m-yes")))
			p.waitFor(fmt.Sprintf(`document.getElementById('m-box').textContent.includes(%q)`, words["cancelled"]))
			if !eval[bool](p, `document.getElementById('m-acts').hidden`) {
				t.Errorf("a cancelled booking still offers change and cancel")
			}
			if n, st, _ := bookingsFor(t, dbURL, who.digits); n != 1 || st != "cancelled" {
				t.Errorf("Postgres after the cancel: %d bookings, %s; want one cancelled", n, st)
			}
			p.screenshot("manage-3-cancelled-" + lang)
			p.checkNoA11yViolations("the cancelled booking (" + lang + ")")
		})
	}
}

// TestBrowser_ManageLinkForgedOrExpired opens a link no booking signed and
// one whose appointment has passed, and asks for a lost link.
func TestBrowser_ManageLinkForgedOrExpired(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	seedBrowserData(t, dbURL)
	base := startBrowserDev(t, dbURL, testenv.RedisURL(t))
	browser := newBrowser(t)

	for _, lang := range []string{"en", "ms"} {
		words := manageWords[lang]
		p := newPage(t, browser, base)
		p.do(chromedp.Navigate(base + "/?manage=AAAA.forged-token&lang=" + lang))
		p.waitFor(`document.querySelector('#m-box .alert') !== null`)
		if got := p.text("#m-box"); !strings.Contains(got, words["invalid"]) {
			t.Errorf("%s forged link: got %q, want %q", lang, got, words["invalid"])
		}
		if !eval[bool](p, `document.getElementById('m-acts').hidden && document.getElementById('lost').open`) {
			t.Errorf("%s forged link: want no actions and the lost-link form open", lang)
		}
		p.checkNoA11yViolations("a forged link (" + lang + ")")

		// The lost-link form: a malformed reference is refused in place; a
		// well-formed pair gets the same answer whether it matched or not.
		p.do(chromedp.SendKeys(chromedp.ID("lost-ref"), "ABC"), chromedp.SendKeys(chromedp.ID("lost-id"), "900101-14-5678"), chromedp.Click(chromedp.ID("lost-btn")))
		p.waitFor(`document.getElementById('lost-err').textContent !== ''`)
		if got := p.text("#lost-err"); !strings.Contains(got, words["badRef"]) {
			t.Errorf("%s malformed reference: got %q", lang, got)
		}
		p.do(chromedp.SetValue(chromedp.ID("lost-ref"), "ABCDEFGHJKLMNPQR"), chromedp.Click(chromedp.ID("lost-btn")))
		p.waitFor(`document.getElementById('lost-msg').textContent !== ''`)
		if got := p.text("#lost-msg"); !strings.Contains(got, words["sent"]) || p.text("#lost-err") != "" {
			t.Errorf("%s resend: got %q (error %q), want the same answer as for any pair", lang, got, p.text("#lost-err"))
		}
		if n := p.countRequests("POST " + base + "/manage/resend"); n != 1 {
			t.Errorf("%s: POST /manage/resend sent %d times, want once", lang, n)
		}
		p.checkNoA11yViolations("the lost-link form (" + lang + ")")
		p.screenshot("manage-4-forged-" + lang)
	}

	// A link past its appointment: the API's 410 is what the page is
	// shown, since a booking in the past cannot be made through dev.
	p := newPage(t, browser, base)
	p.intercept([]string{base + "/manage"}, func(*fetch.EventRequestPaused) (int, string, string) {
		return http.StatusGone, "application/json", `{"error":{"code":"manage_expired","message":"This appointment has passed, so its link no longer works."}}`
	})
	p.do(chromedp.Navigate(base + "/?manage=AAAA.old&lang=en"))
	p.waitFor(`document.querySelector('#m-box .alert') !== null`)
	if got := p.text("#m-box"); !strings.Contains(got, manageWords["en"]["expired"]) {
		t.Errorf("expired link: got %q", got)
	}
	p.checkNoA11yViolations("an expired link")
}
