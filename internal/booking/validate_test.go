package booking_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// goodSubmission is the contract's example body, valid as it stands.
func goodSubmission() booking.Submission {
	return booking.Submission{
		State:       "selangor",
		Name:        "Siti Aminah",
		IDNumber:    "900101-14-5678",
		Phone:       "+60123456789",
		Email:       "siti@example.com",
		Preferences: []string{"sel-001-2026-12-01-am", "sel-002-2026-12-02-pm"},
	}
}

func TestValidate_NormalisesAValidSubmission(t *testing.T) {
	t.Parallel()
	sub := booking.Submission{
		State:        " Kuala-Lumpur ",
		Name:         "  Jose\u0301   bin\u00a0Ali \n",
		IDNumber:     " 900101-14-5678 ",
		Phone:        "012-345 6789",
		Email:        " Siti@Example.COM ",
		Preferences:  []string{"kl-9", "kl-1", "kl-5"},
		Lang:         "en",
		Contact:      "both",
		CaptchaToken: "tok",
	}
	got, err := sub.Validate()
	if err != nil {
		t.Fatalf("Validate() error = %v, want nil", err)
	}
	want := booking.Request{
		State:       "kuala-lumpur",
		Name:        "José bin Ali",
		IDNumber:    "900101145678",
		Phone:       "+60123456789",
		Email:       "Siti@example.com",
		Preferences: []string{"kl-9", "kl-1", "kl-5"},
		Lang:        "en",
		Contact:     booking.ContactBoth,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Validate() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestValidate_DefaultsLangToMalay(t *testing.T) {
	t.Parallel()
	got, err := goodSubmission().Validate()
	if err != nil {
		t.Fatalf("Validate() error = %v, want nil", err)
	}
	if got.Lang != "ms" {
		t.Errorf("Validate().Lang = %q, want %q", got.Lang, "ms")
	}
	if got.Contact != booking.ContactEmail {
		t.Errorf("Validate().Contact = %q, want %q", got.Contact, booking.ContactEmail)
	}
}

func TestValidate_WithAnInvitationNameContactAndLangMayBeLeftOut(t *testing.T) {
	t.Parallel()
	sub := booking.Submission{
		State: "selangor", IDNumber: "900101-14-5678", Preferences: []string{"sel-001"},
		Phone: "  ", Invitation: " tok ",
	}
	got, err := sub.Validate()
	if err != nil {
		t.Fatalf("Validate() error = %v, want nil", err)
	}
	want := booking.Request{
		State: "selangor", IDNumber: "900101145678", Preferences: []string{"sel-001"},
		Invitation: "tok",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Validate() =\n%+v\nwant\n%+v", got, want)
	}

	// Without the invitation the same body misses three required fields.
	sub.Invitation = ""
	_, err = sub.Validate()
	ve, ok := errors.AsType[*booking.ValidationError](err)
	if !ok {
		t.Fatalf("Validate() without invitation error = %v, want a *ValidationError", err)
	}
	var fields []string
	for _, fe := range ve.Fields {
		fields = append(fields, fe.Field+" "+fe.Code)
	}
	if got, want := strings.Join(fields, ", "), "name required, phone required, email required"; got != want {
		t.Errorf("Validate() without invitation fields = %s, want %s", got, want)
	}
}

func TestValidate_WithAnInvitationGivenFieldsKeepTheirRules(t *testing.T) {
	t.Parallel()
	sub := goodSubmission()
	sub.Invitation = "tok"
	sub.Email = "not-an-address"
	sub.IDNumber = ""
	_, err := sub.Validate()
	ve, ok := errors.AsType[*booking.ValidationError](err)
	if !ok || len(ve.Fields) != 2 || ve.Fields[0].Field != "id_number" || ve.Fields[1].Field != "email" {
		t.Fatalf("Validate() error = %v, want id_number then email at fault", err)
	}

	sub = goodSubmission()
	sub.Invitation, sub.Lang = "tok", "fr"
	_, err = sub.Validate()
	if ve, ok := errors.AsType[*booking.ValidationError](err); !ok || len(ve.Fields) != 1 || ve.Fields[0].Field != "lang" {
		t.Fatalf("Validate() error = %v, want lang at fault", err)
	}

	sub = goodSubmission()
	sub.Invitation = "tok"
	got, err := sub.Validate()
	if err != nil || got.Name != "Siti Aminah" || got.Email != "siti@example.com" || got.Invitation != "tok" {
		t.Errorf("Validate() = %+v, %v; want the given name and e-mail kept with the invitation", got, err)
	}
}

func TestValidate_DoesNotShareThePreferencesSlice(t *testing.T) {
	t.Parallel()
	sub := goodSubmission()
	got, err := sub.Validate()
	if err != nil {
		t.Fatalf("Validate() error = %v, want nil", err)
	}
	sub.Preferences[0] = "changed"
	if got.Preferences[0] == "changed" {
		t.Errorf("Request.Preferences changed with the Submission's")
	}
}

func TestValidate_AppliesEachFieldRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		edit      func(*booking.Submission)
		wantField string // "" when the submission must be accepted
		wantCode  string
	}{
		{"state missing", func(s *booking.Submission) { s.State = "" }, "state", booking.CodeRequired},
		{"contact sms", func(s *booking.Submission) { s.Contact = "sms" }, "", ""},
		{"contact both", func(s *booking.Submission) { s.Contact = "both" }, "", ""},
		{"contact in capitals", func(s *booking.Submission) { s.Contact = "EMAIL" }, "contact", booking.CodeInvalid},
		{"contact unknown", func(s *booking.Submission) { s.Contact = "fax" }, "contact", booking.CodeInvalid},
		{"state with space", func(s *booking.Submission) { s.State = "kuala lumpur" }, "state", booking.CodeInvalid},
		{"state with underscore", func(s *booking.Submission) { s.State = "kuala_lumpur" }, "state", booking.CodeInvalid},
		{"state 41 chars", func(s *booking.Submission) { s.State = strings.Repeat("a", 41) }, "state", booking.CodeTooLong},
		{"state 40 chars", func(s *booking.Submission) { s.State = strings.Repeat("a", 40) }, "", ""},
		{"state with digit and dash", func(s *booking.Submission) { s.State = "w1-kl" }, "", ""},

		{"name missing", func(s *booking.Submission) { s.Name = "" }, "name", booking.CodeRequired},
		{"name blank", func(s *booking.Submission) { s.Name = " \t\n " }, "name", booking.CodeRequired},
		{"name one char", func(s *booking.Submission) { s.Name = "A" }, "", ""},
		{"name 100 chars", func(s *booking.Submission) { s.Name = strings.Repeat("é", 100) }, "", ""},
		{"name 101 chars", func(s *booking.Submission) { s.Name = strings.Repeat("é", 101) }, "name", booking.CodeTooLong},
		{"name 100 chars once composed", func(s *booking.Submission) { s.Name = strings.Repeat("e\u0301", 100) }, "", ""},
		{"name 100 chars with padding", func(s *booking.Submission) { s.Name = "  " + strings.Repeat("x", 100) + "  " }, "", ""},
		{"name Tamil", func(s *booking.Submission) {
			s.Name = "முருகன் a/l சுப்பிரமணியம்"
		}, "", ""},
		{"name Chinese", func(s *booking.Submission) { s.Name = "陈美玲" }, "", ""},
		{"name with NUL", func(s *booking.Submission) { s.Name = "Siti\x00" }, "name", booking.CodeInvalid},
		{"name with newline", func(s *booking.Submission) { s.Name = "Siti\nAminah" }, "name", booking.CodeInvalid},
		{"name with tab", func(s *booking.Submission) { s.Name = "Siti\tAminah" }, "name", booking.CodeInvalid},
		{"name with DEL", func(s *booking.Submission) { s.Name = "Siti\x7f" }, "name", booking.CodeInvalid},
		{"name with C1 control", func(s *booking.Submission) { s.Name = "Siti\u0085Aminah" }, "name", booking.CodeInvalid},
		{"name with bidi override", func(s *booking.Submission) { s.Name = "Siti \u202eanimA" }, "name", booking.CodeInvalid},
		{"name not UTF-8", func(s *booking.Submission) { s.Name = "Siti \xff" }, "name", booking.CodeInvalid},

		{"id_number missing", func(s *booking.Submission) { s.IDNumber = "" }, "id_number", booking.CodeRequired},
		{"id_number not a date", func(s *booking.Submission) { s.IDNumber = "010229-01-1234" }, "id_number", booking.CodeInvalidDate},
		{"id_number leap day", func(s *booking.Submission) { s.IDNumber = "000229-01-1234" }, "", ""},
		{"id_number passport", func(s *booking.Submission) { s.IDNumber = "A1234567" }, "", ""},
		{"id_number passport without letter", func(s *booking.Submission) { s.IDNumber = "123456789" }, "id_number", booking.CodeInvalid},
		{"id_number passport too short", func(s *booking.Submission) { s.IDNumber = "AB12" }, "id_number", booking.CodeInvalid},

		{"phone missing", func(s *booking.Submission) { s.Phone = "" }, "phone", booking.CodeRequired},
		{"phone local", func(s *booking.Submission) { s.Phone = "012-345 6789" }, "", ""},
		{"phone too short", func(s *booking.Submission) { s.Phone = "12345" }, "phone", booking.CodeInvalid},
		{"phone +0", func(s *booking.Submission) { s.Phone = "+0123" }, "phone", booking.CodeInvalid},

		{"email missing", func(s *booking.Submission) { s.Email = "" }, "email", booking.CodeRequired},
		{"email undotted domain", func(s *booking.Submission) { s.Email = "a@b" }, "email", booking.CodeInvalid},
		{"email with display name", func(s *booking.Submission) { s.Email = "Siti <s@x.com>" }, "email", booking.CodeInvalid},
		{"email too long", func(s *booking.Submission) { s.Email = strings.Repeat("a", 243) + "@example.com" }, "email", booking.CodeTooLong},

		{"preferences missing", func(s *booking.Submission) { s.Preferences = nil }, "preferences", booking.CodeRequired},
		{"preferences empty", func(s *booking.Submission) { s.Preferences = []string{} }, "preferences", booking.CodeRequired},
		{"preferences one", func(s *booking.Submission) { s.Preferences = []string{"a"} }, "", ""},
		{"preferences three", func(s *booking.Submission) { s.Preferences = []string{"a", "b", "c"} }, "", ""},
		{"preferences four", func(s *booking.Submission) { s.Preferences = []string{"a", "b", "c", "d"} }, "preferences", booking.CodeTooMany},
		{"preferences repeated", func(s *booking.Submission) { s.Preferences = []string{"a", "b", "a"} }, "preferences", booking.CodeDuplicate},
		{"preferences empty id", func(s *booking.Submission) { s.Preferences = []string{"a", ""} }, "preferences", booking.CodeInvalid},
		{"preferences id with space", func(s *booking.Submission) { s.Preferences = []string{"sel 001"} }, "preferences", booking.CodeInvalid},
		{"preferences id with slash", func(s *booking.Submission) { s.Preferences = []string{"sel/001"} }, "preferences", booking.CodeInvalid},
		{"preferences id all allowed punctuation", func(s *booking.Submission) { s.Preferences = []string{"Sel_1.a:b-c"} }, "", ""},
		{"preferences id 64 chars", func(s *booking.Submission) { s.Preferences = []string{strings.Repeat("x", 64)} }, "", ""},
		{"preferences id 65 chars", func(s *booking.Submission) { s.Preferences = []string{strings.Repeat("x", 65)} }, "preferences", booking.CodeInvalid},
		{"preferences differ only in case", func(s *booking.Submission) { s.Preferences = []string{"a", "A"} }, "", ""},

		{"lang ms", func(s *booking.Submission) { s.Lang = "ms" }, "", ""},
		{"lang en", func(s *booking.Submission) { s.Lang = "en" }, "", ""},
		{"lang upper-case", func(s *booking.Submission) { s.Lang = "EN" }, "lang", booking.CodeInvalid},
		{"lang other", func(s *booking.Submission) { s.Lang = "fr" }, "lang", booking.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sub := goodSubmission()
			tt.edit(&sub)
			_, err := sub.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() error = %v, want nil", err)
				}
				return
			}
			ve, ok := errors.AsType[*booking.ValidationError](err)
			if !ok {
				t.Fatalf("Validate() error = %v (%T), want *booking.ValidationError", err, err)
			}
			if len(ve.Fields) != 1 {
				t.Fatalf("Validate() field errors = %+v, want exactly one", ve.Fields)
			}
			got := ve.Fields[0]
			if got.Field != tt.wantField || got.Code != tt.wantCode {
				t.Errorf("Validate() error = {%q %q}, want {%q %q}", got.Field, got.Code, tt.wantField, tt.wantCode)
			}
			if !strings.Contains(got.Message, tt.wantField) {
				t.Errorf("Validate() message %q does not name the field %q", got.Message, tt.wantField)
			}
		})
	}
}

