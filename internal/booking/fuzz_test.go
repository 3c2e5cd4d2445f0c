package booking_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vaxbook/vaxbook/internal/booking"
)

func FuzzParseIC(f *testing.F) {
	for _, s := range []string{
		"900101-14-5678", "900101145678", "000229-01-1234", "010229-01-1234",
		"991301-01-1234", "261123-10-0001", "261124-10-0001", "270101-10-0001",
		"9001-01-145678", "90010114567", "9001011456789", "", "------------",
		"900101-14-5678\x00", "９００１０１１４５６７８",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ic, err := booking.ParseICAt(s, icNow)
		if err != nil {
			fe, ok := errors.AsType[*booking.FieldError](err)
			if !ok {
				t.Fatalf("ParseICAt(%q) error %v (%T) is not a *FieldError", s, err, err)
			}
			if fe.Field != "id_number" || (fe.Code != booking.CodeInvalid && fe.Code != booking.CodeInvalidDate) || fe.Message == "" {
				t.Fatalf("ParseICAt(%q) error = %+v, want field id_number, code invalid or invalid_date, a message", s, fe)
			}
			if ic != (booking.IC{}) {
				t.Fatalf("ParseICAt(%q) = %+v with an error, want the zero IC", s, ic)
			}
			return
		}

		if len(ic.Digits) != 12 || strings.Trim(ic.Digits, "0123456789") != "" {
			t.Fatalf("ParseICAt(%q).Digits = %q, want 12 digits", s, ic.Digits)
		}
		if got := strings.ReplaceAll(s, "-", ""); got != ic.Digits {
			t.Fatalf("ParseICAt(%q).Digits = %q, want the input without dashes %q", s, ic.Digits, got)
		}
		if got := ic.BirthDate.Format("060102"); got != ic.Digits[:6] {
			t.Fatalf("ParseICAt(%q).BirthDate = %v, which reads %q, want %q", s, ic.BirthDate, got, ic.Digits[:6])
		}
		if ic.BirthDate.Location() != time.UTC || !ic.BirthDate.Equal(ic.BirthDate.Truncate(24*time.Hour)) {
			t.Fatalf("ParseICAt(%q).BirthDate = %v, want midnight UTC", s, ic.BirthDate)
		}
		if ic.BirthDate.After(icNow.Add(24*time.Hour)) || ic.BirthDate.Before(icNow.AddDate(-101, 0, 0)) {
			t.Fatalf("ParseICAt(%q).BirthDate = %v, want within the last century", s, ic.BirthDate)
		}
		dashed := ic.Digits[:6] + "-" + ic.Digits[6:8] + "-" + ic.Digits[8:]
		for _, again := range []string{ic.Digits, dashed} {
			got, err := booking.ParseICAt(again, icNow)
			if err != nil || got != ic {
				t.Fatalf("ParseICAt(%q) = %+v, %v; want %+v, nil as for %q", again, got, err, ic, s)
			}
		}
	})
}

