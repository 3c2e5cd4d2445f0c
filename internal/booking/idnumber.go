package booking

import (
	"strings"
	"time"
)

// IC is a parsed Malaysian identity card number (MyKad).
type IC struct {
	// Digits is the number without dashes, the form bookings are keyed by, so
	// that "900101-14-5678" and "900101145678" are the same person.
	Digits string
	// BirthDate is the calendar date the number starts with, at midnight UTC.
	BirthDate time.Time
}

// malaysia is the zone "today" is judged in when refusing future birth dates:
// an IC records a birth in Malaysia, and the servers run in UTC, up to eight
// hours behind, which would refuse a baby registered on the morning it was
// born. A fixed offset needs no tzdata in the container; Malaysia has no DST.
var malaysia = time.FixedZone("MYT", 8*60*60)

const (
	msgIDRequired = "id_number is required"
	msgIDShape    = "id_number must be a Malaysian IC (YYMMDD-PB-###G) or a passport number (6-12 letters and digits)"
	msgICShape    = "id_number must be a Malaysian IC: YYMMDD-PB-###G, or the same 12 digits without dashes"
	msgICDate     = "id_number must start with a real date of birth (YYMMDD)"
	msgICFuture   = "id_number has a date of birth in the future"
)

// NormalizeIDNumber returns a Malaysian IC as its 12 digits, without dashes,
// or a passport number in upper case: the one form under which the worker
// recognises a person who books twice. Surrounding spaces are ignored. The
// error is a *FieldError on "id_number".
func NormalizeIDNumber(s string) (string, error) {
	id, fe := normalizeIDNumberAt(s, time.Now())
	if fe != nil {
		return "", fe
	}
	return id, nil
}

func normalizeIDNumberAt(s string, now time.Time) (string, *FieldError) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", fieldErr("id_number", CodeRequired, msgIDRequired)
	}
	// Anything made only of digits and dashes can only be meant as an IC (a
	// passport needs a letter), so it gets the IC's more precise errors.
	if strings.Trim(t, "0123456789-") == "" {
		ic, fe := parseIC(t, now)
		if fe != nil {
			if fe.Code == CodeInvalid {
				fe.Message = msgIDShape
			}
			return "", fe
		}
		return ic.Digits, nil
	}
	p, ok := normalizePassport(t)
	if !ok {
		return "", fieldErr("id_number", CodeInvalid, msgIDShape)
	}
	return p, nil
}

// ParseIC parses an IC written as "YYMMDD-PB-###G" or as the same 12 digits
// without dashes, and nothing else, judging the date against the current
// time. See ParseICAt.
func ParseIC(s string) (IC, error) {
	return ParseICAt(s, time.Now())
}

// ParseICAt is ParseIC with "now" given, so that tests are not at the mercy
// of the clock. YYMMDD must be a real calendar date no later than today in
// Malaysia; a two-digit year above the current one is taken as the previous
// century, because nobody is born in the future. The place-of-birth digits
// are not checked against the registry's codes, which change. The error is a
// *FieldError on "id_number" with code "invalid" or "invalid_date".
func ParseICAt(s string, now time.Time) (IC, error) {
	ic, fe := parseIC(s, now)
	if fe != nil {
		return IC{}, fe
	}
	return ic, nil
}

// parseIC returns the concrete type so callers can adjust the message
// without a type assertion, and ParseICAt never returns a typed nil.
func parseIC(s string, now time.Time) (IC, *FieldError) {
	digits, ok := icDigits(s)
	if !ok {
		return IC{}, fieldErr("id_number", CodeInvalid, msgICShape)
	}
	yy, mm, dd := twoDigits(digits[0:2]), twoDigits(digits[2:4]), twoDigits(digits[4:6])

	today := now.In(malaysia)
	year := today.Year() - today.Year()%100 + yy
	if yy > today.Year()%100 {
		year -= 100
	}
	if mm < 1 || mm > 12 || dd < 1 || dd > 31 {
		return IC{}, fieldErr("id_number", CodeInvalidDate, msgICDate)
	}
	birth := time.Date(year, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
	// time.Date rolls 29 February of a common year over into March; a date
	// that does not survive the round trip does not exist.
	if birth.Day() != dd || int(birth.Month()) != mm {
		return IC{}, fieldErr("id_number", CodeInvalidDate, msgICDate)
	}
	if birth.After(time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)) {
		return IC{}, fieldErr("id_number", CodeInvalidDate, msgICFuture)
	}
	return IC{Digits: digits, BirthDate: birth}, nil
}

// icDigits returns the 12 digits of s if s has exactly one of the two
// accepted shapes. Dashes elsewhere are refused rather than stripped:
// "9001-01145678" is more likely a typo than an IC.
func icDigits(s string) (string, bool) {
	switch len(s) {
	case 12:
		if allDigits(s) {
			return s, true
		}
	case 14:
		if s[6] == '-' && s[9] == '-' && allDigits(s[0:6]) && allDigits(s[7:9]) && allDigits(s[10:14]) {
			return s[0:6] + s[7:9] + s[10:14], true
		}
	}
	return "", false
}

// normalizePassport accepts 6 to 12 ASCII letters and digits with at least
// one letter, the shape shared by the passports Malaysia sees most; the
// letter requirement keeps a mistyped IC from passing as a passport.
func normalizePassport(s string) (string, bool) {
	if len(s) < 6 || len(s) > 12 {
		return "", false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9':
		default:
			return "", false
		}
	}
	if !letter {
		return "", false
	}
	return strings.ToUpper(s), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func twoDigits(s string) int {
	return int(s[0]-'0')*10 + int(s[1]-'0')
}
