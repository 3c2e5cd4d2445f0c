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
	"sync/atomic"
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

// RelayBuffer is how many messages the relay holds pulled and not yet
// delivered. Past it, it stops pulling and pstest keeps the rest; each
// message costs about a kilobyte here.
const RelayBuffer = 250_000

// relayPullBatch is the most messages one Pull takes. pstest walks every
// message of the subscription on each Pull, so few big pulls cost what
// many small ones would per call.
const relayPullBatch = 1000

// relayAckDeadline is the ack deadline of a pull subscription standing in
// for a push one. The relay acknowledges what it pulls at once, so it only
// matters for a batch whose acknowledgement was lost.
const relayAckDeadline = 60 * time.Second

// relayAttempts bounds how long one message holds one of the relay's
// RelayConcurrency slots: after that many refusals it goes to the back of
// the queue, so messages that keep failing cannot take every slot and stop
// the rest from being delivered.
const relayAttempts = 6

// Relay plays Pub/Sub push where there is none: pstest accepts push configs
// but never delivers them. It pulls from subscription (a full name) and
// POSTs each message to pushURL in the push format, RelayConcurrency at a
// time. A 2xx is delivered; anything else is retried with exponential
// backoff, push's own behaviour, relayAttempts times in a row and then
// again after the messages queued behind it. Relay returns once every push
// it started has finished.
//
// The relay takes custody of what it pulls: it acknowledges a batch as soon
// as it holds it, and keeps it in its own queue (at most RelayBuffer) until
// the worker takes it. pstest cannot hold a large backlog itself: every Pull
// and every 10 ms tick walks all the messages it holds, leased or not, so
// the cost of each delivery grows with the backlog, and it drops messages
// nobody holds a lease on once they are 10 minutes old, so a backlog that
// takes longer than that to drain loses its tail. Held here, a backlog of
// any size costs pstest nothing, and none of it ages out. Custody loses
// nothing pstest would have kept: the relay runs beside an in-memory
// server. When ctx ends, what is still queued is published again to the
// subscription's topic (the worker decides each booking once, whatever the
// message id), for a Pub/Sub that outlives the relay; only a relay killed
// outright loses its queue, as the in-process server would.
func Relay(ctx context.Context, log *slog.Logger, c *pubsub.Client, subscription, pushURL string, client *http.Client) error {
	r := &relay{
		log: log, c: c, subscription: subscription, pushURL: pushURL, client: client,
		queue: make(chan *pubsubpb.ReceivedMessage, RelayBuffer),
	}
	var wg sync.WaitGroup
	for range RelayConcurrency {
		wg.Go(func() { r.deliver(ctx) })
	}
	r.pull(ctx)
	wg.Wait()
	r.republish()
	return nil
}

type relay struct {
	log          *slog.Logger
	c            *pubsub.Client
	subscription string
	pushURL      string
	client       *http.Client
	// queue holds the messages in custody; held counts those taken out of
	// it and not yet delivered. pull keeps len(queue)+held+relayPullBatch
	// within the buffer, so a message handed back always finds room.
	queue chan *pubsubpb.ReceivedMessage
	held  atomic.Int64
}