func TestValidate_ReportsEveryFieldInOrder(t *testing.T) {
	t.Parallel()
	_, err := booking.Submission{Lang: "xx", Contact: "fax"}.Validate()
	ve, ok := errors.AsType[*booking.ValidationError](err)
	if !ok {
		t.Fatalf("Validate() error = %v (%T), want *booking.ValidationError", err, err)
	}
	want := []struct{ field, code string }{
		{"state", booking.CodeRequired},
		{"name", booking.CodeRequired},
		{"id_number", booking.CodeRequired},
		{"phone", booking.CodeRequired},
		{"email", booking.CodeRequired},
		{"preferences", booking.CodeRequired},
		{"lang", booking.CodeInvalid},
		{"contact", booking.CodeInvalid},
	}
	if len(ve.Fields) != len(want) {
		t.Fatalf("Validate() gave %d field errors %+v, want %d", len(ve.Fields), ve.Fields, len(want))
	}
	for i, w := range want {
		if got := ve.Fields[i]; got.Field != w.field || got.Code != w.code {
			t.Errorf("field error %d = {%q %q}, want {%q %q}", i, got.Field, got.Code, w.field, w.code)
		}
	}
	for _, fe := range ve.Fields {
		if !strings.Contains(err.Error(), fe.Message) {
			t.Errorf("Error() = %q, missing %q", err.Error(), fe.Message)
		}
	}
}

