package pubsub

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"cloud.google.com/go/pubsub/v2"
)

// PushEnvelope is the JSON body Pub/Sub POSTs to a push endpoint (the
// "wrapped" format). Pub/Sub sends both camelCase and snake_case ids.
type PushEnvelope struct {
	Message         PushMessage `json:"message"`
	Subscription    string      `json:"subscription"`
	DeliveryAttempt int         `json:"deliveryAttempt,omitempty"`
}

// PushMessage is the message inside a PushEnvelope; Data is base64 on the wire.
type PushMessage struct {
	Data           []byte            `json:"data"`
	Attributes     map[string]string `json:"attributes,omitempty"`
	MessageID      string            `json:"messageId"`
	MessageIDSnake string            `json:"message_id,omitempty"`
	PublishTime    string            `json:"publishTime,omitempty"`
	PublishSnake   string            `json:"publish_time,omitempty"`
	OrderingKey    string            `json:"orderingKey,omitempty"`
}

// ID returns the message id whichever spelling carried it.
func (m PushMessage) ID() string {
	if m.MessageID != "" {
		return m.MessageID
	}
	return m.MessageIDSnake
}

// Envelope builds the push body Pub/Sub would send for m.
func Envelope(m *pubsub.Message, subscription string) PushEnvelope {
	pt := m.PublishTime.UTC().Format(time.RFC3339Nano)
	e := PushEnvelope{
		Message: PushMessage{
			Data: m.Data, Attributes: m.Attributes,
			MessageID: m.ID, MessageIDSnake: m.ID,
			PublishTime: pt, PublishSnake: pt,
			OrderingKey: m.OrderingKey,
		},
		Subscription: subscription,
	}
	if m.DeliveryAttempt != nil {
		e.DeliveryAttempt = *m.DeliveryAttempt
	}
	return e
}

// pushSuccess is the set of status codes Pub/Sub push treats as an ack.
func pushSuccess(code int) bool {
	switch code {
	case 102, 200, 201, 202, 204:
		return true
	}
	return false
}

// Relay pulls from sub and POSTs each message to pushURL as Pub/Sub push
// would, because pstest accepts push configs but never delivers them. A 2xx
// acks; anything else is retried with exponential backoff (push's own
// behaviour) until it succeeds or ctx ends, when the message is nacked for
// redelivery. Relay returns when ctx is done.
func Relay(ctx context.Context, log *slog.Logger, sub *pubsub.Subscriber, subscription, pushURL string, client *http.Client) error {
	sub.ReceiveSettings.MaxOutstandingMessages = 64
	err := sub.Receive(ctx, func(ctx context.Context, m *pubsub.Message) {
		body, err := json.Marshal(Envelope(m, subscription))
		if err != nil {
			log.Error("relay: encode push envelope", "message_id", m.ID, "error", err)
			m.Nack()
			return
		}
		backoff := 100 * time.Millisecond
		for attempt := 1; ; attempt++ {
			code, err := post(ctx, client, pushURL, body)
			if err == nil && pushSuccess(code) {
				m.Ack()
				return
			}
			log.Warn("relay: push not acknowledged, retrying", "message_id", m.ID, "attempt", attempt, "status", code, "error", err, "backoff", backoff.String())
			select {
			case <-ctx.Done():
				m.Nack()
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 10*time.Second)
		}
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("relay %s: %w", subscription, err)
	}
	return nil
}

func post(ctx context.Context, client *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build push request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("push to %s: %w", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// DecodePush reads a push body. When the envelope parses but its data is not
// valid base64, the envelope is still returned (ids, attributes) with the
// raw data, so the message can be recorded under its own id.
func DecodePush(raw []byte) (PushEnvelope, error) {
	var wire struct {
		Message struct {
			Data           string            `json:"data"`
			Attributes     map[string]string `json:"attributes"`
			MessageID      string            `json:"messageId"`
			MessageIDSnake string            `json:"message_id"`
			PublishTime    string            `json:"publishTime"`
			OrderingKey    string            `json:"orderingKey"`
		} `json:"message"`
		Subscription    string `json:"subscription"`
		DeliveryAttempt int    `json:"deliveryAttempt"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		return PushEnvelope{}, fmt.Errorf("push envelope is not valid JSON: %w", err)
	}
	m := wire.Message
	env := PushEnvelope{
		Message: PushMessage{
			Attributes: m.Attributes, MessageID: m.MessageID, MessageIDSnake: m.MessageIDSnake,
			PublishTime: m.PublishTime, OrderingKey: m.OrderingKey,
		},
		Subscription:    wire.Subscription,
		DeliveryAttempt: wire.DeliveryAttempt,
	}
	data, err := base64.StdEncoding.DecodeString(m.Data)
	if err != nil {
		env.Message.Data = []byte(m.Data)
		return env, fmt.Errorf("message data is not base64: %w", err)
	}
	env.Message.Data = data
	return env, nil
}