// pull takes messages into custody until ctx ends.
func (r *relay) pull(ctx context.Context) {
	const idle = 20 * time.Millisecond
	for {
		wait := idle
		if room := RelayBuffer - len(r.queue) - int(r.held.Load()) - RelayConcurrency; room > 0 {
			n, err := r.pullOnce(ctx, min(room, relayPullBatch))
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				r.log.Warn("relay: pull failed, retrying", "subscription", r.subscription, "error", err)
				wait = time.Second
			case n == relayPullBatch:
				continue // more waiting: pull again at once
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// pullOnce pulls up to max messages, acknowledges them and queues them.
func (r *relay) pullOnce(ctx context.Context, max int) (int, error) {
	resp, err := r.c.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{
		Subscription: r.subscription,
		MaxMessages:  int32(max),
		// We pace ourselves; without it every empty pull sleeps 500 ms in pstest.
		//lint:ignore SA1019 pstest honours only this deprecated field.
		ReturnImmediately: true,
	})
	if err != nil {
		return 0, fmt.Errorf("pull %s: %w", r.subscription, err)
	}
	msgs := resp.GetReceivedMessages()
	if len(msgs) == 0 {
		return 0, nil
	}
	ids := make([]string, len(msgs))
	for i, rm := range msgs {
		ids[i] = rm.GetAckId()
	}
	// Without ctx: once pulled, the batch is ours to keep whether or not
	// the relay is stopping. A failed ack only means pstest offers the
	// batch again later, and the worker decides each message once.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.c.SubscriptionAdminClient.Acknowledge(actx, &pubsubpb.AcknowledgeRequest{
		Subscription: r.subscription, AckIds: ids,
	}); err != nil {
		r.log.Warn("relay: acknowledging a pulled batch failed; it will be delivered again", "messages", len(ids), "error", err)
	}
	for _, rm := range msgs {
		r.queue <- rm // pull left room for the batch
	}
	return len(msgs), nil
}

// deliver pushes queued messages until ctx ends.
func (r *relay) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case rm := <-r.queue:
			r.held.Add(1)
			if !r.push(ctx, rm) {
				r.queue <- rm // room kept by held
			}
			r.held.Add(-1)
		}
	}
}

// push POSTs one message until the worker takes it, relayAttempts times at
// most, and reports whether it did.
func (r *relay) push(ctx context.Context, rm *pubsubpb.ReceivedMessage) bool {
	body, err := json.Marshal(Envelope(rm, r.subscription))
	if err != nil {
		// Cannot happen for a message pstest gave us; kept, not dropped.
		r.log.Error("relay: encode push envelope", "message_id", rm.GetMessage().GetMessageId(), "error", err)
		return false
	}
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		code, err := post(ctx, r.client, r.pushURL, body)
		if err == nil && pushSuccess(code) {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt == relayAttempts {
			// At error level: a load test runs the stack quietly, and a
			// message the worker keeps refusing is what it must show.
			r.log.Error("relay: push refused on every attempt; queued again behind the others",
				"message_id", rm.GetMessage().GetMessageId(), "attempts", attempt, "status", code, "error", err)
			return false
		}
		r.log.Warn("relay: push not acknowledged, retrying", "message_id", rm.GetMessage().GetMessageId(),
			"attempt", attempt, "status", code, "error", err, "backoff", backoff.String())
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// republish hands what is still queued back to the subscription's topic.
func (r *relay) republish() {
	if len(r.queue) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	sub, err := r.c.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: r.subscription})
	if err != nil {
		r.log.Error("relay: stopping with undelivered messages, and cannot find their topic", "messages", len(r.queue), "error", err)
		return
	}
	for len(r.queue) > 0 {
		var batch []*pubsubpb.PubsubMessage
		for len(batch) < relayPullBatch && len(r.queue) > 0 {
			m := (<-r.queue).GetMessage()
			batch = append(batch, &pubsubpb.PubsubMessage{Data: m.GetData(), Attributes: m.GetAttributes(), OrderingKey: m.GetOrderingKey()})
		}
		if _, err := r.c.TopicAdminClient.Publish(ctx, &pubsubpb.PublishRequest{Topic: sub.GetTopic(), Messages: batch}); err != nil {
			r.log.Error("relay: stopping with undelivered messages, and cannot publish them again", "messages", len(batch)+len(r.queue), "error", err)
			return
		}
	}
}

// nack hands a message back for redelivery at once.
func nack(c *pubsub.Client, subscription, ackID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.SubscriptionAdminClient.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{
		Subscription: subscription, AckIds: []string{ackID}, AckDeadlineSeconds: 0,
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
