package email_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The person's IC number, in every form it could be written: none may
// appear in anything an e-mail carries.
const ic = "900101145678"

var icForms = []string{ic, "900101-14-5678"}

func composer(t *testing.T) *email.Composer {
	t.Helper()
	c, err := email.NewComposer(email.Address{Name: "vaxbook", Email: "no-reply@vaxbook.example.my"}, "https://vaxbook.example.my/")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	slotAM = booking.SlotInfo{ID: "sel-001-2026-12-01-am", CenterID: "sel-001", CenterName: "Dewan Orang Ramai, Seksyen 7",
		Address: "Jalan Plumbum; 40000 Shah Alam, Selangor", Date: "2026-12-01", Time: "08:00-13:00"}
	slotPM = booking.SlotInfo{ID: "sel-002-2026-12-02-pm", CenterID: "sel-002", CenterName: "Stadium Melawati",
		Address: "Persiaran Sukan, Shah Alam", Date: "2026-12-02", Time: "14:00-18:00"}
	decided = time.Date(2026, 11, 23, 7, 30, 5, 0, time.UTC)
	// holder holds the booking a duplicate by the person above collides
	// with: nothing of it may reach the person, who only typed an IC.
	holder = booking.Holder{Reference: "ZYXWVUTSRQ765432", Email: "holder@example.org"}
)

// outcome is what the worker hands over for a booking by the person with
// the IC above: the e-mail request is built from it exactly as in the worker.
func outcome(kind booking.Status, lang string) booking.Outcome {
	req := booking.Request{Reference: "ABCDEFGHJK234567", State: "selangor", Name: "Siti Aminah binti Abdullah",
		IDNumber: ic, Phone: "+60123456789", Email: "siti@example.com", Lang: lang}
	o := booking.Outcome{
		Record: booking.StatusRecord{Reference: req.Reference, Status: kind, Lang: req.Lang},
		Name:   req.Name, Email: req.Email, State: req.State, DecidedAt: decided,
	}
	switch kind {
	case booking.StatusConfirmed:
		o.Record.Slot = &slotAM
	case booking.StatusFull:
		o.Taken = []booking.SlotInfo{slotAM, slotPM}
	case booking.StatusDuplicate:
		h := holder
		h.Lang = lang
		o.Holder = &h
	}
	return o
}

// request is the e-mail request of kind the worker asks for about the
// person's booking; an attempt is the one a duplicate asks for, to the
// holder of the existing booking.
func request(t *testing.T, kind notify.Kind, lang string) email.Request {
	t.Helper()
	switch kind {
	case notify.KindInvitation, notify.KindExpired:
		return queueRequest(kind, lang)
	case notify.KindProof:
		return proofRequest(lang)
	case notify.KindCancelled, notify.KindChanged, notify.KindManage, notify.KindClosed:
		return manageRequest(kind, lang)
	case notify.KindClosing:
		// 04:00 UTC is 12:00 in Malaysia.
		return email.ClosingRequest(manageOutcome(lang), manageToken, time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC))
	case notify.KindAttempt:
	default:
		return email.RequestFor(outcome(booking.Status(kind), lang))
	}
	reqs := email.RequestsFor(outcome(booking.StatusDuplicate, lang))
	if len(reqs) != 2 || reqs[1].Kind != notify.KindAttempt {
		t.Fatalf("a duplicate's requests: got %+v, want the person's and an attempt", reqs)
	}
	return reqs[1]
}

// invitationToken stands for a signed token: the composer only links it.
const invitationToken = "AQ5BQkNERUZHSEpLMjM0NTY3CHNlbGFuZ29y-_x"

// queueRequest is the request the invitation loop publishes for the
// registration ABCDEFGHJK234567 of the person above.
func queueRequest(kind notify.Kind, lang string) email.Request {
	r := email.Request{Reference: "ABCDEFGHJK234567", Kind: kind, Lang: lang, Name: "Siti Aminah binti Abdullah",
		Email: "siti@example.com", State: "selangor", Contact: booking.ContactBoth, DecidedAt: decided}
	if kind == notify.KindInvitation {
		// 08:00 UTC is 16:00 in Malaysia.
		exp := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
		r.Token, r.ExpiresAt = invitationToken, &exp
	}
	return r
}

