package booking

import (
	"net/mail"

	"github.com/nyaruka/phonenumbers"
	"strings"
	"unicode"
)

const (
	msgPhoneRequired = "phone is required"
	msgPhoneInvalid  = "phone must be an international number such as +60123456789, or a Malaysian number starting with 0"
	msgEmailRequired = "email is required"
	msgEmailTooLong  = "email must be at most 254 characters"
	msgEmailInvalid  = "email must be an address such as siti@example.com"
)

// maxEmailLen is the longest address SMTP can carry (RFC 5321 path limit
// less the angle brackets).
const maxEmailLen = 254

// NormalizePhone returns the number in E.164 (+ and 8 to 15 digits, no
// leading 0), the form SMS providers take. Spaces and dashes are dropped,
// since people write numbers the way they read them; a local Malaysian
// number starting with 0 becomes +60 and the rest. The error is a
// *FieldError on "phone".
func NormalizePhone(s string) (string, error) {
	phone, fe := normalizePhone(s)
	if fe != nil {
		return "", fe
	}
	return phone, nil
}

func normalizePhone(s string) (string, *FieldError) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", fieldErr("phone", CodeRequired, msgPhoneRequired)
	}
	t = strings.NewReplacer(" ", "", "-", "").Replace(t)
	if strings.HasPrefix(t, "0") {
		// "00" is the international dialling prefix, not a local number:
		// "0060…" would otherwise become the nonsense "+60060…".
		if strings.HasPrefix(t, "00") {
			return "", fieldErr("phone", CodeInvalid, msgPhoneInvalid)
		}
		t = "+60" + t[1:]
	}
	if !isE164(t) {
		return "", fieldErr("phone", CodeInvalid, msgPhoneInvalid)
	}
	return t, nil
}

const msgPhoneNotMobile = "phone must be a Malaysian mobile number such as +60123456789 to receive SMS"

// textablePhone checks an E.164 number against the numbering plan, with a
// real phone-number library, for a person who chose SMS: it must be a
// Malaysian mobile number (the sender is registered for Malaysia), so a
// number Twilio would refuse, or that no phone answers, is refused before
// anything is queued. It returns the number as the library formats it.
func textablePhone(e164 string) (string, *FieldError) {
	n, err := phonenumbers.Parse(e164, "MY")
	if err != nil || n.GetCountryCode() != 60 || !phonenumbers.IsValidNumber(n) {
		return "", fieldErr("phone", CodeInvalid, msgPhoneNotMobile)
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return phonenumbers.Format(n, phonenumbers.E164), nil
	}
	return "", fieldErr("phone", CodeInvalid, msgPhoneNotMobile)
}

// isE164 reports whether s matches ^\+[1-9][0-9]{7,14}$.
func isE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	return allDigits(s[1:])
}

// ValidEmail reports whether s, once trimmed, is a bare address that
// net/mail accepts as it stands (no display name, no angle brackets, nothing
// that parsing would rewrite) with a dotted domain. Anything looser would
// queue confirmations that can never be delivered.
func ValidEmail(s string) bool {
	_, code := normalizeEmail(s)
	return code == ""
}

// normalizeEmail returns the trimmed address with its domain lower-cased
// (domains are case-insensitive; local parts, strictly, are not), or the code
// of the first rule it breaks.
func normalizeEmail(s string) (string, string) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", CodeRequired
	}
	if len(t) > maxEmailLen {
		return "", CodeTooLong
	}
	a, err := mail.ParseAddress(t)
	if err != nil || a.Name != "" || a.Address != t {
		return "", CodeInvalid
	}
	at := strings.LastIndexByte(t, '@')
	if at < 0 {
		return "", CodeInvalid
	}
	domain := t[at+1:]
	if !strings.Contains(domain, ".") || strings.IndexFunc(domain, unicode.IsSpace) >= 0 {
		return "", CodeInvalid
	}
	// net/mail takes any UTF-8 as atext (RFC 6532), invisible format
	// characters such as U+200B included; an address with one looks right on
	// screen and bounces.
	if strings.IndexFunc(t, func(r rune) bool { return !unicode.IsGraphic(r) }) >= 0 {
		return "", CodeInvalid
	}
	return t[:at+1] + strings.ToLower(domain), ""
}
