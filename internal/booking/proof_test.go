package booking_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/booking"
)

func TestDecodeSubmission_ReadsTheProof(t *testing.T) {
	t.Parallel()
	sub, err := booking.DecodeSubmission(strings.NewReader(`{"state":"perlis","proof":{"challenge":"abc","code":"123456"}}`))
	if err != nil {
		t.Fatalf("DecodeSubmission() error = %v", err)
	}
	if want := (&booking.Proof{Challenge: "abc", Code: "123456"}); !reflect.DeepEqual(sub.Proof, want) {
		t.Errorf("Proof = %+v, want %+v", sub.Proof, want)
	}
	reg, err := booking.DecodeRegistration(strings.NewReader(`{"proof":{"code":"1","challenge":"c"}}`))
	if err != nil || reg.Proof == nil || reg.Proof.Code != "1" || reg.Proof.Challenge != "c" {
		t.Errorf("DecodeRegistration() = %+v, %v; want the proof read", reg.Proof, err)
	}
	none, err := booking.DecodeSubmission(strings.NewReader(`{"proof":null}`))
	if err != nil || none.Proof != nil {
		t.Errorf("proof null: %+v, %v; want it absent", none.Proof, err)
	}
}

func TestDecodeSubmission_HoldsTheProofToTheStrictRules(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, body, wantCode string }{
		{"a string", `{"proof":"123456"}`, booking.CodeInvalidType},
		{"an array", `{"proof":["a","b"]}`, booking.CodeInvalidType},
		{"unknown member", `{"proof":{"challenge":"a","code":"1","email":"x"}}`, booking.CodeUnknownField},
		{"member in another case", `{"proof":{"Code":"1"}}`, booking.CodeUnknownField},
		{"member twice", `{"proof":{"code":"1","code":"2"}}`, booking.CodeDuplicate},
		{"code a number", `{"proof":{"code":123456}}`, booking.CodeInvalidType},
		{"proof twice", `{"proof":{"code":"1"},"proof":{"code":"2"}}`, booking.CodeDuplicate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := booking.DecodeSubmission(strings.NewReader(tt.body))
			fe, ok := errors.AsType[*booking.FieldError](err)
			if !ok || fe.Field != "proof" || fe.Code != tt.wantCode {
				t.Errorf("DecodeSubmission(%s) error = %#v, want field proof code %s", tt.body, err, tt.wantCode)
			}
		})
	}
	// Malformed JSON inside the proof is the body's fault, as anywhere else.
	_, err := booking.DecodeSubmission(strings.NewReader(`{"proof":{"code":}`))
	if fe, ok := errors.AsType[*booking.FieldError](err); !ok || fe.Code != booking.CodeInvalidJSON {
		t.Errorf("malformed proof: error = %#v, want invalid_json", err)
	}
}

func TestProofRequest_ValidatesAsABookingWould(t *testing.T) {
	t.Parallel()
	p, err := booking.DecodeProofRequest(strings.NewReader(`{"email":" siti@Example.COM ","lang":"en"}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Validate()
	if err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	if want := (booking.ProofRequest{Channel: "email", Email: "siti@example.com", Lang: "en"}); got != want {
		t.Errorf("Validate() = %+v, want %+v", got, want)
	}
	// The address a submission normalises to is the one the proof binds.
	sub := booking.Submission{State: "perlis", Name: "Siti", IDNumber: "900101-14-5678", Phone: "0123456789",
		Email: " siti@Example.COM ", Preferences: []string{"per-001-2026-12-01-am"}}
	if req, err := sub.Validate(); err != nil || req.Email != got.Email {
		t.Errorf("submission's email %q (%v), proof's %q: want the same", req.Email, err, got.Email)
	}
	for _, tt := range []struct{ body, field string }{
		{`{"email":"not an address"}`, "email"},
		{`{}`, "email"},
		{`{"email":"a@b.co","lang":"fr"}`, "lang"},
		{`{"email":"a@b.co","channel":"sms"}`, "channel"},
	} {
		p, err := booking.DecodeProofRequest(strings.NewReader(tt.body))
		if err == nil {
			_, err = p.Validate()
		}
		ve, ok := errors.AsType[*booking.ValidationError](err)
		if !ok || ve.Fields[0].Field != tt.field {
			t.Errorf("%s: error = %v, want one naming %s", tt.body, err, tt.field)
		}
	}
	if _, err := booking.DecodeProofRequest(strings.NewReader(`{"email":"a@b.co","name":"Siti"}`)); err == nil {
		t.Error("a proof request with a name: nil error, want unknown_field")
	}
}
