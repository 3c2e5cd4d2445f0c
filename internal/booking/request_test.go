package booking

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var requestNow = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)

func validRequest() Request {
	return Request{
		Reference: "ABCDEFGHJK234567", State: "selangor", Name: "Siti Aminah", IDNumber: "900101145678",
		Phone: "+60123456789", Email: "siti@example.com", Preferences: []string{"sel-001", "sel-002"},
		Lang: "ms", Contact: ContactEmail, SubmittedAt: requestNow,
	}
}

// The forged push (item 4) and its relatives: each breaks a rule
// POST /submit enforces, so the worker must refuse it too.
func TestRequestValidate_RefusesWhatSubmitWouldRefuse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, field string
		edit        func(*Request)
	}{
		{"junk id_number", "id_number", func(r *Request) { r.IDNumber = "not-an-ic !!" }},
		{"junk email", "email", func(r *Request) { r.Email = "x" }},
		{"right-to-left override in the name", "name", func(r *Request) { r.Name = "Siti \u202eanimA" }},
		{"control character in the name", "name", func(r *Request) { r.Name = "Siti\x00Aminah" }},
		{"empty name", "name", func(r *Request) { r.Name = "" }},
		{"101-character name", "name", func(r *Request) { r.Name = strings.Repeat("a", 101) }},
		{"IC with an impossible date", "id_number", func(r *Request) { r.IDNumber = "900231145678" }},
		{"phone not E.164", "phone", func(r *Request) { r.Phone = "call me" }},
		{"unknown state shape", "state", func(r *Request) { r.State = "Sel angor" }},
		{"four preferences", "preferences", func(r *Request) { r.Preferences = []string{"a", "b", "c", "d"} }},
		{"repeated preference", "preferences", func(r *Request) { r.Preferences = []string{"a", "a"} }},
		{"unknown lang", "lang", func(r *Request) { r.Lang = "fr" }},
		{"unknown contact", "contact", func(r *Request) { r.Contact = "pigeon" }},
		{"IC with dashes (not normalised)", "id_number", func(r *Request) { r.IDNumber = "900101-14-5678" }},
		{"lower-case passport (not normalised)", "id_number", func(r *Request) { r.IDNumber = "a1234567" }},
		{"local phone (not normalised)", "phone", func(r *Request) { r.Phone = "0123456789" }},
		{"padded name (not normalised)", "name", func(r *Request) { r.Name = " Siti  Aminah " }},
		{"upper-case domain (not normalised)", "email", func(r *Request) { r.Email = "siti@EXAMPLE.com" }},
		{"no reference", "", func(r *Request) { r.Reference = "" }},
		{"no submitted_at", "", func(r *Request) { r.SubmittedAt = time.Time{} }},
	} {
		r := validRequest()
		tc.edit(&r)
		err := r.validateAt(requestNow)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if tc.field != "" {
			if fe, ok := errors.AsType[*FieldError](err); !ok || fe.Field != tc.field {
				t.Errorf("%s: got %v, want a field error on %s", tc.name, err, tc.field)
			}
		}
		if strings.Contains(err.Error(), "not-an-ic") || strings.Contains(err.Error(), "\u202e") {
			t.Errorf("%s: the error quotes the value: %q", tc.name, err)
		}
	}
}

func TestRequestValidate_AcceptsWhatSubmitProducesAndOlderMessages(t *testing.T) {
	t.Parallel()
	if err := validRequest().validateAt(requestNow); err != nil {
		t.Fatalf("valid request: %v", err)
	}
	old := validRequest()
	old.Lang, old.Contact = "", ""
	if err := old.validateAt(requestNow); err != nil {
		t.Errorf("request without lang and contact (queued before they existed): %v", err)
	}
	invited := validRequest()
	invited.Name, invited.Phone, invited.Email, invited.Lang, invited.Contact, invited.Invitation = "", "", "", "", "", "tok"
	if err := invited.validateAt(requestNow); err != nil {
		t.Errorf("request with an invitation and no name or contact (the registration's): %v", err)
	}
	invited.Invitation = " tok"
	if err := invited.validateAt(requestNow); err == nil {
		t.Error("request with an invitation not in the API's trimmed form: accepted, want refused")
	}
	invited.Invitation = ""
	if err := invited.validateAt(requestNow); err == nil {
		t.Error("request without invitation, name or contact: accepted, want refused")
	}
}

func FuzzRequestValidate_AcceptsEverySubmissionValidateProduces(f *testing.F) {
	f.Add("selangor", "Siti Aminah", "900101-14-5678", "+60123456789", "siti@example.com", "sel-001", "en", "both")
	f.Add("johor", "  Jose\u0301\u00a0 bin Ali ", "a1234567", "012-345 6789", " Ali@Example.COM ", "j-1", "", "")
	f.Fuzz(func(t *testing.T, state, name, id, phone, email, pref, lang, contact string) {
		sub := Submission{State: state, Name: name, IDNumber: id, Phone: phone, Email: email,
			Preferences: []string{pref}, Lang: lang, Contact: contact}
		req, err := sub.validateAt(requestNow)
		if err != nil {
			return
		}
		req.Reference, req.SubmittedAt = "ABCDEFGHJK234567", requestNow
		if err := req.validateAt(requestNow); err != nil {
			t.Fatalf("Validate of %+v, produced by Submission.Validate: %v", req, err)
		}
	})
}