// proofRequest is the request POST /proof publishes for siti@example.com.
func proofRequest(lang string) email.Request {
	// 08:15 UTC is 16:15 in Malaysia.
	exp := time.Date(2026, 11, 25, 8, 15, 0, 0, time.UTC)
	return email.Request{Reference: "PQRSTUVWXY234567", Kind: notify.KindProof, Lang: lang,
		Email: "siti@example.com", Code: "042917", ExpiresAt: &exp, DecidedAt: decided}
}

// manageToken stands for a signed manage token: the composer only links it.
const manageToken = "AQ5BQkNERUZHSEpLMjM0NTY3CHNlbGFuZ29yMw"

// manageRequest is what the worker asks for after a manage request on the
// booking ABCDEFGHJK234567: its second change (to slotPM), its
// cancellation after that, or its link again.
func manageRequest(kind notify.Kind, lang string) email.Request {
	o := manageOutcome(lang)
	switch kind {
	case notify.KindChanged:
		o.Request = booking.StatusRecord{Reference: "CHANGEREQ2345678", Status: booking.StatusChanged, Slot: &slotPM}
	case notify.KindCancelled, notify.KindClosed:
		o.Booking.Status, o.Sequence = booking.StatusCancelled, 3
	}
	return email.ManageRequest(o, kind, manageToken)
}

// manageOutcome is the booking ABCDEFGHJK234567 after its second change.
func manageOutcome(lang string) booking.ManageOutcome {
	return booking.ManageOutcome{
		Booking: booking.StatusRecord{Reference: "ABCDEFGHJK234567", Status: booking.StatusConfirmed, Slot: &slotPM, Lang: lang},
		Name:    "Siti Aminah binti Abdullah", Email: "siti@example.com", State: "selangor", Sequence: 2, DecidedAt: decided,
	}
}

var kinds = []notify.Kind{notify.KindConfirmed, notify.KindFull, notify.KindDuplicate, notify.KindAttempt,
	notify.KindInvitation, notify.KindExpired, notify.KindProof, notify.KindChanged, notify.KindCancelled, notify.KindManage,
	notify.KindClosing, notify.KindClosed}

