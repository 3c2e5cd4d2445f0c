package booking

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// DecodeSubmission reads exactly one JSON object from r as a Submission.
//
// It is stricter than encoding/json on purpose: field names must match
// exactly (encoding/json would let "ID_Number" set id_number) and appear at
// most once (encoding/json keeps the last, so two parsers could disagree on
// who is booking). A malformed body, an empty one, or anything after the
// object is a *FieldError with code "invalid_json" and no field; otherwise an
// unknown field is "unknown_field", a repeated one "duplicate" and a value of
// the wrong JSON type "invalid_type", each naming the field. JSON null counts
// as an absent field. The whole body is read before a field error is
// reported, so a body over the caller's limit is reported as such: an
// *http.MaxBytesError from r comes back unchanged, for a 413. Other read
// failures come back wrapped.
func DecodeSubmission(r io.Reader) (Submission, error) {
	var sub Submission
	if err := decodeStrict(r, "a submission", func(key string) any { return submissionField(&sub, key) }); err != nil {
		return Submission{}, err
	}
	return sub, nil
}

// DecodeRegistration reads exactly one JSON object from r as a
// RegistrationForm, as strictly as DecodeSubmission and with the same
// errors: a registration is a submission without preferences, so
// "preferences" is an unknown field here.
func DecodeRegistration(r io.Reader) (RegistrationForm, error) {
	var reg RegistrationForm
	if err := decodeStrict(r, "a registration", func(key string) any { return registrationField(&reg, key) }); err != nil {
		return RegistrationForm{}, err
	}
	return reg, nil
}

// decodeStrict is the decoder behind DecodeSubmission and
// DecodeRegistration: field returns the pointer the JSON name key decodes
// into, or nil for a name that is not a field of what (the body's kind, as
// error messages name it).
func decodeStrict(r io.Reader, what string, field func(key string) any) error {
	src := &readErrReader{r: r}
	dec := json.NewDecoder(src)
	// Numbers stay text: as float64, a Token such as 1E1000 would fail with
	// a conversion error rather than a syntax one.
	dec.UseNumber()

	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF && src.err == nil {
			return fieldErr("", CodeInvalidJSON, "request body is empty")
		}
		return src.classify()
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fieldErr("", CodeInvalidJSON, "request body must be a JSON object")
	}

	var (
		first *FieldError // the first field at fault, reported once the body is known to be well-formed
		seen  = make(map[string]bool)
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return src.classify()
		}
		key, ok := tok.(string)
		if !ok {
			return fieldErr("", CodeInvalidJSON, "request body is not valid JSON")
		}
		target := field(key)
		switch {
		case target == nil:
			first = firstOf(first, fieldErr(key, CodeUnknownField,
				fmt.Sprintf("%.64q is not a field of %s", key, what)))
		case seen[key]:
			first = firstOf(first, fieldErr(key, CodeDuplicate, key+" appears more than once"))
			target = nil
		}
		seen[key] = true
		if target == nil {
			var skip json.RawMessage
			target = &skip
		}
		if err := dec.Decode(target); err != nil {
			if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && src.err == nil {
				first = firstOf(first, fieldErr(key, CodeInvalidType, typeMessage(key, te)))
				continue
			}
			// An object field's own strict decoder (Proof) names its fault.
			if fe, ok := errors.AsType[*FieldError](err); ok && src.err == nil {
				first = firstOf(first, fe)
				continue
			}
			return src.classify()
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return src.classify()
	}
	if _, err := dec.Token(); err != io.EOF || src.err != nil {
		if err != nil {
			return src.classify()
		}
		return fieldErr("", CodeInvalidJSON, "request body must hold one JSON object and nothing after it")
	}
	if first != nil {
		return first
	}
	return nil
}

// submissionField returns a pointer to the field of sub that the JSON name
// key decodes into, or nil when there is none. Spelled out rather than read
// from the struct tags so that matching is exact.
func submissionField(sub *Submission, key string) any {
	switch key {
	case "state":
		return &sub.State
	case "name":
		return &sub.Name
	case "id_number":
		return &sub.IDNumber
	case "phone":
		return &sub.Phone
	case "email":
		return &sub.Email
	case "preferences":
		return &sub.Preferences
	case "lang":
		return &sub.Lang
	case "contact":
		return &sub.Contact
	case "captcha_token":
		return &sub.CaptchaToken
	case "invitation":
		return &sub.Invitation
	case "proof":
		return &sub.Proof
	}
	return nil
}

// registrationField is submissionField for a registration.
func registrationField(reg *RegistrationForm, key string) any {
	switch key {
	case "state":
		return &reg.State
	case "name":
		return &reg.Name
	case "id_number":
		return &reg.IDNumber
	case "phone":
		return &reg.Phone
	case "email":
		return &reg.Email
	case "lang":
		return &reg.Lang
	case "contact":
		return &reg.Contact
	case "captcha_token":
		return &reg.CaptchaToken
	case "proof":
		return &reg.Proof
	}
	return nil
}

func typeMessage(key string, te *json.UnmarshalTypeError) string {
	want := "a string"
	switch key {
	case "preferences":
		want = "an array of strings"
	case "proof":
		want = `an object {"challenge", "code"}`
	}
	return fmt.Sprintf("%s must be %s, not %s", key, want, te.Value)
}

func firstOf(first, fe *FieldError) *FieldError {
	if first != nil {
		return first
	}
	return fe
}

// readErrReader remembers the first failure of the underlying reader, so a
// decoding error can be blamed on the body (the client) or on reading it
// (the limit or the connection) without guessing from encoding/json's error
// types, which are not a closed set.
type readErrReader struct {
	r   io.Reader
	err error // first error other than io.EOF
}

func (rr *readErrReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && err != io.EOF && rr.err == nil {
		rr.err = err
	}
	return n, err
}

// classify gives the error decodeStrict returns for a decoding failure:
// the caller's body limit unchanged, any other read failure wrapped, and
// everything else the client's malformed JSON.
func (rr *readErrReader) classify() error {
	if rr.err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](rr.err); ok {
			return rr.err
		}
		return fmt.Errorf("read submission: %w", rr.err)
	}
	return fieldErr("", CodeInvalidJSON, "request body is not valid JSON")
}
