// Package pubsub is vaxbook's adapter to Google Cloud Pub/Sub: the client,
// the publisher of booking and message requests, the push envelope the
// worker receives, and the relay that plays Pub/Sub push where there is
// none (pstest in `vaxbook dev` and the tests).
package pubsub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// Config is the Pub/Sub part of a role's configuration.
type Config struct {
	Project string `env:"GOOGLE_CLOUD_PROJECT, required"`
	// EmulatorHost is honoured as the client library does, but read through
	// the role's environment lookup so tests and `vaxbook dev` can set it.
	EmulatorHost string `env:"PUBSUB_EMULATOR_HOST"`
	Topic        string `env:"APPOINTMENTS_TOPIC, default=appointments-topic"`
}

// NewClient connects to Pub/Sub, or to the emulator at emulatorHost.
func NewClient(ctx context.Context, project, emulatorHost string, opts ...option.ClientOption) (*pubsub.Client, error) {
	if emulatorHost != "" {
		conn, err := grpc.NewClient(emulatorHost, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("dial pubsub emulator %s: %w", emulatorHost, err)
		}
		opts = append(opts, option.WithGRPCConn(conn))
	}
	c, err := pubsub.NewClient(ctx, project, opts...)
	if err != nil {
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	return c, nil
}

// Publisher queues messages of one type on one topic as JSON, with the
// attributes a subscription may filter on, and returns only once Pub/Sub
// has each.
type Publisher[T any] struct {
	p     *pubsub.Publisher
	topic string
	attrs func(T) map[string]string
	// name says which message failed, in an error; it is not called for a
	// message that did not.
	name func(T) string
}

// NewPublisher publishes booking requests to topic (appointments-topic).
func NewPublisher(c *pubsub.Client, topic string) *Publisher[booking.Request] {
	return newPublisher(c, topic,
		func(r booking.Request) map[string]string { return map[string]string{"reference": r.Reference} },
		func(r booking.Request) string { return "booking " + r.Reference })
}

// NewRegistrationPublisher publishes registrations to topic
// (registrations-topic).
func NewRegistrationPublisher(c *pubsub.Client, topic string) *Publisher[queue.Registration] {
	return newPublisher(c, topic,
		func(r queue.Registration) map[string]string {
			return map[string]string{"reference": r.Reference, "state": r.State}
		},
		func(r queue.Registration) string { return "registration " + r.Reference })
}

// NewManagePublisher publishes cancels, changes and resends to topic
// (manage-topic).
func NewManagePublisher(c *pubsub.Client, topic string) *Publisher[booking.ManageRequest] {
	return newPublisher(c, topic,
		func(m booking.ManageRequest) map[string]string {
			return map[string]string{"reference": m.Booking, "request": m.Request, "action": string(m.Action)}
		},
		func(m booking.ManageRequest) string { return string(m.Action) + " " + m.Request })
}

// NewRequestPublisher publishes one channel's message requests to its topic
// (e-mail requests to email-topic).
func NewRequestPublisher[R notify.Request](c *pubsub.Client, topic string) *Publisher[R] {
	return newPublisher(c, topic,
		func(r R) map[string]string {
			k := r.Key()
			return map[string]string{"reference": k.Reference, "kind": string(k.Kind)}
		},
		func(r R) string { return "message request " + r.Key().String() })
}

// NewRawPublisher publishes bytes as they are, with the settings of every
// other publisher here: the load test's bare-publish ceiling for /submit.
func NewRawPublisher(c *pubsub.Client, topic string) *Publisher[json.RawMessage] {
	return newPublisher(c, topic, func(json.RawMessage) map[string]string { return map[string]string{} },
		func(json.RawMessage) string { return "raw message" })
}

// newPublisher keeps batches small and short-lived: a person, or a booking
// push, waits for each acknowledgement, so latency matters more than batch
// size.
func newPublisher[T any](c *pubsub.Client, topic string, attrs func(T) map[string]string, name func(T) string) *Publisher[T] {
	p := c.Publisher(topic)
	p.PublishSettings.DelayThreshold = 5 * time.Millisecond
	p.PublishSettings.CountThreshold = 100
	p.PublishSettings.Timeout = 15 * time.Second
	return &Publisher[T]{p: p, topic: topic, attrs: attrs, name: name}
}

// Publish returns only once Pub/Sub has acknowledged the message: nothing
// the API accepts, and no message a booking asks for, may be lost. The
// message carries ctx's trace (traceparent) for the worker to continue.
func (p *Publisher[T]) Publish(ctx context.Context, v T) (err error) {
	data, ok := any(v).(json.RawMessage)
	if !ok {
		if data, err = json.Marshal(v); err != nil {
			return fmt.Errorf("encode %s: %w", p.name(v), err)
		}
	}
	ctx, span := telemetry.Start(ctx, "publish "+p.topic)
	start := time.Now()
	defer func() {
		telemetry.Published(ctx, p.topic, start, err)
		telemetry.EndSpan(span, err)
	}()
	attrs := p.attrs(v)
	telemetry.Inject(ctx, attrs)
	if _, err := p.p.Publish(ctx, &pubsub.Message{Data: data, Attributes: attrs}).Get(ctx); err != nil {
		return fmt.Errorf("publish %s: %w", p.name(v), err)
	}
	return nil
}

// Stop flushes what is batched and releases the publisher.
func (p *Publisher[T]) Stop() { p.p.Stop() }

// EnsureTopic creates the topic unless it exists (dev and tests; in production
// deploy/bootstrap.sh owns topics).
func EnsureTopic(ctx context.Context, c *pubsub.Client, topic string) error {
	name := fmt.Sprintf("projects/%s/topics/%s", c.Project(), topic)
	_, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: name})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	return nil
}

// EnsurePullSubscription creates a pull subscription on topic unless it
// exists and returns its full name.
func EnsurePullSubscription(ctx context.Context, c *pubsub.Client, topic, sub string, ackDeadline time.Duration) (string, error) {
	name := fmt.Sprintf("projects/%s/subscriptions/%s", c.Project(), sub)
	_, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:               name,
		Topic:              fmt.Sprintf("projects/%s/topics/%s", c.Project(), topic),
		AckDeadlineSeconds: int32(ackDeadline / time.Second),
	})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return "", fmt.Errorf("create subscription %s: %w", name, err)
	}
	return name, nil
}

// IsNotFound reports a missing topic or subscription.
func IsNotFound(err error) bool {
	var se interface{ GRPCStatus() *status.Status }
	return errors.As(err, &se) && se.GRPCStatus().Code() == codes.NotFound
}

// SubscriptionExists reports whether the subscription sub exists.
func SubscriptionExists(ctx context.Context, c *pubsub.Client, sub string) (bool, error) {
	name := fmt.Sprintf("projects/%s/subscriptions/%s", c.Project(), sub)
	_, err := c.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: name})
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up subscription %s: %w", name, err)
	}
	return true, nil
}
