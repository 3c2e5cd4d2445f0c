package email_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/queue"
)

var fuzzKinds = []notify.Kind{notify.KindConfirmed, notify.KindFull, notify.KindDuplicate, notify.KindAttempt, notify.KindInvitation, notify.KindExpired}

// FuzzCompose composes a request of every kind from fuzzed fields (what
// a person typed, and what a forged or corrupted message could carry) and
// holds every message Validate lets through to: no panic, no failure, no
// line break in the subject or an address (a header injection), the
// calendar file's lines CRLF-ended and folded within 75 octets, and the
// person's IC number nowhere, not even inside the invitation link's token.
func FuzzCompose(f *testing.F) {
	for i := range fuzzKinds {
		f.Add(uint8(i), true, "Siti Aminah", "siti@example.com", "selangor", slotAM.CenterName, slotAM.Address, slotAM.Date, slotAM.Time)
	}
	f.Add(uint8(0), false, "Ali\r\nBcc: victim@example.com", "a@example.com", "johor", "Dewan\u202e", strings.Repeat("é", 80), "2026-12-01", "08:00-13:00")
	f.Add(uint8(0), true, "Lim", "lim@example.com", "x", "C;,\\\n", "A\r\nB", "2026-02-30", "23:00-01:00")
	f.Add(uint8(4), false, "X", "x@example.com", "s", "", "", "", "")
	signer, err := queue.NewSigner("fuzz-invitation-secret-of-32-bytes!")
	if err != nil {
		f.Fatal(err)
	}
	c, err := email.NewComposer(email.Address{Name: "vaxbook", Email: "no-reply@vaxbook.example.my"}, "https://vaxbook.example.my/")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind uint8, en bool, name, addr, state, center, address, date, span string) {
		r := email.Request{
			Reference: booking.NewReference(), Kind: fuzzKinds[int(kind)%len(fuzzKinds)], Lang: booking.LangMalay,
			Name: name, Email: addr, State: state, DecidedAt: decided,
		}
		if en {
			r.Lang = booking.LangEnglish
		}
		slot := booking.SlotInfo{ID: "s-1", CenterID: "c-1", CenterName: center, Address: address, Date: date, Time: span}
		switch r.Kind {
		case notify.KindConfirmed:
			r.Slot = &slot
		case notify.KindFull:
			r.Taken = []booking.SlotInfo{slot, slotPM}
		case notify.KindAttempt:
			r.Name, r.State = "", ""
		case notify.KindInvitation:
			exp := decided.Add(48 * time.Hour)
			r.ExpiresAt, r.Token = &exp, signer.Sign(r.Reference, state, ic, exp)
		}
		if r.Validate() != nil {
			return // recorded and dropped by the worker, never composed
		}
		m, err := c.Compose(r)
		if err != nil {
			t.Fatalf("Compose(%+v): %v", r, err)
		}
		for what, v := range map[string]string{"subject": m.Subject, "to name": m.To.Name, "to email": m.To.Email, "from name": m.From.Name} {
			if strings.ContainsAny(v, "\r\n") {
				t.Errorf("%s %q: a line break in a header", what, v)
			}
		}
		parts := []string{m.Subject, m.Text, m.HTML}
		for _, a := range m.Attachments {
			parts = append(parts, string(a.Content))
			checkICSLines(t, a.Content)
		}
		for _, p := range parts {
			for _, form := range icForms {
				if strings.Contains(p, form) && !strings.Contains(name+addr+state+center+address+date+span, form) {
					t.Errorf("IC number %s in the %s message", form, r.Kind)
				}
			}
		}
	})
}

// checkICSLines holds a calendar file to RFC 5545 3.1: CRLF line ends, no
// bare CR or LF, at most 75 octets a line.
func checkICSLines(t *testing.T, ics []byte) {
	t.Helper()
	if !bytes.HasSuffix(ics, []byte("\r\n")) {
		t.Errorf("calendar does not end in CRLF")
	}
	for _, line := range bytes.Split(bytes.TrimSuffix(ics, []byte("\r\n")), []byte("\r\n")) {
		if len(line) > 75 {
			t.Errorf("calendar line of %d octets: %q", len(line), line)
		}
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("calendar line with a bare CR or LF: %q", line)
		}
	}
}
