package booking

import (
	"errors"
	"slices"
	"time"
)

// Validate holds a queued message to the rules its submission passed: the
// worker runs it on every message, because a push that did not come from
// our API (or came from an API with a bug) must not book. It accepts exactly
// what Submission.Validate produces, with the Reference and SubmittedAt the
// API adds; lang and contact may be empty, as in messages queued before
// they existed, and mean their defaults. The error is a *ValidationError
// when a field breaks a submission rule, and never quotes a value: it is
// kept in rejected_messages and logged.
func (r Request) Validate() error {
	return r.validateAt(time.Now())
}

func (r Request) validateAt(now time.Time) error {
	switch {
	case !ValidReference(r.Reference):
		return errors.New("reference missing or malformed")
	case r.SubmittedAt.IsZero():
		return errors.New("submitted_at missing")
	}
	sub := Submission{
		State: r.State, Name: r.Name, IDNumber: r.IDNumber, Phone: r.Phone, Email: r.Email,
		Preferences: r.Preferences, Lang: r.Lang, Contact: string(r.Contact),
		Invitation: r.Invitation,
	}
	norm, err := sub.validateAt(now)
	if err != nil {
		return err
	}
	// Well-formed is not enough: the API publishes the normalised form, and
	// the one-booking-per-person rule keys on it, so "900101-14-5678" in a
	// message would be a second person beside "900101145678".
	var field string
	switch {
	case norm.State != r.State:
		field = "state"
	case norm.Name != r.Name:
		field = "name"
	case norm.IDNumber != r.IDNumber:
		field = "id_number"
	case norm.Phone != r.Phone:
		field = "phone"
	case norm.Email != r.Email:
		field = "email"
	case !slices.Equal(norm.Preferences, r.Preferences):
		field = "preferences"
	case r.Lang != "" && norm.Lang != r.Lang:
		field = "lang"
	case r.Contact != "" && norm.Contact != r.Contact:
		field = "contact"
	case norm.Invitation != r.Invitation:
		field = "invitation"
	default:
		return nil
	}
	return &ValidationError{Fields: []FieldError{{Field: field, Code: CodeInvalid, Message: field + " is not in the normalised form the API publishes"}}}
}
