// Package sms renders message requests (email.Request, the one request
// every channel reads) into SMS: short texts in the person's language, in
// GSM-7 so each costs one segment where it can and two at most, with the
// link where the message has one. No SMS carries an ID number: the request
// never holds one. Sending is a provider adapter's job (internal/twilio)
// or, in `vaxbook dev`, the local outbox's.
package sms

import (
	"fmt"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
)

// Sender hands an SMS to whoever delivers it.
type Sender = notify.Sender[notify.Text]

// MaxSegments is the most an SMS of ours may cost; Compose shortens the
// centre's name, the one part of unbounded length, to stay within it.
const MaxSegments = 2

// Composer renders requests into SMS whose links lead to one booking page.
type Composer struct{ base string }

// NewComposer checks publicBaseURL (PUBLIC_BASE_URL).
func NewComposer(publicBaseURL string) (*Composer, error) {
	base, err := email.BaseURL(publicBaseURL)
	if err != nil {
		return nil, err
	}
	return &Composer{base: base}, nil
}

// Compose renders r, which must be a valid request on the SMS channel.
func (c *Composer) Compose(r email.Request) (notify.Text, error) {
	if err := r.Validate(); err != nil {
		return notify.Text{}, fmt.Errorf("sms request %s: %w", r.Reference, err)
	}
	if r.OnChannel() != notify.ChannelSMS {
		return notify.Text{}, fmt.Errorf("sms request %s: on channel %s", r.Reference, r.OnChannel())
	}
	format, ok := texts[r.Kind][r.Lang]
	if !ok {
		return notify.Text{}, fmt.Errorf("sms request %s: no text for %s in %q", r.Reference, r.Kind, r.Lang)
	}
	fill := []string{"{ref}", r.Reference, "{link}", email.Link(c.base, r)}
	manage := ""
	if link := email.ManageLink(c.base, r); link != "" {
		manage = manageLink[r.Lang] + link
	}
	fill = append(fill, "{manage}", manage)
	if r.ExpiresAt != nil {
		fill = append(fill, "{expires}", shortDateTime(r.Lang, *r.ExpiresAt))
	}
	centre := ""
	if r.Slot != nil {
		fill = append(fill, "{date}", shortDate(r.Lang, r.Slot.Date), "{time}", Fold(r.Slot.Time))
		centre = Fold(strings.Join(strings.Fields(r.Slot.CenterName), " "))
	}
	body := render(format, fill, centre)
	// A long centre name is the one thing that can push a text past its
	// budget: cut it, word by word, rather than send three segments.
	for Segments(body) > MaxSegments && centre != "" {
		rs := []rune(centre)
		i := strings.LastIndexByte(centre, ' ')
		if i < 0 {
			i = len(string(rs[:len(rs)/2]))
		}
		centre = strings.TrimRight(centre[:i], " ,")
		body = render(format, fill, centre+"...")
	}
	return notify.Text{Reference: r.Reference, Kind: r.Kind, To: r.Phone, Body: body, Segments: Segments(body)}, nil
}

func render(format string, fill []string, centre string) string {
	return strings.NewReplacer(append(fill, "{centre}", centre)...).Replace(format)
}

// myt is Malaysia's time, UTC+8 all year.
var myt = time.FixedZone("MYT", 8*60*60)

// shortDate writes a slot's date (YYYY-MM-DD) as "1 Dis 2026"; a date it
// cannot read is shown as it is.
func shortDate(lang, date string) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return Fold(date)
	}
	return fmt.Sprintf("%d %s %d", d.Day(), months[lang][d.Month()-1], d.Year())
}

// shortDateTime writes an instant as "3 Dis 2026 16:00", Malaysia time.
func shortDateTime(lang string, t time.Time) string {
	t = t.In(myt)
	return fmt.Sprintf("%s %02d:%02d", shortDate(lang, t.Format(time.DateOnly)), t.Hour(), t.Minute())
}
