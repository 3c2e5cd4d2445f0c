// Package pubsub is vaxbook's adapter to Google Cloud Pub/Sub: the client,
// the publishers of booking and e-mail requests, the push envelope the worker receives,
// and the relay that plays Pub/Sub push where there is none (pstest in
// `vaxbook dev` and the tests).
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
	"github.com/vaxbook/vaxbook/internal/email"
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

// Publisher queues booking requests on the appointments topic.
type Publisher struct{ p *pubsub.Publisher }

// NewPublisher publishes to topic. Batches are small and short-lived: a person
// waits for the acknowledgement, so latency matters more than batch size.
func NewPublisher(c *pubsub.Client, topic string) *Publisher {
	return &Publisher{p: newPublisher(c, topic)}
}

func newPublisher(c *pubsub.Client, topic string) *pubsub.Publisher {
	p := c.Publisher(topic)
	p.PublishSettings.DelayThreshold = 5 * time.Millisecond
	p.PublishSettings.CountThreshold = 100
	p.PublishSettings.Timeout = 15 * time.Second
	return p
}

// Publish returns only once Pub/Sub has acknowledged the message: nothing the
// API accepts may be lost.
func (p *Publisher) Publish(ctx context.Context, req booking.Request) error {
	return publishJSON(ctx, p.p, "booking", req.Reference, req, map[string]string{"reference": req.Reference})
}

// Stop flushes what is batched and releases the publisher.
func (p *Publisher) Stop() { p.p.Stop() }

// EmailPublisher queues e-mail requests on email-topic.
type EmailPublisher struct{ p *pubsub.Publisher }

// NewEmailPublisher publishes to topic; the booking worker waits for each
// acknowledgement before it acknowledges the booking.
func NewEmailPublisher(c *pubsub.Client, topic string) *EmailPublisher {
	return &EmailPublisher{p: newPublisher(c, topic)}
}

// Publish returns once Pub/Sub has acknowledged the request.
func (p *EmailPublisher) Publish(ctx context.Context, req email.Request) error {
	return publishJSON(ctx, p.p, "e-mail request", req.Reference, req,
		map[string]string{"reference": req.Reference, "kind": string(req.Kind)})
}

// publishJSON publishes v as JSON and waits for the server's acknowledgement.
func publishJSON(ctx context.Context, p *pubsub.Publisher, what, ref string, v any, attrs map[string]string) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", what, ref, err)
	}
	if _, err := p.Publish(ctx, &pubsub.Message{Data: data, Attributes: attrs}).Get(ctx); err != nil {
		return fmt.Errorf("publish %s %s: %w", what, ref, err)
	}
	return nil
}

// Stop flushes what is batched and releases the publisher.
func (p *EmailPublisher) Stop() { p.p.Stop() }

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
