package booking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// The statuses after the booking (docs/contract.md, "After the booking").
// A booking's own record turns cancelled; a change of time is a request
// with its own reference whose record ends changed, full (the booking is
// exactly as it was) or cancelled (there was nothing left to change).
const (
	StatusCancelled Status = "cancelled"
	StatusChanged   Status = "changed"
)

// Action is what a manage request asks the worker to do.
type Action string

// The actions on manage-topic.
const (
	ActionCancel Action = "cancel"
	ActionChange Action = "change"
	// ActionResend sends the manage link again to the contact on the
	// booking, when the reference and ID number given match it; the API
	// answers the same whether they do or not.
	ActionResend Action = "resend"
)

// ManageRequest is the message the API queues on manage-topic for the
// worker's /push/manage: one action on one booking.
type ManageRequest struct {
	Action Action `json:"action"`
	// Booking is the booking's reference.
	Booking string `json:"booking"`
	// Request is this request's own reference: what the worker records
	// the request under, so a redelivery has its effect once, and for a
	// change the reference whose GET /status shows how it ended.
	Request string `json:"request"`
	// Token is the manage token, for cancel and change; the worker holds
	// its hash against the booking's.
	Token string `json:"token,omitempty"`
	// Preferences are the new slots for change, most wanted first.
	Preferences []string `json:"preferences,omitempty"`
	// IDNumber is the normalised ID number, for resend only.
	IDNumber    string    `json:"id_number,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
}

// Validate holds a manage message to what the API publishes; the error
// never quotes a value.
func (m ManageRequest) Validate() error {
	switch {
	case !ValidReference(m.Booking):
		return errors.New("booking reference missing or malformed")
	case !ValidReference(m.Request):
		return errors.New("request reference missing or malformed")
	case m.RequestedAt.IsZero():
		return errors.New("requested_at missing")
	}
	switch m.Action {
	case ActionCancel:
		if m.Token == "" || len(m.Preferences) > 0 || m.IDNumber != "" {
			return errors.New("cancel wants a token and nothing else")
		}
	case ActionChange:
		if m.Token == "" || m.IDNumber != "" {
			return errors.New("change wants a token and preferences")
		}
		prefs, fe := validatePreferences(m.Preferences)
		if fe != nil {
			return fe
		}
		for i := range prefs {
			if prefs[i] != m.Preferences[i] {
				return errors.New("preferences not normalised")
			}
		}
	case ActionResend:
		if m.Token != "" || len(m.Preferences) > 0 {
			return errors.New("resend wants an ID number and nothing else")
		}
		if id, err := NormalizeIDNumber(m.IDNumber); err != nil || id != m.IDNumber {
			return errors.New("id_number missing or not normalised")
		}
	default:
		return fmt.Errorf("unknown action %q", m.Action)
	}
	return nil
}

// ManageOutcome is what the worker did with a manage request, with what
// the records and the message to the person need.
type ManageOutcome struct {
	// Booking is the booking's record as it now stands (confirmed with
	// its slot, or cancelled with the slot it had).
	Booking StatusRecord
	// Request is, for change, the request's record: changed with the new
	// slot, full, or cancelled.
	Request StatusRecord
	// Notify says a message is due: cancelled or changed (Sequence tells
	// which change), or for resend the link (Found).
	Notify   bool
	Name     string
	Email    string
	Phone    string // and Contact: where the booking's messages go
	Contact  Contact
	State    string
	Sequence int // the calendar event's SEQUENCE after this request
	// Found is, for resend, whether reference and ID number matched a
	// confirmed booking. Never shown to whoever asked.
	Found     bool
	DecidedAt time.Time
}

// ManageSigner makes and checks manage tokens with MANAGE_SECRET, in the
// way queue.Signer does invitations: the token carries the booking's
// reference and state under an HMAC, so the API knows whose booking it is
// with no database, and the worker, which stores only the token's hash
// with the booking, is the one that lets it act.
type ManageSigner struct{ key []byte }

// MinManageSecretLen is the shortest MANAGE_SECRET accepted.
const MinManageSecretLen = 32

// ErrManageToken is any token that is not one this secret signed.
var ErrManageToken = errors.New("manage token is forged or malformed")

const (
	manageVersion  = 1
	manageMACLen   = 20
	maxManageToken = 128
)

var manageEncoding = base64.RawURLEncoding

// ConfiguredManageSigner is the signer of MANAGE_SECRET as a role reads
// it: nil when it is unset (no manage links), an error naming the variable
// when it is too short.
func ConfiguredManageSigner(secret string) (*ManageSigner, error) {
	if secret == "" {
		return nil, nil
	}
	s, err := NewManageSigner(secret)
	if err != nil {
		return nil, fmt.Errorf("configuration: MANAGE_SECRET: %w", err)
	}
	return s, nil
}

// NewManageSigner checks the secret's length.
func NewManageSigner(secret string) (*ManageSigner, error) {
	if len(secret) < MinManageSecretLen {
		return nil, fmt.Errorf("must be at least %d bytes", MinManageSecretLen)
	}
	return &ManageSigner{key: []byte(secret)}, nil
}

// Sign is the token of a booking. It is the same every time, so a
// redelivered booking message asks for the same link, and resending the
// link needs nothing stored but its hash.
func (s *ManageSigner) Sign(reference, state string) string {
	b := make([]byte, 0, 3+len(reference)+len(state)+manageMACLen)
	b = append(b, manageVersion, byte(len(reference)))
	b = append(b, reference...)
	b = append(b, byte(len(state)))
	b = append(b, state...)
	b = append(b, s.mac(b)...)
	return manageEncoding.EncodeToString(b)
}

// Parse checks token is one this secret signed and returns the booking's
// reference and state.
func (s *ManageSigner) Parse(token string) (reference, state string, err error) {
	if token == "" || len(token) > maxManageToken {
		return "", "", ErrManageToken
	}
	b, err := manageEncoding.DecodeString(token)
	if err != nil || len(b) < 3+manageMACLen {
		return "", "", ErrManageToken
	}
	body, mac := b[:len(b)-manageMACLen], b[len(b)-manageMACLen:]
	if !hmac.Equal(mac, s.mac(body)) || body[0] != manageVersion {
		return "", "", ErrManageToken
	}
	ref, rest, ok := cut(body[1:])
	if !ok {
		return "", "", ErrManageToken
	}
	st, rest, ok := cut(rest)
	if !ok || len(rest) != 0 || !ValidReference(string(ref)) || len(st) == 0 {
		return "", "", ErrManageToken
	}
	return string(ref), string(st), nil
}

// ManageTokenHash is how a token is stored with its booking: a copy of the
// table manages nothing.
func ManageTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func (s *ManageSigner) mac(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("vaxbook/manage/v1\x00"))
	m.Write(b)
	return m.Sum(nil)[:manageMACLen]
}

// cut reads one length-prefixed field.
func cut(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return nil, b, false
	}
	n := int(b[0])
	return b[1 : 1+n], b[1+n:], true
}

// ManageForm is the body of the POST /manage/* endpoints: token (cancel,
// change) with preferences (change), or reference and id_number (resend).
type ManageForm struct {
	Token       string   `json:"token,omitempty"`
	Preferences []string `json:"preferences,omitempty"`
	Reference   string   `json:"reference,omitempty"`
	IDNumber    string   `json:"id_number,omitempty"`
}

// DecodeManageForm reads exactly one JSON object from r as a ManageForm,
// as strictly as DecodeSubmission and with the same errors.
func DecodeManageForm(r io.Reader) (ManageForm, error) {
	var f ManageForm
	err := decodeStrict(r, "a manage request", func(key string) any {
		switch key {
		case "token":
			return &f.Token
		case "preferences":
			return &f.Preferences
		case "reference":
			return &f.Reference
		case "id_number":
			return &f.IDNumber
		}
		return nil
	})
	if err != nil {
		return ManageForm{}, err
	}
	return f, nil
}

// ValidateChange holds a change's preferences to /submit's rules.
func (f ManageForm) ValidateChange() ([]string, error) {
	prefs, fe := validatePreferences(f.Preferences)
	if fe != nil {
		return nil, fe
	}
	return prefs, nil
}

// ValidateResend normalises a resend's reference (typed by hand) and ID
// number.
func (f ManageForm) ValidateResend() (reference, idNumber string, err error) {
	reference = strings.ToUpper(strings.TrimSpace(f.Reference))
	if !ValidReference(reference) {
		return "", "", fieldErr("reference", CodeInvalid, "reference must be the 16-character booking reference from your confirmation")
	}
	if idNumber, err = NormalizeIDNumber(f.IDNumber); err != nil {
		return "", "", err
	}
	return reference, idNumber, nil
}
