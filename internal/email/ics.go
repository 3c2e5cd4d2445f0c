package email

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// myt is Malaysia's time, UTC+8 all year (no daylight saving since 1982).
// A fixed zone rather than Asia/Kuala_Lumpur: the container need not carry
// tzdata, and the calendar file states times in UTC anyway.
var myt = time.FixedZone("MYT", 8*60*60)

// calendar writes an RFC 5545 calendar with the appointment as one event,
// times in UTC so no VTIMEZONE is needed. It reports false when the slot's
// date or time cannot be read, and the e-mail goes without it. A change
// is the same event (the UID) at a higher SEQUENCE, which calendars take
// as replacing it; a cancellation is METHOD:CANCEL of that event.
func (c *Composer) calendar(r Request, method string) ([]byte, bool) {
	start, end, ok := slotTimes(r.Slot.Date, r.Slot.Time)
	if !ok {
		return nil, false
	}
	t := texts[r.Lang]
	desc := fmt.Sprintf("%s: %s\n%s:\n- %s\n- %s\n\n%s",
		t["reference"], r.Reference, t["bring"], t["bring_id"], t["bring_reference"], t["arrive"])
	stamp := r.DecidedAt
	if stamp.IsZero() {
		stamp = start // a stable value: the request said nothing better
	}
	status, seq := "CONFIRMED", ""
	if r.Kind.Cancels() {
		status = "CANCELLED"
	}
	if r.Sequence > 0 {
		seq = "SEQUENCE:" + strconv.Itoa(r.Sequence)
	}
	var b bytes.Buffer
	for _, line := range []string{
		"BEGIN:VCALENDAR",
		"VERSION:2.0",
		"PRODID:-//vaxbook//vaxbook appointment//EN",
		"CALSCALE:GREGORIAN",
		"METHOD:" + method,
		"BEGIN:VEVENT",
		// The reference is unique per booking, so a calendar that gets
		// the file twice updates one event instead of adding another.
		"UID:" + r.Reference + "@" + c.uidHost,
		seq,
		"DTSTAMP:" + icsTime(stamp),
		"DTSTART:" + icsTime(start),
		"DTEND:" + icsTime(end),
		"SUMMARY:" + icsText(t["ics_summary"]+" ("+r.Reference+")"),
		"LOCATION:" + icsText(r.Slot.CenterName+", "+r.Slot.Address),
		"DESCRIPTION:" + icsText(desc),
		"STATUS:" + status,
		"TRANSP:OPAQUE",
		"END:VEVENT",
		"END:VCALENDAR",
	} {
		if line == "" {
			continue // no SEQUENCE for the first version: 0 is the default
		}
		fold(&b, line)
	}
	return b.Bytes(), true
}

// slotTimes reads a slot's "2026-12-01" and "08:00-13:00" in Malaysia time.
func slotTimes(date, span string) (start, end time.Time, ok bool) {
	from, to, found := strings.Cut(span, "-")
	if !found {
		return start, end, false
	}
	var err1, err2 error
	start, err1 = time.ParseInLocation("2006-01-02 15:04", date+" "+strings.TrimSpace(from), myt)
	end, err2 = time.ParseInLocation("2006-01-02 15:04", date+" "+strings.TrimSpace(to), myt)
	if err1 != nil || err2 != nil || !end.After(start) {
		return start, end, false
	}
	return start, end, true
}

func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// icsText escapes a TEXT value (RFC 5545 3.3.11).
var icsText = strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace

// fold writes one content line ending in CRLF, folded so that no physical
// line exceeds 75 octets and no UTF-8 character is split (RFC 5545 3.1).
func fold(b *bytes.Buffer, line string) {
	limit := 75
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n ")
		line = line[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}
