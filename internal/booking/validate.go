package booking

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits of a submission, exported so the booking page and the API's docs
// can quote the same numbers.
const (
	MaxNameLen     = 100 // characters (runes), after trimming and normalising
	MaxStateLen    = 40
	MaxPreferences = 3
	MaxSlotIDLen   = 64
)

// The languages a person can be written to in; the first is the default.
const (
	LangMalay   = "ms"
	LangEnglish = "en"
)

// Validate checks every field of the submission and returns it normalised as
// a Request, with Reference and SubmittedAt left for the API to set. When any
// field is wrong the error is a *ValidationError listing all of them, in the
// order state, name, id_number, phone, email, preferences, lang, contact, so that a
// form can show every mistake at once. With an invitation, name, phone,
// email, lang and contact may be blank (the Request's are then empty); the
// token itself is judged by the API, which holds the secret.
func (s Submission) Validate() (Request, error) {
	return s.validateAt(time.Now())
}

func (s Submission) validateAt(now time.Time) (Request, error) {
	return s.validate(now, true)
}

// Validate checks every field of the registration by the rules
// Submission.Validate holds the same fields to, with the same errors, and
// returns the person normalised as a Request with no preferences and no
// Reference or SubmittedAt: what a registration carries besides is the
// API's to add.
func (f RegistrationForm) Validate() (Request, error) {
	return f.validateAt(time.Now())
}

func (f RegistrationForm) validateAt(now time.Time) (Request, error) {
	return Submission{
		State: f.State, Name: f.Name, IDNumber: f.IDNumber, Phone: f.Phone,
		Email: f.Email, Lang: f.Lang, Contact: f.Contact,
	}.validate(now, false)
}

// validate is both validations; a registration has no preferences to check.
func (s Submission) validate(now time.Time, withPreferences bool) (Request, error) {
	var (
		req  Request
		errs []FieldError
	)
	check := func(fe *FieldError) {
		if fe != nil {
			errs = append(errs, *fe)
		}
	}

	// With an invitation the registration already holds the person's
	// name, contact and language, so a field left blank is the worker's to
	// fill (no default applies); one that is given is held to the usual
	// rule.
	req.Invitation = strings.TrimSpace(s.Invitation)
	invited := req.Invitation != ""

	var fe *FieldError
	req.State, fe = validateState(s.State)
	check(fe)
	req.Name, fe = unlessLeftOut(invited, s.Name, normalizeName)
	check(fe)
	req.IDNumber, fe = normalizeIDNumberAt(s.IDNumber, now)
	check(fe)
	req.Phone, fe = unlessLeftOut(invited, s.Phone, normalizePhone)
	check(fe)
	req.Email, fe = unlessLeftOut(invited, s.Email, validateEmail)
	check(fe)
	if withPreferences {
		req.Preferences, fe = validatePreferences(s.Preferences)
		check(fe)
	}
	req.Lang, fe = unlessLeftOut(invited, s.Lang, validateLang)
	check(fe)
	req.Contact, fe = unlessLeftOut(invited, s.Contact, validateContact)
	check(fe)
	// A number is held to what SMS needs only when SMS is chosen: the
	// contract's E.164 rule stays as it was for everyone else.
	if req.Contact.BySMS() && req.Phone != "" {
		req.Phone, fe = textablePhone(req.Phone)
		check(fe)
	}

	if len(errs) > 0 {
		return Request{}, &ValidationError{Fields: errs}
	}
	return req, nil
}

// unlessLeftOut applies rule to v, except that a blank v is left empty when
// the submission is invited (the registration fills it).
func unlessLeftOut[T any](invited bool, v string, rule func(string) (T, *FieldError)) (T, *FieldError) {
	if invited && strings.TrimSpace(v) == "" {
		var zero T
		return zero, nil
	}
	return rule(v)
}

// validateState keeps state codes to the shape the listing keys use, so a
// code can go into a Redis key or a URL without escaping.
// Case and surrounding spaces are forgiven, as /listppv forgives them.
func validateState(s string) (string, *FieldError) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return "", fieldErr("state", CodeRequired, "state is required")
	case len(s) > MaxStateLen:
		return "", fieldErr("state", CodeTooLong, fmt.Sprintf("state must be at most %d characters", MaxStateLen))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "", fieldErr("state", CodeInvalid, "state must be a state code such as selangor")
		}
	}
	return s, nil
}

// normalizeName trims the name, composes it (NFC, so that "é" typed two
// ways is one character and counts once against the limit) and folds each
// run of spaces into one. Control characters are refused rather than
// removed, and so are bidirectional controls, because the name is printed
// for centre staff and an override could make it read as someone else's.
func normalizeName(s string) (string, *FieldError) {
	const invalid = "name must not contain control characters"
	if !utf8.ValidString(s) {
		return "", fieldErr("name", CodeInvalid, "name must be valid UTF-8 text")
	}
	t := norm.NFC.String(strings.TrimSpace(s))
	if t == "" {
		return "", fieldErr("name", CodeRequired, "name is required")
	}
	var b strings.Builder
	space := false
	for _, r := range t {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r):
			return "", fieldErr("name", CodeInvalid, invalid)
		case unicode.IsSpace(r):
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	name := b.String()
	if utf8.RuneCountInString(name) > MaxNameLen {
		return "", fieldErr("name", CodeTooLong, fmt.Sprintf("name must be at most %d characters", MaxNameLen))
	}
	return name, nil
}

func validateEmail(s string) (string, *FieldError) {
	email, code := normalizeEmail(s)
	switch code {
	case "":
		return email, nil
	case CodeRequired:
		return "", fieldErr("email", code, msgEmailRequired)
	case CodeTooLong:
		return "", fieldErr("email", code, msgEmailTooLong)
	default:
		return "", fieldErr("email", code, msgEmailInvalid)
	}
}

// validatePreferences keeps the order, which is the person's ranking. Slot
// ids are checked for shape only; whether they exist in the state is for the
// API, which holds the listing.
func validatePreferences(prefs []string) ([]string, *FieldError) {
	switch {
	case len(prefs) == 0:
		return nil, fieldErr("preferences", CodeRequired, fmt.Sprintf("preferences must list 1 to %d slot ids", MaxPreferences))
	case len(prefs) > MaxPreferences:
		return nil, fieldErr("preferences", CodeTooMany, fmt.Sprintf("preferences must list at most %d slot ids", MaxPreferences))
	}
	out := make([]string, 0, len(prefs))
	for i, p := range prefs {
		if !validSlotID(p) {
			return nil, fieldErr("preferences", CodeInvalid, fmt.Sprintf(
				"preferences entry %d must be a slot id of 1 to %d letters, digits, '.', '_', ':' or '-'", i+1, MaxSlotIDLen))
		}
		for _, q := range out {
			if q == p {
				return nil, fieldErr("preferences", CodeDuplicate, fmt.Sprintf(
					"preferences entry %d repeats an earlier slot id", i+1))
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func validSlotID(s string) bool {
	if s == "" || len(s) > MaxSlotIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func validateLang(s string) (string, *FieldError) {
	switch s {
	case "":
		return LangMalay, nil
	case LangMalay, LangEnglish:
		return s, nil
	}
	return "", fieldErr("lang", CodeInvalid, `lang must be "ms" or "en"`)
}

func validateContact(s string) (Contact, *FieldError) {
	switch c := Contact(s); c {
	case "":
		return ContactEmail, nil
	case ContactEmail, ContactSMS, ContactBoth:
		return c, nil
	}
	return "", fieldErr("contact", CodeInvalid, `contact must be "email", "sms" or "both"`)
}
