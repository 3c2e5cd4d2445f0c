package sendgrid

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"

	"github.com/vaxbook/vaxbook/internal/notify"
)

// Signature headers of the Event Webhook.
const (
	SignatureHeader = eventwebhook.VerificationHTTPHeader
	TimestampHeader = eventwebhook.TimestampHTTPHeader
)

// EventVerifier checks the Event Webhook's ECDSA signature with
// sendgrid-go's eventwebhook helpers.
type EventVerifier struct{ key *ecdsa.PublicKey }

// NewEventVerifier reads the webhook's verification key as SendGrid's
// settings page shows it (base64 DER). The error names the variable.
func NewEventVerifier(publicKey string) (*EventVerifier, error) {
	// Parsed here first: the helper assumes an ECDSA key and would panic
	// on any other.
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(publicKey))
	if err != nil {
		return nil, errors.New("SENDGRID_WEBHOOK_PUBLIC_KEY: not base64")
	}
	if k, err := x509.ParsePKIXPublicKey(der); err != nil {
		return nil, errors.New("SENDGRID_WEBHOOK_PUBLIC_KEY: not a public key")
	} else if _, ok := k.(*ecdsa.PublicKey); !ok {
		return nil, errors.New("SENDGRID_WEBHOOK_PUBLIC_KEY: not an ECDSA key")
	}
	key, err := eventwebhook.ConvertPublicKeyBase64ToECDSA(strings.TrimSpace(publicKey))
	if err != nil {
		return nil, errors.New("SENDGRID_WEBHOOK_PUBLIC_KEY: " + err.Error())
	}
	return &EventVerifier{key: key}, nil
}

// Valid reports whether signature is SendGrid's over timestamp and body.
func (v *EventVerifier) Valid(body []byte, signature, timestamp string) bool {
	if signature == "" || timestamp == "" {
		return false
	}
	ok, err := eventwebhook.VerifySignature(v.key, body, signature, timestamp)
	return err == nil && ok
}

// Event is one event of a webhook POST, as much as we read of it.
type Event struct {
	Event     string `json:"event"`
	MessageID string `json:"sg_message_id"`
	Type      string `json:"type"`   // bounce: "bounce" or "blocked"
	Reason    string `json:"reason"` // bounce, dropped: why
}

// ProviderID is the X-Message-Id the message was accepted under, which
// SendGrid's sg_message_id extends after a dot.
func (e Event) ProviderID() string {
	id, _, _ := strings.Cut(e.MessageID, ".")
	return id
}

// Meaning is what the event says of the message, and false for the events
// not recorded (processed, deferred, opens…).
func (e Event) Meaning() (notify.Event, bool) {
	switch e.Event {
	case "delivered":
		return notify.EventDelivered, true
	case "bounce":
		if e.Type == "blocked" {
			return notify.EventBlocked, true
		}
		return notify.EventBounced, true
	case "dropped":
		// SendGrid drops what its suppression lists hold: an address
		// that bounced, or whose owner unsubscribed or reported spam.
		switch {
		case strings.Contains(e.Reason, "Bounced Address"), strings.Contains(e.Reason, "Invalid"):
			return notify.EventBounced, true
		case strings.Contains(e.Reason, "Unsubscribed"), strings.Contains(e.Reason, "Spam Report"):
			return notify.EventBlocked, true
		}
		return notify.EventDropped, true
	case "spamreport", "unsubscribe", "group_unsubscribe":
		return notify.EventBlocked, true
	}
	return "", false
}
