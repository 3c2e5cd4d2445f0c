package sms_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/sms"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The person of every fixture: their IC, dashed and bare, must appear in
// no SMS, although it went into the submission and signs the invitation.
const (
	icDashed = "900101-14-5678"
	icBare   = "900101145678"
)

// smsKinds are the kinds sent by SMS: every kind but the proof code, which
// proves an e-mail address.
var smsKinds = []notify.Kind{
	notify.KindConfirmed, notify.KindFull, notify.KindDuplicate, notify.KindAttempt,
	notify.KindInvitation, notify.KindExpired, notify.KindChanged, notify.KindCancelled, notify.KindManage,
	notify.KindClosing, notify.KindClosed,
}

func request(t *testing.T, kind notify.Kind, lang string) email.Request {
	t.Helper()
	decided := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	o := booking.Outcome{
		Record: booking.StatusRecord{Reference: "ABCDEFGHJK234567", Status: booking.Status(kind), Lang: lang},
		Name:   "Siti Aminah binti Abdullah " + icDashed, Email: "siti@example.com", State: "selangor",
		Phone: "+60123456789", Contact: booking.ContactSMS, DecidedAt: decided,
	}
	slot := booking.SlotInfo{ID: "sel-001-2026-12-01-am", CenterID: "sel-001", CenterName: "Dewan Komuniti Seksyen 7, Shah Alam",
		Address: "Jalan Plumbum 7/102, 40000 Shah Alam", Date: "2026-12-01", Time: "08:00-13:00"}
	switch kind {
	case notify.KindConfirmed:
		o.Record.Slot = &slot
	case notify.KindFull:
		o.Taken = []booking.SlotInfo{slot}
	case notify.KindDuplicate:
		o.Holder = &booking.Holder{Reference: "ZZZZZZZZZZ234567", Email: "holder@example.com", Lang: lang, Phone: "+60198765432", Contact: booking.ContactSMS}
	}
	var r email.Request
	switch kind {
	case notify.KindAttempt:
		o.Record.Status = booking.StatusDuplicate
		o.Holder = &booking.Holder{Reference: "ZZZZZZZZZZ234567", Email: "holder@example.com", Lang: lang, Phone: "+60198765432", Contact: booking.ContactSMS}
		r = email.RequestsFor(o)[1]
	case notify.KindInvitation, notify.KindExpired:
		r = email.Request{Reference: "REGREFABCD234567", Kind: kind, Lang: lang, Name: o.Name, Email: o.Email,
			Phone: o.Phone, Contact: booking.ContactSMS, State: "selangor", DecidedAt: decided}
		if kind == notify.KindInvitation {
			signer, err := queue.NewSigner(strings.Repeat("k", queue.MinSecretLen))
			if err != nil {
				t.Fatal(err)
			}
			exp := decided.Add(48 * time.Hour)
			r.Token, r.ExpiresAt = signer.Sign(r.Reference, "selangor", icBare, exp), &exp
		}
	case notify.KindChanged, notify.KindCancelled, notify.KindManage, notify.KindClosing, notify.KindClosed:
		r = email.Request{Reference: o.Record.Reference, Kind: kind, Lang: lang, Name: o.Name, Email: o.Email,
			Phone: o.Phone, Contact: booking.ContactSMS, State: "selangor", DecidedAt: decided, Slot: &slot, Sequence: 1}
		if !kind.Cancels() {
			r.Manage = manageToken(t)
		}
		if kind == notify.KindClosing {
			at := decided.Add(24 * time.Hour)
			r.ExpiresAt = &at
		}
		if kind == notify.KindManage {
			r.Sequence = 0
		}
	default:
		r = email.RequestFor(o)
		if kind == notify.KindConfirmed {
			r.Manage = manageToken(t)
		}
	}
	return r.On(notify.ChannelSMS)
}

func manageToken(t *testing.T) string {
	t.Helper()
	s, err := booking.NewManageSigner(strings.Repeat("m", 32))
	if err != nil {
		t.Fatal(err)
	}
	return s.Sign("ABCDEFGHJK234567", "selangor")
}

