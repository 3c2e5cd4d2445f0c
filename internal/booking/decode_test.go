package booking_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/booking"
)

func TestDecodeSubmission_ReadsTheContractExample(t *testing.T) {
	t.Parallel()
	body := `{"state": "selangor", "name": "Siti Aminah", "id_number": "900101-14-5678",
 "phone": "+60123456789", "email": "siti@example.com",
 "preferences": ["sel-001-2026-12-01-am", "sel-002-2026-12-02-pm"],
 "lang": "en", "contact": "both", "captcha_token": "tok", "invitation": "inv"}` + "\n"
	got, err := booking.DecodeSubmission(strings.NewReader(body))
	if err != nil {
		t.Fatalf("DecodeSubmission() error = %v, want nil", err)
	}
	want := booking.Submission{
		State: "selangor", Name: "Siti Aminah", IDNumber: "900101-14-5678",
		Phone: "+60123456789", Email: "siti@example.com",
		Preferences:  []string{"sel-001-2026-12-01-am", "sel-002-2026-12-02-pm"},
		Lang:         "en",
		Contact:      "both",
		CaptchaToken: "tok",
		Invitation:   "inv",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeSubmission() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodeSubmission_TreatsNullAsAbsent(t *testing.T) {
	t.Parallel()
	got, err := booking.DecodeSubmission(strings.NewReader(`{"name":null,"preferences":null,"lang":null}`))
	if err != nil {
		t.Fatalf("DecodeSubmission() error = %v, want nil", err)
	}
	if !reflect.DeepEqual(got, booking.Submission{}) {
		t.Errorf("DecodeSubmission() = %+v, want the zero Submission", got)
	}
}

func TestDecodeSubmission_RejectsWhatIsNotOneSubmissionObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, wantField, wantCode string
	}{
		{"unknown field", `{"state":"selangor","nickname":"Siti"}`, "nickname", booking.CodeUnknownField},
		{"field name in another case", `{"State":"selangor"}`, "State", booking.CodeUnknownField},
		{"reference smuggled in", `{"reference":"AAAAAAAAAAAAAAAA"}`, "reference", booking.CodeUnknownField},
		{"name is a number", `{"name":123}`, "name", booking.CodeInvalidType},
		{"phone is a number", `{"phone":60123456789}`, "phone", booking.CodeInvalidType},
		{"email is an object", `{"email":{"a":1}}`, "email", booking.CodeInvalidType},
		{"lang is a bool", `{"lang":true}`, "lang", booking.CodeInvalidType},
		{"contact is an array", `{"contact":["email"]}`, "contact", booking.CodeInvalidType},
		{"preferences is a string", `{"preferences":"sel-001"}`, "preferences", booking.CodeInvalidType},
		{"preferences holds a number", `{"preferences":["sel-001",2]}`, "preferences", booking.CodeInvalidType},
		{"preferences holds an array", `{"preferences":[["sel-001"]]}`, "preferences", booking.CodeInvalidType},
		{"field repeated", `{"id_number":"900101-14-5678","id_number":"A1234567"}`, "id_number", booking.CodeDuplicate},
		{"invitation repeated", `{"invitation":"a","invitation":"b"}`, "invitation", booking.CodeDuplicate},
		{"invitation is a number", `{"invitation":1}`, "invitation", booking.CodeInvalidType},
		{"first field error wins", `{"name":1,"nickname":2}`, "name", booking.CodeInvalidType},
		{"huge number in an unknown field", `{"nickname":1E1000}`, "nickname", booking.CodeUnknownField},
		{"huge number for a string", `{"name":1E1000}`, "name", booking.CodeInvalidType},

		{"empty body", ``, "", booking.CodeInvalidJSON},
		{"blank body", " \n\t", "", booking.CodeInvalidJSON},
		{"array", `[]`, "", booking.CodeInvalidJSON},
		{"string", `"selangor"`, "", booking.CodeInvalidJSON},
		{"null", `null`, "", booking.CodeInvalidJSON},
		{"truncated", `{"state":"selangor"`, "", booking.CodeInvalidJSON},
		{"truncated after colon", `{"state":`, "", booking.CodeInvalidJSON},
		{"trailing comma", `{"state":"selangor",}`, "", booking.CodeInvalidJSON},
		{"missing comma", `{"state":"selangor" "name":"Siti"}`, "", booking.CodeInvalidJSON},
		{"unquoted key", `{state:"selangor"}`, "", booking.CodeInvalidJSON},
		{"single quotes", `{'state':'selangor'}`, "", booking.CodeInvalidJSON},
		{"trailing garbage", `{"state":"selangor"} garbage`, "", booking.CodeInvalidJSON},
		{"second object", `{"state":"selangor"}{"state":"johor"}`, "", booking.CodeInvalidJSON},
		{"trailing number", `{} 1`, "", booking.CodeInvalidJSON},
		{"number too big for float64", `1E1000`, "", booking.CodeInvalidJSON},
		{"trailing number too big for float64", `{} 1E1000`, "", booking.CodeInvalidJSON},
		{"malformed wins over unknown field", `{"nickname":1,"state":}`, "", booking.CodeInvalidJSON},
		{"trailing garbage wins over wrong type", `{"name":1} x`, "", booking.CodeInvalidJSON},
		{"bad JSON inside an unknown field", `{"nickname":[1,}`, "", booking.CodeInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := booking.DecodeSubmission(strings.NewReader(tt.body))
			checkFieldError(t, fmt.Sprintf("DecodeSubmission(%q)", tt.body), got, err, tt.wantField, tt.wantCode)
			if !reflect.DeepEqual(got, booking.Submission{}) {
				t.Errorf("DecodeSubmission(%q) = %+v with an error, want the zero Submission", tt.body, got)
			}
		})
	}
}

