package pubsub

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
)

// Replayed is one dead-lettered message as a replay saw it.
type Replayed struct {
	ID         string            // its id in the dead-letter subscription
	Attributes map[string]string // as republished: the dead-letter ones left out
	Bytes      int
	Deliveries string // the attempts Pub/Sub made before dead-lettering it
}

// deadLetterAttr prefixes the attributes Pub/Sub adds when it dead-letters
// a message; the replayed copy is the original again.
const deadLetterAttr = "CloudPubSubDeadLetter"

// ReplayTopic is the topic a dead-letter subscription's messages came from,
// by bootstrap.sh's names: appointments-dead-letter-sub → appointments-topic.
func ReplayTopic(subscription string) (string, bool) {
	base, ok := strings.CutSuffix(subscription[strings.LastIndex(subscription, "/")+1:], "-dead-letter-sub")
	return base + "-topic", ok && base != ""
}

// dryRunHold is how long a dry run keeps the messages it has seen from
// being offered to it again, so it lists each once.
const dryRunHold = 5 * time.Minute

// Replay republishes up to limit messages (0: all there are) of the pull
// subscription to topic, each with its data and attributes, and
// acknowledges each only once Pub/Sub acknowledged its copy: an interrupted
// replay loses nothing, and one that runs twice repeats only what every
// receiver already does once. With dryRun it publishes and acknowledges
// nothing and hands every message back at the end. seen is called for each.
func Replay(ctx context.Context, c *pubsub.Client, subscription, topic string, limit int, dryRun bool, seen func(Replayed)) (int, error) {
	if !strings.Contains(subscription, "/") {
		subscription = fmt.Sprintf("projects/%s/subscriptions/%s", c.Project(), subscription)
	}
	pub := c.Publisher(topic)
	defer pub.Stop()
	var held []string
	defer func() {
		for _, id := range held {
			nack(c, subscription, id)
		}
	}()
	n := 0
	for limit == 0 || n < limit {
		want := int32(100)
		if limit > 0 {
			want = int32(min(limit-n, 100))
		}
		resp, err := c.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{
			Subscription: subscription, MaxMessages: want,
			//lint:ignore SA1019 without it an empty subscription holds the pull open.
			ReturnImmediately: true,
		})
		if err != nil {
			return n, fmt.Errorf("pull %s: %w", subscription, err)
		}
		if len(resp.GetReceivedMessages()) == 0 {
			return n, nil
		}
		for _, rm := range resp.GetReceivedMessages() {
			m := rm.GetMessage()
			r := Replayed{ID: m.GetMessageId(), Attributes: maps.Clone(m.GetAttributes()), Bytes: len(m.GetData()),
				Deliveries: m.GetAttributes()[deadLetterAttr+"SourceDeliveryCount"]}
			maps.DeleteFunc(r.Attributes, func(k, _ string) bool { return strings.HasPrefix(k, deadLetterAttr) })
			if dryRun {
				held = append(held, rm.GetAckId())
				_ = c.SubscriptionAdminClient.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{
					Subscription: subscription, AckIds: []string{rm.GetAckId()}, AckDeadlineSeconds: int32(dryRunHold / time.Second),
				})
			} else {
				if _, err := pub.Publish(ctx, &pubsub.Message{Data: m.GetData(), Attributes: r.Attributes}).Get(ctx); err != nil {
					nack(c, subscription, rm.GetAckId())
					return n, fmt.Errorf("republish %s to %s: %w", r.ID, topic, err)
				}
				if err := c.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{
					Subscription: subscription, AckIds: []string{rm.GetAckId()},
				}); err != nil {
					// Republished: the copy is there, and this one comes
					// back to a later replay, where it is harmless.
					return n + 1, fmt.Errorf("acknowledge %s in %s (republished): %w", r.ID, subscription, err)
				}
			}
			n++
			seen(r)
		}
	}
	return n, nil
}