func composer(t *testing.T) *sms.Composer {
	t.Helper()
	c, err := sms.NewComposer("https://vaxbook.example.my/")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompose_GoldenTextsWithSegmentCounts(t *testing.T) {
	c := composer(t)
	for _, kind := range smsKinds {
		for _, lang := range []string{booking.LangMalay, booking.LangEnglish} {
			t.Run(fmt.Sprintf("%s_%s", kind, lang), func(t *testing.T) {
				m, err := c.Compose(request(t, kind, lang))
				if err != nil {
					t.Fatal(err)
				}
				if m.To != "+60123456789" && kind != notify.KindAttempt || kind == notify.KindAttempt && m.To != "+60198765432" {
					t.Errorf("to %q", m.To)
				}
				if m.Segments != sms.Segments(m.Body) || m.Segments > sms.MaxSegments {
					t.Errorf("segments %d for %d characters, want at most %d", m.Segments, len(m.Body), sms.MaxSegments)
				}
				if sms.Fold(m.Body) != m.Body {
					t.Errorf("body is not GSM-7: %q", m.Body)
				}
				golden(t, fmt.Sprintf("%s_%s.golden", kind, lang), fmt.Sprintf("segments: %d\n%s\n", m.Segments, m.Body))
			})
		}
	}
}

// Without its link and centre every text fits one segment; only those can
// make it two.
func TestCompose_OneSegmentWithoutLinkOrCentre(t *testing.T) {
	c := composer(t)
	for _, kind := range smsKinds {
		for _, lang := range []string{booking.LangMalay, booking.LangEnglish} {
			r := request(t, kind, lang)
			if r.Slot != nil {
				s := *r.Slot
				s.CenterName = "X"
				r.Slot = &s
			}
			if r.Token != "" {
				r.Token = "x"
			}
			m, err := c.Compose(r)
			if err != nil {
				t.Fatal(err)
			}
			if kind == notify.KindInvitation || kind == notify.KindFull || kind == notify.KindExpired || kind.Cancels() {
				m.Body = m.Body[:strings.LastIndex(m.Body, " ")]
			}
			for _, words := range []string{" Change or cancel: ", " Tukar atau batal: "} {
				m.Body, _, _ = strings.Cut(m.Body, words) // the manage link
			}
			if m.Segments = sms.Segments(m.Body); m.Segments != 1 {
				t.Errorf("%s/%s: %d segments without link and centre: %q", kind, lang, m.Segments, m.Body)
			}
		}
	}
}

func TestCompose_NoIDNumberInAnyText(t *testing.T) {
	c := composer(t)
	for _, kind := range smsKinds {
		for _, lang := range []string{booking.LangMalay, booking.LangEnglish} {
			m, err := c.Compose(request(t, kind, lang))
			if err != nil {
				t.Fatal(err)
			}
			for _, ic := range []string{icDashed, icBare} {
				if strings.Contains(m.Body, ic) {
					t.Errorf("%s/%s carries the IC %s: %q", kind, lang, ic, m.Body)
				}
			}
			if strings.Contains(m.Body, "Siti") {
				t.Errorf("%s/%s names the person: %q", kind, lang, m.Body)
			}
		}
	}
}

func TestTexts_EveryKindInBothLanguages(t *testing.T) {
	c := composer(t)
	for _, kind := range append(smsKinds, notify.KindProof) {
		if !kind.Known() {
			t.Fatalf("%s unknown", kind)
		}
	}
	// A kind sent by SMS is in smsKinds; proof alone is e-mail only.
	r := request(t, notify.KindConfirmed, booking.LangMalay)
	r.Kind = notify.KindProof
	if _, err := c.Compose(r); err == nil {
		t.Error("a proof code composed for SMS")
	}
}

func TestCompose_LongCentreNameIsCutToTwoSegments(t *testing.T) {
	r := request(t, notify.KindConfirmed, booking.LangEnglish)
	s := *r.Slot
	s.CenterName = strings.Repeat("Dewan Serbaguna Taman Ampang Jaya ", 12) + "Ūlu Kélang"
	r.Slot = &s
	m, err := composer(t).Compose(r)
	if err != nil {
		t.Fatal(err)
	}
	if m.Segments != 2 || !strings.Contains(m.Body, "...") || sms.Fold(m.Body) != m.Body {
		t.Errorf("got %d segments: %q", m.Segments, m.Body)
	}
}

func TestSegments(t *testing.T) {
	for _, c := range []struct {
		body string
		want int
	}{
		{strings.Repeat("a", 160), 1},
		{strings.Repeat("a", 161), 2},
		{strings.Repeat("a", 306), 2},
		{strings.Repeat("a", 307), 3},
		{strings.Repeat("€", 80), 1}, // two septets each
		{strings.Repeat("€", 81), 2},
		{strings.Repeat("a", 69) + "ā", 1}, // UCS-2
		{strings.Repeat("a", 70) + "ā", 2},
	} {
		if got := sms.Segments(c.body); got != c.want {
			t.Errorf("Segments(%d runes starting %q) = %d, want %d", len([]rune(c.body)), c.body[:1], got, c.want)
		}
	}
	if got := sms.Fold("Kélang’s “Dewan” – Ūlu"); got != `Kelang's "Dewan" - Ulu` {
		t.Errorf("Fold = %q", got)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./internal/sms -update` to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (rerun with -update if the change is meant):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}