func TestDecodeSubmission_PassesTheBodyLimitThrough(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"limit hit in a value":                `{"name":"` + strings.Repeat("a", 100) + `"}`,
		"limit hit after an unknown field":    `{"nickname":1,"name":"` + strings.Repeat("a", 100) + `"}`,
		"limit hit in trailing data":          `{"name":"a"}` + strings.Repeat(" ", 50) + "x",
		"limit hit in an unknown field value": `{"nickname":"` + strings.Repeat("a", 100) + `"}`,
	}
	for name, body := range tests {
		r := http.MaxBytesReader(nil, io.NopCloser(strings.NewReader(body)), 40)
		_, err := booking.DecodeSubmission(r)
		if _, ok := err.(*http.MaxBytesError); !ok {
			t.Errorf("%s: DecodeSubmission() error = %v (%T), want *http.MaxBytesError", name, err, err)
		}
	}
}

func TestDecodeSubmission_WrapsReadFailures(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader(`{"name":"Si`), &failingReader{err: boom})
	_, err := booking.DecodeSubmission(r)
	if !errors.Is(err, boom) {
		t.Errorf("DecodeSubmission() error = %v, want it to wrap %v", err, boom)
	}
	if _, ok := errors.AsType[*booking.FieldError](err); ok {
		t.Errorf("DecodeSubmission() error = %v, a *FieldError: the client is not at fault", err)
	}
}

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestDecodeRegistration_ReadsExactlyTheRegistrationFields(t *testing.T) {
	t.Parallel()
	body := `{"state":"perlis","name":"Siti","id_number":"900101-14-5678","phone":"0123456789",
 "email":"siti@example.com","lang":"en","contact":"sms","captcha_token":"tok"}`
	got, err := booking.DecodeRegistration(strings.NewReader(body))
	if err != nil {
		t.Fatalf("DecodeRegistration() error = %v, want nil", err)
	}
	want := booking.RegistrationForm{State: "perlis", Name: "Siti", IDNumber: "900101-14-5678", Phone: "0123456789",
		Email: "siti@example.com", Lang: "en", Contact: "sms", CaptchaToken: "tok"}
	if got != want {
		t.Errorf("DecodeRegistration() = %+v, want %+v", got, want)
	}
}

func TestDecodeRegistration_IsAsStrictAsASubmission(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, wantField, wantCode string
	}{
		{"preferences are not a registration's", `{"state":"perlis","preferences":["a"]}`, "preferences", booking.CodeUnknownField},
		{"field name in another case", `{"Name":"Siti"}`, "Name", booking.CodeUnknownField},
		{"field repeated", `{"contact":"sms","contact":"email"}`, "contact", booking.CodeDuplicate},
		{"wrong type", `{"contact":1}`, "contact", booking.CodeInvalidType},
		{"trailing garbage", `{"state":"perlis"} x`, "", booking.CodeInvalidJSON},
		{"empty body", ``, "", booking.CodeInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := booking.DecodeRegistration(strings.NewReader(tt.body))
			checkFieldError(t, fmt.Sprintf("DecodeRegistration(%q)", tt.body), got, err, tt.wantField, tt.wantCode)
		})
	}
	r := http.MaxBytesReader(nil, io.NopCloser(strings.NewReader(`{"name":"`+strings.Repeat("a", 100)+`"}`)), 40)
	if _, err := booking.DecodeRegistration(r); !errors.As(err, new(*http.MaxBytesError)) {
		t.Errorf("DecodeRegistration() over the limit: error = %v, want *http.MaxBytesError", err)
	}
}
