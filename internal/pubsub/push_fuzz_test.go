package pubsub_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/vaxbook/vaxbook/internal/pubsub"
)

// FuzzDecodePush: whatever arrives at a push endpoint, decoding never
// panics; an envelope the relay (or Pub/Sub) wrote decodes to what was
// sent, data bytes and ids exactly.
func FuzzDecodePush(f *testing.F) {
	for _, s := range []string{
		`{"message":{"data":"eyJhIjoxfQ==","messageId":"1","message_id":"1","publishTime":"2026-11-23T07:00:00Z","attributes":{"k":"v"}},"subscription":"projects/p/subscriptions/s","deliveryAttempt":2}`,
		`{"message":{"data":"not base64!"}}`,
		`{"message":null}`, `{}`, `[]`, `null`, ``, `{"message":{"data":1}}`,
		`{"message":{"attributes":{"a":null}},"deliveryAttempt":1e400}`,
	} {
		f.Add([]byte(s), []byte("payload"), "m-1")
	}
	f.Fuzz(func(t *testing.T, raw, data []byte, id string) {
		env, err := pubsub.DecodePush(raw)
		if err == nil && env.Message.ID() != env.Message.MessageID && env.Message.ID() != env.Message.MessageIDSnake {
			t.Errorf("ID %q is neither of the envelope's ids", env.Message.ID())
		}

		sent := pubsub.PushEnvelope{
			Message:      pubsub.PushMessage{Data: data, MessageID: id, Attributes: map[string]string{"id": id}},
			Subscription: "projects/p/subscriptions/s",
		}
		body, err := json.Marshal(sent)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pubsub.DecodePush(body)
		if err != nil {
			t.Fatalf("DecodePush(%s): %v", body, err)
		}
		// JSON carries text as UTF-8 (an invalid byte becomes U+FFFD on
		// the way), so the id is compared with its copy in the attributes;
		// the data, base64 on the wire, must come back byte for byte.
		if !bytes.Equal(got.Message.Data, data) || got.Message.ID() != got.Message.Attributes["id"] {
			t.Errorf("round trip: got data %q id %q attrs %v, want data %q", got.Message.Data, got.Message.ID(), got.Message.Attributes, data)
		}
	})
}
