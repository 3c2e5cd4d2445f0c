// Package pubsubtest builds the requests a Pub/Sub push subscription sends,
// for tests of push handlers.
package pubsubtest

import (
	"encoding/json"
	"testing"
	"time"
)

// Subscription is the subscription an envelope says it came through when
// its Message names none.
const Subscription = "projects/test/subscriptions/test-push"

// Message is one message as a push subscription delivers it.
type Message struct {
	ID              string
	Data            []byte
	Attributes      map[string]string
	PublishTime     time.Time // omitted when zero
	Subscription    string    // Subscription when empty
	DeliveryAttempt int       // omitted when zero, as without a dead-letter policy
}

// Envelope is the body Pub/Sub POSTs for m: the wrapped format, with the id
// and publish time in both spellings and the data in base64. It is written
// from the wire format itself rather than from internal/pubsub's types, so
// a test decoding it checks the decoder against what Pub/Sub sends.
func Envelope(tb testing.TB, m Message) []byte {
	tb.Helper()
	type message struct {
		Data        []byte            `json:"data"` // base64 by encoding/json
		Attributes  map[string]string `json:"attributes,omitempty"`
		MessageID   string            `json:"messageId"`
		MessageID2  string            `json:"message_id"`
		PublishTime string            `json:"publishTime,omitempty"`
		Publish2    string            `json:"publish_time,omitempty"`
	}
	var pt string
	if !m.PublishTime.IsZero() {
		pt = m.PublishTime.UTC().Format(time.RFC3339Nano)
	}
	sub := m.Subscription
	if sub == "" {
		sub = Subscription
	}
	b, err := json.Marshal(struct {
		Message         message `json:"message"`
		Subscription    string  `json:"subscription"`
		DeliveryAttempt int     `json:"deliveryAttempt,omitempty"`
	}{
		Message: message{
			Data: m.Data, Attributes: m.Attributes, MessageID: m.ID, MessageID2: m.ID,
			PublishTime: pt, Publish2: pt,
		},
		Subscription:    sub,
		DeliveryAttempt: m.DeliveryAttempt,
	})
	if err != nil {
		tb.Fatalf("encode push envelope: %v", err)
	}
	return b
}

// JSON is v encoded as vaxbook's publishers encode it, for Message.Data.
func JSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("encode message data: %v", err)
	}
	return b
}
