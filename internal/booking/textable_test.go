package booking

import "testing"

func TestValidate_SMSNeedsAMalaysianMobileNumberAndEmailDoesNot(t *testing.T) {
	base := Submission{State: "selangor", Name: "Siti", IDNumber: "900101-14-5678", Email: "siti@example.com",
		Preferences: []string{"sel-001-2026-12-01-am"}}
	for _, c := range []struct {
		phone, contact string
		ok             bool
		want           string
	}{
		{"+60123456789", "sms", true, "+60123456789"},
		{"012-345 6789", "both", true, "+60123456789"},
		{"+601123456789", "sms", true, "+601123456789"}, // 011 numbers have eight digits after the prefix
		{"+60312345678", "sms", false, ""},              // a Kuala Lumpur landline
		{"+6012345", "sms", false, ""},                  // too short for the plan, E.164 all the same
		{"+6591234567", "sms", false, ""},               // a Singapore mobile: the sender is Malaysia's
		{"+60312345678", "email", true, "+60312345678"}, // e-mail only: the contract's E.164 rule, as before
		{"+6591234567", "", true, "+6591234567"},
	} {
		s := base
		s.Phone, s.Contact = c.phone, c.contact
		req, err := s.Validate()
		if c.ok != (err == nil) {
			t.Errorf("%s with contact %q: err %v, want ok %v", c.phone, c.contact, err, c.ok)
			continue
		}
		if err != nil {
			ve, _ := err.(*ValidationError)
			if ve == nil || len(ve.Fields) != 1 || ve.Fields[0].Field != "phone" {
				t.Errorf("%s: %v, want one error naming phone", c.phone, err)
			}
			continue
		}
		if req.Phone != c.want {
			t.Errorf("%s with contact %q: phone %q, want %q", c.phone, c.contact, req.Phone, c.want)
		}
		if err := req.Validate(); err != nil && req.Reference != "" {
			t.Errorf("%s: the worker's check refuses what the API accepted: %v", c.phone, err)
		}
	}
}