func TestValidationError_UnwrapsToThePrimaryFieldError(t *testing.T) {
	t.Parallel()
	sub := goodSubmission()
	sub.Phone = "12345"
	sub.Lang = "fr"
	_, err := sub.Validate()
	fe, ok := errors.AsType[*booking.FieldError](err)
	if !ok {
		t.Fatalf("errors.As(%v, *FieldError) = false, want true", err)
	}
	if fe.Field != "phone" {
		t.Errorf("primary field = %q, want %q", fe.Field, "phone")
	}
}

func TestValidate_IsIdempotent(t *testing.T) {
	t.Parallel()
	sub := goodSubmission()
	sub.Phone = "012-345 6789"
	sub.Name = "  siti   aminah "
	first, err := sub.Validate()
	if err != nil {
		t.Fatalf("Validate() error = %v, want nil", err)
	}
	again, err := resubmit(first).Validate()
	if err != nil {
		t.Fatalf("Validate() of a normalised request error = %v, want nil", err)
	}
	if !reflect.DeepEqual(again, first) {
		t.Errorf("Validate() of a normalised request =\n%+v\nwant\n%+v", again, first)
	}
}

// resubmit turns a normalised request back into a submission.
func resubmit(r booking.Request) booking.Submission {
	return booking.Submission{
		State: r.State, Name: r.Name, IDNumber: r.IDNumber, Phone: r.Phone,
		Email: r.Email, Preferences: r.Preferences, Lang: r.Lang,
	}
}

