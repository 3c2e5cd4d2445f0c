package booking

import (
	"bytes"
	"errors"
	"io"
	"strings"
)

// Proof is what a submission or registration carries when the deployment
// asks for contact proof (CONTACT_PROOF=on): the challenge POST /proof
// answered with, and the code the message to the person's contact brought.
// Judging it is the API's business (internal/proof); with proof off it is
// accepted and ignored.
type Proof struct {
	Challenge string `json:"challenge"`
	Code      string `json:"code"`
}

// UnmarshalJSON reads the proof object as strictly as DecodeSubmission
// reads the body: exact names, each once, strings only. Its errors are
// *FieldErrors on "proof", the name a form shows them under.
func (p *Proof) UnmarshalJSON(data []byte) error {
	var got Proof
	err := decodeStrict(bytes.NewReader(data), "proof", func(key string) any {
		switch key {
		case "challenge":
			return &got.Challenge
		case "code":
			return &got.Code
		}
		return nil
	})
	if fe, ok := errors.AsType[*FieldError](err); ok {
		if fe.Field == "" {
			return fieldErr("proof", CodeInvalidType, `proof must be an object {"challenge", "code"}`)
		}
		return fieldErr("proof", fe.Code, "proof."+fe.Message)
	}
	if err != nil {
		return err
	}
	*p = got
	return nil
}

// ProofRequest is the body of POST /proof: where to send a code, and in
// which language. Channel is "email" (the default); SMS joins it when
// vaxbook can send SMS.
type ProofRequest struct {
	Channel string `json:"channel,omitempty"`
	Email   string `json:"email"`
	Lang    string `json:"lang,omitempty"`
}

// ProofChannelEmail is the one channel a code can be sent on today.
const ProofChannelEmail = "email"

// DecodeProofRequest reads exactly one JSON object from r as a
// ProofRequest, as strictly as DecodeSubmission and with the same errors.
func DecodeProofRequest(r io.Reader) (ProofRequest, error) {
	var p ProofRequest
	err := decodeStrict(r, "a proof request", func(key string) any {
		switch key {
		case "channel":
			return &p.Channel
		case "email":
			return &p.Email
		case "lang":
			return &p.Lang
		}
		return nil
	})
	if err != nil {
		return ProofRequest{}, err
	}
	return p, nil
}

// Validate holds a proof request to the booking's own rules for the
// address and the language, so a code is sent only where a booking could
// go, and returns it normalised as a submission's would be (the challenge
// binds that form). The error is a *ValidationError.
func (p ProofRequest) Validate() (ProofRequest, error) {
	var (
		out  ProofRequest
		errs []FieldError
		fe   *FieldError
	)
	switch strings.TrimSpace(p.Channel) {
	case "", ProofChannelEmail:
		out.Channel = ProofChannelEmail
	default:
		errs = append(errs, *fieldErr("channel", CodeInvalid, `channel must be "email"`))
	}
	if out.Email, fe = validateEmail(p.Email); fe != nil {
		errs = append(errs, *fe)
	}
	if out.Lang, fe = validateLang(p.Lang); fe != nil {
		errs = append(errs, *fe)
	}
	if len(errs) > 0 {
		return ProofRequest{}, &ValidationError{Fields: errs}
	}
	return out, nil
}