func TestCompose_MatchesGoldenFilesForEveryKindAndLanguage(t *testing.T) {
	c := composer(t)
	for _, kind := range kinds {
		for _, lang := range []string{"ms", "en"} {
			t.Run(string(kind)+"_"+lang, func(t *testing.T) {
				req := request(t, kind, lang)
				m, err := c.Compose(req)
				if err != nil {
					t.Fatal(err)
				}
				name := string(kind) + "_" + lang
				golden(t, name+".txt", []byte("Subject: "+m.Subject+"\n\n"+m.Text))
				golden(t, name+".html", []byte(m.HTML))
				wantAttachments := 0
				if kind == notify.KindConfirmed || kind == notify.KindChanged || kind.Cancels() {
					wantAttachments = 1
				}
				if len(m.Attachments) != wantAttachments {
					t.Fatalf("attachments: got %d, want %d", len(m.Attachments), wantAttachments)
				}
				for _, a := range m.Attachments {
					golden(t, name+".ics", a.Content)
				}
				to := "siti@example.com"
				if kind == notify.KindAttempt {
					to = holder.Email
				}
				if m.To.Email != to || m.From.Email != "no-reply@vaxbook.example.my" {
					t.Errorf("addresses: got from %+v to %+v", m.From, m.To)
				}

				wire, _ := json.Marshal(req)
				all := [][]byte{wire, []byte(m.Subject), []byte(m.Text), []byte(m.HTML)}
				for _, a := range m.Attachments {
					all = append(all, a.Content, []byte(a.Filename))
				}
				for _, part := range all {
					for _, form := range icForms {
						if bytes.Contains(part, []byte(form)) {
							t.Errorf("the IC number %s appears in the e-mail: %.200s", form, part)
						}
					}
				}
			})
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./internal/email -update` to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (rerun with -update if the change is meant):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func TestCompose_ContentEachKindPromises(t *testing.T) {
	c := composer(t)
	cases := []struct {
		kind notify.Kind
		lang string
		want []string
	}{
		{notify.KindConfirmed, "en", []string{"ABCDEFGHJK234567", "Dewan Orang Ramai, Seksyen 7", "Jalan Plumbum", "Tuesday, 1 December 2026", "08:00-13:00", "MyKad", "15 minutes before"}},
		{notify.KindConfirmed, "ms", []string{"ABCDEFGHJK234567", "Selasa, 1 Disember 2026", "MyKad", "15 minit sebelum"}},
		{notify.KindFull, "en", []string{"Dewan Orang Ramai", "Stadium Melawati", "Wednesday, 2 December 2026", "https://vaxbook.example.my/?lang=en&state=selangor"}},
		{notify.KindFull, "ms", []string{"Stadium Melawati", "Rabu, 2 Disember 2026", "https://vaxbook.example.my/?lang=ms&state=selangor"}},
		{notify.KindDuplicate, "en", []string{"ABCDEFGHJK234567", "one booking only", "holder of that booking has been told"}},
		{notify.KindDuplicate, "ms", []string{"ABCDEFGHJK234567", "satu tempahan", "telah dimaklumkan"}},
		{notify.KindAttempt, "en", []string{"Hello,", "with the ID number of your booking", "unchanged", "1-800-888-828", "once a day"}},
		{notify.KindAttempt, "ms", []string{"Salam sejahtera,", "nombor ID tempahan anda", "tidak berubah", "1-800-888-828", "sekali sehari"}},
		{notify.KindInvitation, "en", []string{"https://vaxbook.example.my/?invite=" + invitationToken + "\n", "Wednesday, 25 November 2026, 16:00 (Malaysia time)", "MyKad", "passport", "ABCDEFGHJK234567", "once"}},
		{notify.KindInvitation, "ms", []string{"https://vaxbook.example.my/?invite=" + invitationToken + "\n", "Rabu, 25 November 2026, 16:00 (waktu Malaysia)", "MyKad", "pasport", "sekali sahaja"}},
		{notify.KindExpired, "en", []string{"ABCDEFGHJK234567", "expired", "register again", "https://vaxbook.example.my/?lang=en&state=selangor"}},
		{notify.KindExpired, "ms", []string{"ABCDEFGHJK234567", "tamat tempoh", "daftar semula", "https://vaxbook.example.my/?lang=ms&state=selangor"}},
		{notify.KindProof, "en", []string{"Hello,", "042917", "Wednesday, 25 November 2026, 16:15 (Malaysia time)", "ignore this e-mail"}},
		{notify.KindProof, "ms", []string{"Salam sejahtera,", "042917", "Rabu, 25 November 2026, 16:15 (waktu Malaysia)", "abaikan e-mel ini"}},
	}
	for _, tc := range cases {
		m, err := c.Compose(request(t, tc.kind, tc.lang))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(m.Text, w) {
				t.Errorf("%s/%s text lacks %q", tc.kind, tc.lang, w)
			}
		}
	}
}

func TestCompose_CalendarFileFollowsRFC5545(t *testing.T) {
	m, err := composer(t).Compose(email.RequestFor(outcome(booking.StatusConfirmed, "en")))
	if err != nil {
		t.Fatal(err)
	}
	a := m.Attachments[0]
	if a.Filename != "appointment.ics" || !strings.HasPrefix(a.ContentType, "text/calendar") {
		t.Errorf("attachment: got %q %q", a.Filename, a.ContentType)
	}
	ics := string(a.Content)
	if !strings.HasSuffix(ics, "\r\n") || strings.Contains(strings.ReplaceAll(ics, "\r\n", ""), "\n") {
		t.Errorf("every line must end in CRLF and no bare LF may occur:\n%q", ics)
	}
	var unfolded []string
	for _, line := range strings.Split(strings.TrimSuffix(ics, "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line longer than 75 octets: %q", line)
		}
		if strings.HasPrefix(line, " ") {
			unfolded[len(unfolded)-1] += line[1:]
			continue
		}
		unfolded = append(unfolded, line)
	}
	want := []string{
		"UID:ABCDEFGHJK234567@vaxbook.example.my",
		"DTSTAMP:20261123T073005Z",
		// 08:00-13:00 in Malaysia (UTC+8) is 00:00-05:00 UTC.
		"DTSTART:20261201T000000Z",
		"DTEND:20261201T050000Z",
		`LOCATION:Dewan Orang Ramai\, Seksyen 7\, Jalan Plumbum\; 40000 Shah Alam\, Selangor`,
	}
	for _, w := range want {
		found := false
		for _, l := range unfolded {
			found = found || l == w
		}
		if !found {
			t.Errorf("calendar lacks the line %q; it has:\n%s", w, strings.Join(unfolded, "\n"))
		}
	}
}

func TestCompose_CalendarLeftOutWhenTheSlotTimeIsUnreadable(t *testing.T) {
	o := outcome(booking.StatusConfirmed, "ms")
	odd := slotAM
	odd.Time = "pagi"
	o.Record.Slot = &odd
	m, err := composer(t).Compose(email.RequestFor(o))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 0 || !strings.Contains(m.Text, "pagi") {
		t.Errorf("got %d attachments; want none, and the time shown as given", len(m.Attachments))
	}
}

func TestRequest_ValidateRefusesWhatCannotBeSent(t *testing.T) {
	good := email.RequestFor(outcome(booking.StatusConfirmed, "en"))
	cases := map[string]func(*email.Request){
		"bad reference":          func(r *email.Request) { r.Reference = "x" },
		"pending":                func(r *email.Request) { r.Kind = notify.Kind(booking.StatusPending) },
		"unknown lang":           func(r *email.Request) { r.Lang = "fr" },
		"no name":                func(r *email.Request) { r.Name = "" },
		"bad address":            func(r *email.Request) { r.Email = "siti" },
		"confirmed without slot": func(r *email.Request) { r.Slot = nil },
		"attempt with a name":    func(r *email.Request) { r.Kind, r.Slot, r.State = notify.KindAttempt, nil, "" },
		"attempt with a state":   func(r *email.Request) { r.Kind, r.Slot, r.Name = notify.KindAttempt, nil, "" },
		"attempt with a slot":    func(r *email.Request) { r.Kind, r.Name, r.State = notify.KindAttempt, "", "" },
		"confirmed with a token": func(r *email.Request) { r.Token = invitationToken },
		"invitation without a token": func(r *email.Request) {
			*r = queueRequest(notify.KindInvitation, "en")
			r.Token = ""
		},
		"invitation without expiry": func(r *email.Request) {
			*r = queueRequest(notify.KindInvitation, "en")
			r.ExpiresAt = nil
		},
		"expired without a state": func(r *email.Request) {
			*r = queueRequest(notify.KindExpired, "en")
			r.State = ""
		},
		"proof with a name":      func(r *email.Request) { *r = proofRequest("en"); r.Name = "Click http://evil.example" },
		"proof with a state":     func(r *email.Request) { *r = proofRequest("en"); r.State = "selangor" },
		"proof with a token":     func(r *email.Request) { *r = proofRequest("en"); r.Token = invitationToken },
		"proof without code":     func(r *email.Request) { *r = proofRequest("en"); r.Code = "" },
		"proof with a text code": func(r *email.Request) { *r = proofRequest("en"); r.Code = "visit evil.example" },
		"proof without expiry":   func(r *email.Request) { *r = proofRequest("en"); r.ExpiresAt = nil },
		"confirmed with a code":  func(r *email.Request) { r.Code = "123456" },
		"attempt without a day": func(r *email.Request) {
			r.Kind, r.Slot, r.Name, r.State, r.DecidedAt = notify.KindAttempt, nil, "", "", time.Time{}
		},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("good request: %v", err)
	}
	for name, spoil := range cases {
		r := good
		spoil(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("%s: got nil error", name)
		}
		if _, err := composer(t).Compose(r); err == nil {
			t.Errorf("%s: Compose got nil error", name)
		}
	}
}

func TestCompose_HTMLEscapesWhatThePersonTyped(t *testing.T) {
	o := outcome(booking.StatusDuplicate, "en")
	o.Name = `Ali <img src=x onerror=alert(1)> & "Abu"`
	m, err := composer(t).Compose(email.RequestFor(o))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<img") || !strings.Contains(m.HTML, "Ali &lt;img") {
		t.Errorf("the name reached the HTML unescaped:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, o.Name) {
		t.Errorf("the text part should carry the name as typed")
	}
}

// TestCompose_DuplicateNamesNothingOfTheOtherBooking: knowing someone's IC
// must not reveal their appointment, and the holder told of the attempt
// learns nothing of whoever made it. Checked on every byte of every
// request a duplicate asks for and of what it renders to.
func TestCompose_DuplicateNamesNothingOfTheOtherBooking(t *testing.T) {
	c := composer(t)
	for _, lang := range []string{"ms", "en"} {
		o := outcome(booking.StatusDuplicate, lang)
		reqs := email.RequestsFor(o)
		if len(reqs) != 2 {
			t.Fatalf("%s: got %d requests, want the person's and the holder's", lang, len(reqs))
		}
		for _, r := range reqs {
			m, err := c.Compose(r)
			if err != nil {
				t.Fatal(err)
			}
			wire, _ := json.Marshal(r)
			rendered := map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML, "to": m.To.Name + " " + m.To.Email}
			var forbidden []string
			switch r.Kind {
			case notify.KindDuplicate:
				if m.To.Email != o.Email {
					t.Errorf("%s duplicate: sent to %s, want the person %s", lang, m.To.Email, o.Email)
				}
				forbidden = []string{holder.Reference, holder.Email}
				rendered["request"] = string(wire)
			case notify.KindAttempt:
				if m.To.Email != holder.Email || r.Reference != holder.Reference {
					t.Errorf("%s attempt: sent to %s about %s, want the holder %s about %s", lang, m.To.Email, r.Reference, holder.Email, holder.Reference)
				}
				// The request names the holder's booking only as its
				// send-once key; it carries nothing of the person's.
				forbidden = []string{o.Record.Reference, o.Name, "Siti", o.Email, "+60123456789", "0123456789", o.State}
				rendered["request"] = string(wire)
				forbidden = append(forbidden, icForms...)
				// What the holder reads does not repeat even their own
				// reference: the address may not be theirs.
				for part, b := range map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML} {
					if strings.Contains(b, holder.Reference) {
						t.Errorf("%s attempt %s carries a booking reference: %s", lang, part, b)
					}
				}
			default:
				t.Fatalf("a duplicate asked for a %s e-mail", r.Kind)
			}
			for part, b := range rendered {
				for _, f := range forbidden {
					if strings.Contains(b, f) {
						t.Errorf("%s %s e-mail: %s carries %q:\n%s", lang, r.Kind, part, f, b)
					}
				}
			}
		}
	}
}

func TestRequest_AttemptIsSentOncePerHolderPerMalaysianDay(t *testing.T) {
	o := outcome(booking.StatusDuplicate, "en")
	first := email.RequestsFor(o)[1].Key()
	o.Record.Reference = "BCDEFGHJKM345678" // another duplicate later that day
	o.DecidedAt = time.Date(2026, 11, 23, 15, 59, 0, 0, time.UTC)
	again := email.RequestsFor(o)[1].Key()
	o.DecidedAt = time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC) // midnight in Malaysia
	tomorrow := email.RequestsFor(o)[1].Key()
	if first != again || first.Reference != holder.Reference {
		t.Errorf("two attempts on one day: keys %v and %v, want one key on the holder's reference", first, again)
	}
	if tomorrow == first {
		t.Errorf("an attempt the next day has the same key %v", tomorrow)
	}
	if d := email.RequestFor(o).Key(); d.Kind != notify.KindDuplicate || d.Reference != o.Record.Reference {
		t.Errorf("the person's duplicate e-mail: key %v", d)
	}
}

func TestCompose_ProofCarriesTheCodeAndNoLink(t *testing.T) {
	for _, lang := range []string{"ms", "en"} {
		m, err := composer(t).Compose(proofRequest(lang))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m.Subject, "042917") {
			t.Errorf("%s: subject %q shows the code on a lock screen", lang, m.Subject)
		}
		for what, body := range map[string]string{"text": m.Text, "html": m.HTML} {
			if !strings.Contains(body, "042917") {
				t.Errorf("%s %s: no code", lang, what)
			}
			for _, no := range []string{"http://", "https://", "href", "PQRSTUVWXY234567"} {
				if strings.Contains(body, no) {
					t.Errorf("%s %s carries %q: a proof e-mail has no link and no reference", lang, what, no)
				}
			}
		}
		if m.To.Name != "" || len(m.Attachments) != 0 {
			t.Errorf("%s: to %+v, %d attachments; want a bare address and none", lang, m.To, len(m.Attachments))
		}
	}
}

func TestCompose_ChangeAndCancelReplaceTheSameCalendarEvent(t *testing.T) {
	c := composer(t)
	ics := func(r email.Request) string {
		t.Helper()
		m, err := c.Compose(r)
		if err != nil || len(m.Attachments) != 1 {
			t.Fatalf("Compose %s: %d attachments, %v", r.Kind, len(m.Attachments), err)
		}
		return string(m.Attachments[0].Content)
	}
	confirmed := ics(request(t, notify.KindConfirmed, "en"))
	changed := ics(manageRequest(notify.KindChanged, "en"))
	cancelled := ics(manageRequest(notify.KindCancelled, "en"))
	uid := "UID:ABCDEFGHJK234567@vaxbook.example.my\r\n"
	for name, f := range map[string]string{"confirmed": confirmed, "changed": changed, "cancelled": cancelled} {
		if !strings.Contains(f, uid) {
			t.Errorf("%s: no %q in\n%s", name, uid, f)
		}
	}
	for _, want := range []struct{ file, line string }{
		{changed, "SEQUENCE:2\r\n"}, {changed, "METHOD:PUBLISH\r\n"}, {changed, "DTSTART:20261202T060000Z\r\n"},
		{cancelled, "SEQUENCE:3\r\n"}, {cancelled, "METHOD:CANCEL\r\n"}, {cancelled, "STATUS:CANCELLED\r\n"},
	} {
		if !strings.Contains(want.file, want.line) {
			t.Errorf("want %q in\n%s", want.line, want.file)
		}
	}
	if strings.Contains(confirmed, "SEQUENCE") {
		t.Errorf("the first version carries a SEQUENCE:\n%s", confirmed)
	}
}

func TestCompose_ManageLinkOnlyWhereTheBookingCanBeManaged(t *testing.T) {
	c := composer(t)
	confirmed := request(t, notify.KindConfirmed, "ms")
	confirmed.Manage = manageToken
	for _, r := range []email.Request{confirmed, manageRequest(notify.KindChanged, "ms"), manageRequest(notify.KindManage, "en"), manageRequest(notify.KindCancelled, "en")} {
		m, err := c.Compose(r)
		if err != nil {
			t.Fatal(err)
		}
		link := "https://vaxbook.example.my/?manage=" + manageToken
		if got, want := strings.Contains(m.Text, link) && strings.Contains(m.HTML, link), r.Kind != notify.KindCancelled; got != want {
			t.Errorf("%s: manage link in text and HTML %v, want %v", r.Kind, got, want)
		}
	}
	bad := manageRequest(notify.KindCancelled, "en")
	bad.Manage = manageToken
	if err := bad.Validate(); err == nil {
		t.Error("a cancellation carrying a manage link: valid")
	}
}

func TestRequest_EachChangeIsToldOnceAndTheLinkOnceADay(t *testing.T) {
	a, b := manageRequest(notify.KindChanged, "en"), manageRequest(notify.KindChanged, "en")
	b.Sequence = 3
	if a.Key() == b.Key() {
		t.Errorf("two changes share the key %s", a.Key())
	}
	m1, m2 := manageRequest(notify.KindManage, "en"), manageRequest(notify.KindManage, "en")
	m2.DecidedAt = m1.DecidedAt.Add(time.Hour)
	if m1.Key() != m2.Key() {
		t.Errorf("the link asked for twice in a day: keys %s and %s", m1.Key(), m2.Key())
	}
}