func TestRegistrationValidate_NormalisesAsASubmissionWithoutPreferences(t *testing.T) {
	t.Parallel()
	got, err := booking.RegistrationForm{State: " Perlis ", Name: " Siti  Aminah ", IDNumber: "900101-14-5678",
		Phone: "012-345 6789", Email: "siti@Example.com", Contact: "sms"}.Validate()
	if err != nil {
		t.Fatalf("Validate() error = %v, want nil", err)
	}
	want := booking.Request{State: "perlis", Name: "Siti Aminah", IDNumber: "900101145678", Phone: "+60123456789",
		Email: "siti@example.com", Lang: "ms", Contact: booking.ContactSMS}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Validate() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestRegistrationValidate_ReportsEveryFieldInOrderWithoutPreferences(t *testing.T) {
	t.Parallel()
	_, err := booking.RegistrationForm{Lang: "xx", Contact: "fax"}.Validate()
	ve, ok := errors.AsType[*booking.ValidationError](err)
	if !ok {
		t.Fatalf("Validate() error = %v (%T), want *booking.ValidationError", err, err)
	}
	var got []string
	for _, fe := range ve.Fields {
		got = append(got, fe.Field+"/"+fe.Code)
	}
	want := []string{"state/required", "name/required", "id_number/required", "phone/required", "email/required", "lang/invalid", "contact/invalid"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("field errors = %v, want %v", got, want)
	}
}
