package booking

import "strings"

// Machine codes of a FieldError. The API copies them into the error body, so
// clients may switch on them; they never change meaning once published.
const (
	CodeRequired     = "required"
	CodeTooLong      = "too_long"
	CodeInvalid      = "invalid"
	CodeInvalidDate  = "invalid_date"
	CodeTooMany      = "too_many"
	CodeDuplicate    = "duplicate"
	CodeUnknownField = "unknown_field"
	CodeInvalidType  = "invalid_type"
	CodeInvalidJSON  = "invalid_json"
)

// FieldError names the one field at fault, with a machine code and a human
// sentence in English. Field is the JSON name, or "" when the body as a whole
// is at fault.
type FieldError struct {
	Field   string
	Code    string
	Message string
}

// Error returns the human sentence, which already names the field.
func (e *FieldError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if e.Field == "" {
		return e.Code
	}
	return e.Field + ": " + e.Code
}

// ValidationError holds every field error of a submission, in field order, so
// a form can mark all of them at once; the first is the primary one, the one
// the API names in its single "field".
type ValidationError struct {
	Fields []FieldError
}

// Error joins the sentences of every field error.
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i := range e.Fields {
		msgs[i] = e.Fields[i].Error()
	}
	return "invalid submission: " + strings.Join(msgs, "; ")
}

// Unwrap exposes the field errors in order, so errors.As(err, &fe) with a
// *FieldError finds the primary one without the caller knowing about
// ValidationError.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Fields))
	for i := range e.Fields {
		errs[i] = &e.Fields[i]
	}
	return errs
}

func fieldErr(field, code, msg string) *FieldError {
	return &FieldError{Field: field, Code: code, Message: msg}
}
