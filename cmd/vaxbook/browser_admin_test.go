package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/vaxbook/vaxbook/internal/devstack"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// adminWords are the staff page's texts the test looks for, per language.
var adminWords = map[string]map[string]string{
	"en": {"attended": "Attended", "signedInAs": "Signed in as "},
	"ms": {"attended": "Hadir", "signedInAs": "Log masuk sebagai "},
}

// TestBrowser_StaffDayListChecksSomeoneIn is the "done when" for
// staff, in each language: a person books on the public page; the dev admin
// signs in with the stand-in, opens the centre's day list for that date,
// finds the booking by its reference, checks the person in, and still sees
// them checked in after a reload; Postgres agrees.
func TestBrowser_StaffDayListChecksSomeoneIn(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	day := seedBrowserData(t, dbURL)
	base := startBrowserDev(t, dbURL, testenv.RedisURL(t))
	browser := newBrowser(t)

	people := map[string]struct{ name, id, email string }{
		"en": {"Siti Aminah", "900101-14-5678", "siti@example.com"},
		"ms": {"Ahmad bin Ali", "850505-10-1234", "ahmad@example.com"},
	}
	for _, lang := range []string{"en", "ms"} {
		t.Run(lang, func(t *testing.T) {
			who, words := people[lang], adminWords[lang]
			p := openPage(t, browser, base, "/?lang="+lang)
			p.chooseState("selangor")
			p.do(chromedp.Click(chromedp.ID("s-sel-001-am")))
			p.fill(map[string]string{"name": who.name, "id_number": who.id, "phone": "0123456789", "email": who.email})
			p.do(chromedp.Click(chromedp.ID("submit")))
			p.waitFor(`document.querySelector('#status .ok') !== null`)
			ref := p.text("#ref")
			if ref == "" {
				t.Fatal("no reference on the confirmation")
			}

			// The tabs share the browser's cookies: start signed out.
			s := newPage(t, browser, base)
			if _, err := chromedp.Call(s.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
				t.Fatal(err)
			}
			s.do(chromedp.Navigate(base + "/admin/?lang=" + lang))
			s.waitFor(`!document.getElementById('dev-signin').hidden`)
			if got := eval[string](s, `document.documentElement.lang`); got != lang {
				t.Errorf("html lang: got %q, want %q", got, lang)
			}
			s.checkNoA11yViolations("staff sign-in (" + lang + ")")
			s.screenshot("admin-1-signin-" + lang)
			s.do(chromedp.SendKeys(chromedp.ID("dev-email"), devstack.DevStaff), chromedp.Click("#dev-signin button"))
			s.waitFor(`!document.getElementById('work').hidden && document.querySelectorAll('#centre option').length > 0`)
			if got := s.text("#who"); got != words["signedInAs"]+devstack.DevStaff {
				t.Errorf("signed in: got %q", got)
			}

			showDay := func(q string) {
				t.Helper()
				eval[bool](s, fmt.Sprintf(`(document.getElementById('centre').value = 'sel-001', document.getElementById('date').value = %q, document.getElementById('q').value = %q, true)`, day, q))
				s.do(chromedp.Click("#day-form button[type=submit]"))
			}
			row := "#b-" + ref
			showDay(ref)
			s.waitFor(fmt.Sprintf(`document.getElementById(%q) !== null && document.querySelectorAll('#sessions tbody tr').length === 1`, "b-"+ref))
			if got := s.text(row); !strings.Contains(got, who.name) || !strings.Contains(got, ref) {
				t.Errorf("the booking's row: got %q, want the name and reference", got)
			}
			s.checkNoA11yViolations("the day list (" + lang + ")")
			s.screenshot("admin-2-day-" + lang)

			s.do(chromedp.Click(row + " td.actions button:first-child"))
			attended := fmt.Sprintf(`document.querySelector(%q).cells[2].textContent === %q && document.querySelector(%q).getAttribute('aria-pressed') === 'true'`,
				row, words["attended"], row+" td.actions button:first-child")
			s.waitFor(attended)
			s.checkNoA11yViolations("the day list after check-in (" + lang + ")")

			// The mark sticks: a reload forgets the form, not the check-in.
			s.do(chromedp.Reload())
			s.waitFor(`!document.getElementById('work').hidden && document.querySelectorAll('#centre option').length > 0`)
			showDay("")
			s.waitFor(fmt.Sprintf(`document.getElementById(%q) !== null`, "b-"+ref))
			s.waitFor(attended)
			s.screenshot("admin-3-checked-in-" + lang)
			if got := attendanceOf(t, dbURL, ref); got != "attended" {
				t.Errorf("Postgres: attendance of %s is %q, want attended", ref, got)
			}

			if lang == "ms" { // the last run: both people are booked on sel-001-am now
				closeFromThePage(t, s, dbURL)
			}

			// Signing out reloads the page: wait for that load, then for the form.
			ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
			defer cancel()
			if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("signout"))); err != nil {
				t.Fatalf("sign out: %v", err)
			}
			s.waitFor(`!document.getElementById('dev-signin').hidden`)
		})
	}
}

// closeFromThePage closes sel-001-am as staff do: "Close session" offers
// the people booked a change of time, the heading says until when, and
// "Cancel what stays now" ends it; Postgres agrees at each step.
func closeFromThePage(t *testing.T, s *page, dbURL string) {
	t.Helper()
	eval[bool](s, `(window.confirm = function () { return true; }, true)`)
	s.do(chromedp.Click(`#session-sel-001-am .tools button.alt`))
	s.waitFor(`document.getElementById('h-sel-001-am').textContent.indexOf('DITUTUP;') >= 0`)
	s.checkNoA11yViolations("a closing session (ms)")
	s.screenshot("admin-4-closing-ms")
	ctx := context.Background()
	pool := testenv.OpenPool(t, dbURL)
	var offered bool
	if err := pool.QueryRow(ctx, `SELECT closed_at IS NOT NULL AND cancel_at > now() FROM slots WHERE id = 'sel-001-am'`).Scan(&offered); err != nil || !offered {
		t.Fatalf("sel-001-am after Close session: closing with time to move %v, %v", offered, err)
	}

	s.do(chromedp.Click(`#session-sel-001-am .tools button.alt`))
	s.waitFor(`document.getElementById('h-sel-001-am').textContent.indexOf('DITUTUP;') < 0 && document.getElementById('h-sel-001-am').textContent.indexOf('DITUTUP') >= 0`)
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM bookings WHERE slot_id = 'sel-001-am' AND status = 'confirmed'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("bookings left on sel-001-am after Cancel what stays now: %d, %v", left, err)
	}
	s.checkNoA11yViolations("a closed session (ms)")
}

func attendanceOf(t *testing.T, dbURL, ref string) string {
	t.Helper()
	ctx := context.Background()
	pool, err := postgres.Open(ctx, postgres.Config{URL: dbURL, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var a *string
	if err := pool.QueryRow(ctx, `SELECT attendance FROM bookings WHERE reference = $1`, ref).Scan(&a); err != nil {
		t.Fatal(err)
	}
	if a == nil {
		return ""
	}
	return *a
}
