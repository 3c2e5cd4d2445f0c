package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/pubsub"
)

const deadletterUsage = "usage: vaxbook deadletter replay --subscription SUB [--topic TOPIC] [--limit N] [--dry-run]"

// deadletterConfig is where the dead letters are.
type deadletterConfig struct {
	Project      string `env:"GOOGLE_CLOUD_PROJECT, required"`
	EmulatorHost string `env:"PUBSUB_EMULATOR_HOST"`
}

// runDeadletter republishes dead-lettered messages to the topic they came
// from (deploy/README.md, "Dead letters"). Safe because every effect is
// once: a booking by its reference, a registration by its reference, an
// e-mail by reference and kind.
func runDeadletter(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) < 1 || args[0] != "replay" {
		return errors.New(deadletterUsage)
	}
	fs := flag.NewFlagSet("deadletter replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sub := fs.String("subscription", "", "the dead-letter topic's pull subscription, e.g. appointments-dead-letter-sub")
	topic := fs.String("topic", "", "where to republish; default: from the subscription's name")
	limit := fs.Int("limit", 0, "at most this many messages (0: all)")
	dryRun := fs.Bool("dry-run", false, "list what would be replayed; publish and acknowledge nothing")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 || *sub == "" || *limit < 0 {
		return errors.New(deadletterUsage)
	}
	if *topic == "" {
		t, ok := pubsub.ReplayTopic(*sub)
		if !ok {
			return fmt.Errorf("deadletter replay: cannot tell the topic of %q from its name: give --topic", *sub)
		}
		*topic = t
	}
	var cfg deadletterConfig
	if err := config.Load(ctx, getenv, &cfg); err != nil {
		return err
	}
	c, err := pubsub.NewClient(ctx, cfg.Project, cfg.EmulatorHost)
	if err != nil {
		return err
	}
	defer c.Close()
	verb := "replayed"
	if *dryRun {
		verb = "would replay"
	}
	n, err := pubsub.Replay(ctx, c, *sub, *topic, *limit, *dryRun, func(r pubsub.Replayed) {
		attrs := make([]string, 0, len(r.Attributes))
		for k, v := range r.Attributes {
			attrs = append(attrs, k+"="+v)
		}
		slices.Sort(attrs)
		fmt.Fprintf(stdout, "%s %s to %s: %d bytes, %s delivery attempts, attributes %s\n",
			verb, r.ID, *topic, r.Bytes, cmp.Or(r.Deliveries, "?"), strings.Join(attrs, " "))
	})
	fmt.Fprintf(stdout, "%s %d messages from %s to %s\n", verb, n, *sub, *topic)
	return err
}
