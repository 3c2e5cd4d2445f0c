package email

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"net/url"
	"strings"
	texttemplate "text/template"
	"unicode"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/notify"
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

var funcs = map[string]any{"inc": func(i int) int { return i + 1 }}

// The templates are parsed once; missingkey=error turns a sentence missing
// from a language into a failed render (and a failed golden test) rather
// than a blank in someone's e-mail.
var (
	textTemplates = texttemplate.Must(texttemplate.New("").Funcs(funcs).Option("missingkey=error").
			ParseFS(templateFiles, "templates/*.txt.tmpl"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").Funcs(funcs).Option("missingkey=error").
			ParseFS(templateFiles, "templates/*.html.tmpl"))
)

// ParseAddress reads EMAIL_FROM: `name@example.com` or
// `vaxbook <name@example.com>`.
func ParseAddress(s string) (Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return Address{}, fmt.Errorf("want an address such as \"vaxbook <no-reply@example.com>\": %w", err)
	}
	return Address{Name: a.Name, Email: a.Address}, nil
}

// Composer renders requests into messages from one sender, with links to one
// public booking page.
type Composer struct {
	from    Address
	base    string // the public page, without a trailing slash
	uidHost string // the calendar UID's domain
}

// NewComposer checks publicBaseURL (PUBLIC_BASE_URL, the booking page people
// are sent back to) and returns a Composer.
func NewComposer(from Address, publicBaseURL string) (*Composer, error) {
	base, err := BaseURL(publicBaseURL)
	if err != nil {
		return nil, err
	}
	if from.Email == "" {
		return nil, fmt.Errorf("no sender address")
	}
	u, _ := url.Parse(base)
	return &Composer{from: from, base: base, uidHost: u.Hostname()}, nil
}

// BaseURL checks PUBLIC_BASE_URL, the booking page every channel's links
// lead to, and returns it without a trailing slash.
func BaseURL(publicBaseURL string) (string, error) {
	u, err := url.Parse(publicBaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("want an absolute http(s) URL such as https://vaxbook.example.my, got %q", publicBaseURL)
	}
	return strings.TrimRight(publicBaseURL, "/"), nil
}

// choice is a slot as the templates show it.
type choice struct {
	booking.SlotInfo
	When string
}

// view is what the templates see.
type view struct {
	R        Request
	T        map[string]string
	Subject  string
	Greeting string
	Intro    string
	When     string
	Calendar string
	Taken    []choice
	Link     string
	Manage   string // the manage link, when the request carries a token
	Deadline string // a closing's: when what is not moved is cancelled
}

// Compose renders r; it fails only for a request Validate refuses.
func (c *Composer) Compose(r Request) (Message, error) {
	if err := r.Validate(); err != nil {
		return Message{}, fmt.Errorf("e-mail request %s: %w", r.Reference, err)
	}
	if r.OnChannel() != notify.ChannelEmail {
		return Message{}, fmt.Errorf("e-mail request %s: on channel %s", r.Reference, r.OnChannel())
	}
	t := texts[r.Lang]
	kind := string(r.Kind)
	v := view{R: r, T: t, Link: Link(c.base, r)}
	if r.Manage != "" {
		v.Manage = ManageLink(c.base, r)
	}
	if r.Name != "" {
		v.Greeting = fmt.Sprintf(t["greeting"], r.Name)
	} else {
		v.Greeting = t["greeting_anonymous"]
	}
	m := Message{
		Reference: r.Reference, Kind: r.Kind, From: c.from,
		To: Address{Name: headerText(r.Name), Email: r.Email},
	}
	switch r.Kind {
	case notify.KindConfirmed, notify.KindChanged, notify.KindCancelled, notify.KindManage, notify.KindClosing, notify.KindClosed:
		v.Subject = fmt.Sprintf(t[kind+"_subject"], r.Reference)
		v.Intro = t[kind+"_intro"]
		v.When = longDate(r.Lang, r.Slot.Date)
		if r.Kind == notify.KindClosing {
			v.Deadline = fmt.Sprintf(t["closing_deadline"], longDateTime(r.Lang, *r.ExpiresAt))
		}
		if r.Kind == notify.KindManage || r.Kind == notify.KindClosing {
			break // the link only: the calendar has the appointment already
		}
		method := "PUBLISH"
		if r.Kind.Cancels() {
			method = "CANCEL"
		}
		if ics, ok := c.calendar(r, method); ok {
			m.Attachments = []Attachment{{Filename: t["ics_filename"], ContentType: "text/calendar; charset=utf-8; method=" + method, Content: ics}}
			v.Calendar = fmt.Sprintf(t["calendar_"+kind], t["ics_filename"])
		}
	case notify.KindFull:
		v.Subject = fmt.Sprintf(t["full_subject"], r.Reference)
		v.Intro = fmt.Sprintf(t["full_intro"], r.Reference)
		for _, s := range r.Taken {
			v.Taken = append(v.Taken, choice{SlotInfo: s, When: longDate(r.Lang, s.Date)})
		}
	case notify.KindDuplicate:
		v.Subject = fmt.Sprintf(t["duplicate_subject"], r.Reference)
		v.Intro = fmt.Sprintf(t["duplicate_intro"], r.Reference)
	case notify.KindAttempt:
		v.Subject = t["attempt_subject"]
		v.Intro = t["attempt_intro"]
	case notify.KindInvitation:
		v.Subject = fmt.Sprintf(t["invitation_subject"], r.Reference)
		v.Intro = t["invitation_intro"]
		v.When = fmt.Sprintf(t["invitation_expires"], longDateTime(r.Lang, *r.ExpiresAt))
		v.Link = Link(c.base, r)
	case notify.KindExpired:
		v.Subject = fmt.Sprintf(t["expired_subject"], r.Reference)
		v.Intro = fmt.Sprintf(t["expired_intro"], r.Reference)
	case notify.KindProof:
		// No link and no name: the address is unproven, so the message
		// must be worthless to anyone who asks for it to be sent to
		// someone else. The code stays out of the subject, which lock
		// screens show.
		v.Subject = t["proof_subject"]
		v.Intro = t["proof_intro"]
		v.When = fmt.Sprintf(t["proof_expires"], longDateTime(r.Lang, *r.ExpiresAt))
		v.Link = ""
	}
	m.Subject = v.Subject

	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, kind+".txt.tmpl", v); err != nil {
		return Message{}, fmt.Errorf("render %s text: %w", kind, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, kind+".html.tmpl", v); err != nil {
		return Message{}, fmt.Errorf("render %s html: %w", kind, err)
	}
	m.Text, m.HTML = text.String(), html.String()
	return m, nil
}

// headerText is s fit for a header field: control characters (CR and LF
// above all, which would start a header of the sender's choosing in any
// provider that writes the name into one) become spaces. The provider's
// JSON API encodes the rest. FuzzCompose keeps it so.
func headerText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// ManageLink is the link that changes or cancels r's booking, on the
// booking page at base; empty when r carries no manage token.
func ManageLink(base string, r Request) string {
	if r.Manage == "" {
		return ""
	}
	return base + "/?manage=" + url.QueryEscape(r.Manage)
}

// Link is where a message about r sends the person, on the booking page at
// base (BaseURL): an invitation's own link, or the page opened on the
// person's state and language where the page honours it.
func Link(base string, r Request) string {
	if r.Kind == notify.KindInvitation {
		return base + "/?invite=" + url.QueryEscape(r.Token)
	}
	q := url.Values{}
	if r.State != "" {
		q.Set("state", r.State)
	}
	q.Set("lang", r.Lang)
	return base + "/?" + q.Encode()
}