func FuzzDecodeSubmission(f *testing.F) {
	for _, s := range []string{
		`{"state":"selangor","name":"Siti Aminah","id_number":"900101-14-5678","phone":"+60123456789","email":"siti@example.com","preferences":["sel-001-2026-12-01-am","sel-002-2026-12-02-pm"]}`,
		`{"state":"johor","name":" Ali ","id_number":"a1234567","phone":"012-345 6789","email":"ali@example.com.my","preferences":["j-1"],"lang":"en","captcha_token":"x"}`,
		`{"state":"selangor","nickname":"Siti"}`,
		`{"name":123}`,
		`{"preferences":["a",1]}`,
		`{"preferences":["a","b","c","d"]}`,
		`{"preferences":["a","a"]}`,
		`{"name":"a","name":"b"}`,
		`{"state":"selangor"} garbage`,
		`{}{}`,
		``,
		`[`,
		`{"name":null}`,
		`{"name":"\u0000\ud800"}`,
		`{"preferences":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sub, err := booking.DecodeSubmission(bytes.NewReader(data))
		if err != nil {
			fe, ok := errors.AsType[*booking.FieldError](err)
			if !ok {
				t.Fatalf("DecodeSubmission(%q) error %v (%T) is not a *FieldError", data, err, err)
			}
			switch fe.Code {
			case booking.CodeInvalidJSON:
				if fe.Field != "" {
					t.Fatalf("DecodeSubmission(%q) invalid_json names field %q, want none", data, fe.Field)
				}
			case booking.CodeUnknownField, booking.CodeInvalidType, booking.CodeDuplicate:
				if !json.Valid(data) {
					t.Fatalf("DecodeSubmission(%q) = %s on %q, but the body is not valid JSON", data, fe.Code, fe.Field)
				}
			default:
				t.Fatalf("DecodeSubmission(%q) error code %q, want a decoding code", data, fe.Code)
			}
			return
		}

		// Whatever we accept, encoding/json reads the same way: no parser
		// differential between the API and anything downstream.
		if !json.Valid(data) {
			t.Fatalf("DecodeSubmission(%q) accepted a body that is not valid JSON", data)
		}
		var std booking.Submission
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&std); err != nil {
			t.Fatalf("DecodeSubmission(%q) accepted what encoding/json refuses: %v", data, err)
		}
		if !reflect.DeepEqual(sub, std) {
			t.Fatalf("DecodeSubmission(%q) = %+v, encoding/json reads %+v", data, sub, std)
		}

		req, err := sub.Validate()
		if err != nil {
			ve, ok := errors.AsType[*booking.ValidationError](err)
			if !ok || len(ve.Fields) == 0 {
				t.Fatalf("Validate(%+v) error %v (%T), want a non-empty *ValidationError", sub, err, err)
			}
			return
		}
		checkRequest(t, req)
		again, err := resubmit(req).Validate()
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("Validate() of normalised %+v = %+v, %v; want it unchanged", req, again, err)
		}
	})
}

// checkRequest asserts the promises a validated Request makes to the worker.
func checkRequest(t *testing.T, req booking.Request) {
	t.Helper()
	if n := len(req.Preferences); n < 1 || n > 3 {
		t.Fatalf("Request.Preferences = %q, want 1 to 3", req.Preferences)
	}
	sorted := slices.Clone(req.Preferences)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(req.Preferences) {
		t.Fatalf("Request.Preferences = %q, want distinct", req.Preferences)
	}
	if req.Lang != "ms" && req.Lang != "en" {
		t.Fatalf("Request.Lang = %q, want ms or en", req.Lang)
	}
	if n := utf8.RuneCountInString(req.Name); n < 1 || n > 100 || strings.TrimSpace(req.Name) != req.Name {
		t.Fatalf("Request.Name = %q, want 1-100 trimmed characters", req.Name)
	}
	if id, err := booking.NormalizeIDNumber(req.IDNumber); err != nil || id != req.IDNumber {
		t.Fatalf("NormalizeIDNumber(Request.IDNumber %q) = %q, %v; want it unchanged", req.IDNumber, id, err)
	}
	if p, err := booking.NormalizePhone(req.Phone); err != nil || p != req.Phone || !strings.HasPrefix(p, "+") {
		t.Fatalf("NormalizePhone(Request.Phone %q) = %q, %v; want it unchanged", req.Phone, p, err)
	}
	if !booking.ValidEmail(req.Email) {
		t.Fatalf("ValidEmail(Request.Email %q) = false", req.Email)
	}
	if req.Reference != "" || !req.SubmittedAt.IsZero() {
		t.Fatalf("Request has Reference %q, SubmittedAt %v; want both left to the API", req.Reference, req.SubmittedAt)
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("selangor", "Siti Aminah", "900101-14-5678", "+60123456789", "siti@example.com", "sel-001", "sel-002", "")
	f.Add("johor", "  Jose\u0301\u00a0 bin Ali ", "a1234567", "012-345 6789", " Ali@Example.COM ", "j-1", "j-1", "en")
	f.Add("kl", "a \u0301\u0301", "000229011234", "03-2345 6789", "x@[1.2.3.4]", "a", "", "ms")
	f.Fuzz(func(t *testing.T, state, name, id, phone, email, pref1, pref2, lang string) {
		sub := booking.Submission{
			State: state, Name: name, IDNumber: id, Phone: phone, Email: email,
			Preferences: []string{pref1, pref2}, Lang: lang,
		}
		req, err := sub.Validate()
		if err != nil {
			ve, ok := errors.AsType[*booking.ValidationError](err)
			if !ok || len(ve.Fields) == 0 {
				t.Fatalf("Validate(%+v) error %v (%T), want a non-empty *ValidationError", sub, err, err)
			}
			for _, fe := range ve.Fields {
				if fe.Field == "" || fe.Code == "" || fe.Message == "" {
					t.Fatalf("Validate(%+v) field error %+v lacks a field, code or message", sub, fe)
				}
			}
			return
		}
		checkRequest(t, req)
		again, err := resubmit(req).Validate()
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("Validate() of normalised %+v = %+v, %v; want it unchanged", req, again, err)
		}
	})
}
