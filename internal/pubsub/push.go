package pubsub

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
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

// Envelope builds the push body Pub/Sub would send for a pulled message.
func Envelope(rm *pubsubpb.ReceivedMessage, subscription string) PushEnvelope {
	m := rm.GetMessage()
	pt := m.GetPublishTime().AsTime().UTC().Format(time.RFC3339Nano)
	return PushEnvelope{
		Message: PushMessage{
			Data: m.GetData(), Attributes: m.GetAttributes(),
			MessageID: m.GetMessageId(), MessageIDSnake: m.GetMessageId(),
			PublishTime: pt, PublishSnake: pt,
			OrderingKey: m.GetOrderingKey(),
		},
		Subscription:    subscription,
		DeliveryAttempt: int(rm.GetDeliveryAttempt()),
	}
}

// pushSuccess is the set of status codes Pub/Sub push treats as an ack.
func pushSuccess(code int) bool {
	switch code {
	case 102, 200, 201, 202, 204:
		return true
	}
	return false
}

// RelayConcurrency is how many pushes the relay keeps in flight, as a push
// subscription would against a worker with spare concurrency.
const RelayConcurrency = 64

// relayAckDeadline is the lease the relay keeps on a message it is pushing;
// it renews it before every retry.
const relayAckDeadline = 60 * time.Second

// relayAttempts bounds how long one message holds one of the relay's
// RelayConcurrency slots: after that many refusals it goes back to Pub/Sub
// for later, as real push does, so messages that keep failing cannot take
// every slot and stop the rest from being delivered.
const relayAttempts = 6

// relayHandBack is how long a message handed back waits before Pub/Sub
// offers it again.
const relayHandBack = 10 * time.Second

// Relay plays Pub/Sub push where there is none: pstest accepts push configs
// but never delivers them. It pulls from subscription (a full name) with
// unary Pull, which pstest answers in batches, and POSTs each message to
// pushURL in the push format. A 2xx acks; anything else is retried with
// exponential backoff, push's own behaviour, keeping the message leased for
// relayAttempts tries and then handing it back for a later delivery; when
// ctx ends, messages in flight are nacked for redelivery. Relay returns once
// every push it started has finished.
func Relay(ctx context.Context, log *slog.Logger, c *pubsub.Client, subscription, pushURL string, client *http.Client) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, RelayConcurrency)
	idle := 20 * time.Millisecond
	for {
		resp, err := c.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{
			Subscription: subscription,
			MaxMessages:  RelayConcurrency,
			// We pace ourselves; without it every empty pull sleeps 500 ms in pstest.
			//lint:ignore SA1019 pstest honours only this deprecated field.
			ReturnImmediately: true,
		})
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("relay: pull failed, retrying", "subscription", subscription, "error", err)
			idle = time.Second
		case len(resp.GetReceivedMessages()) > 0:
			idle = 20 * time.Millisecond
		}
		for _, rm := range resp.GetReceivedMessages() {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				nack(c, subscription, rm.GetAckId())
				continue
			}
			wg.Go(func() {
				defer func() { <-slots }()
				relayOne(ctx, log, c, subscription, pushURL, client, rm)
			})
		}
		if len(resp.GetReceivedMessages()) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(idle):
			}
		}
	}
}

func relayOne(ctx context.Context, log *slog.Logger, c *pubsub.Client, subscription, pushURL string, client *http.Client, rm *pubsubpb.ReceivedMessage) {
	body, err := json.Marshal(Envelope(rm, subscription))
	if err != nil {
		log.Error("relay: encode push envelope", "message_id", rm.GetMessage().GetMessageId(), "error", err)
		nack(c, subscription, rm.GetAckId())
		return
	}
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		code, err := post(ctx, client, pushURL, body)
		if err == nil && pushSuccess(code) {
			_ = c.SubscriptionAdminClient.Acknowledge(context.WithoutCancel(ctx), &pubsubpb.AcknowledgeRequest{
				Subscription: subscription, AckIds: []string{rm.GetAckId()},
			})
			return
		}
		if attempt == relayAttempts {
			// At error level: a load test runs the stack quietly, and a
			// message the worker keeps refusing is what it must show.
			log.Error("relay: push refused on every attempt; handed back to Pub/Sub for a later delivery",
				"message_id", rm.GetMessage().GetMessageId(), "attempts", attempt, "status", code, "error", err)
			handBack(c, subscription, rm.GetAckId(), relayHandBack)
			return
		}
		log.Warn("relay: push not acknowledged, retrying", "message_id", rm.GetMessage().GetMessageId(),
			"attempt", attempt, "status", code, "error", err, "backoff", backoff.String())
		select {
		case <-ctx.Done():
			nack(c, subscription, rm.GetAckId())
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
		_ = c.SubscriptionAdminClient.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{
			Subscription: subscription, AckIds: []string{rm.GetAckId()},
			AckDeadlineSeconds: int32(relayAckDeadline / time.Second),
		})
	}
}

// nack hands a message back for redelivery at once.
func nack(c *pubsub.Client, subscription, ackID string) { handBack(c, subscription, ackID, 0) }

// handBack hands a message back, to be offered again after wait.
func handBack(c *pubsub.Client, subscription, ackID string, wait time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.SubscriptionAdminClient.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{
		Subscription: subscription, AckIds: []string{ackID}, AckDeadlineSeconds: int32(wait / time.Second),
	})
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
	_, _ = io.Copy(io.Discard, resp.Body) // lets the connection be reused
	resp.Body.Close()
	return resp.StatusCode, nil
}

// NewRelayClient is an HTTP client that keeps a connection per push in
// flight, where the default keeps two and churns through the rest.
func NewRelayClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = RelayConcurrency
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
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
