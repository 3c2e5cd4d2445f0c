package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/worker"
)

// pubsubConfig is the local Pub/Sub's: where it listens (PORT, gRPC), and
// the worker it pushes to.
type pubsubConfig struct {
	config.Base
	Project string `env:"GOOGLE_CLOUD_PROJECT, default=vaxbook-dev"`
	// PushEndpoint is the worker's base URL, as each push subscription
	// names it in deploy/bootstrap.sh.
	PushEndpoint       string        `env:"PUSH_ENDPOINT, required"`
	AppointmentsTopic  string        `env:"APPOINTMENTS_TOPIC, default=appointments-topic"`
	RegistrationsTopic string        `env:"REGISTRATIONS_TOPIC, default=registrations-topic"`
	EmailTopic         string        `env:"EMAIL_TOPIC, default=email-topic"`
	FaultDuration      time.Duration `env:"PUBSUB_FAULT_DURATION, default=5s"`
}

// runPubSub serves a standalone local Pub/Sub on 127.0.0.1:$PORT with the
// three push subscriptions of deploy/bootstrap.sh delivered to the worker,
// so the roles can run, and be killed, as separate processes. SIGUSR1
// makes it refuse publishes for PUBSUB_FAULT_DURATION (`vaxbook chaos`).
func runPubSub(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	var cfg pubsubConfig
	log, err := configure(ctx, getenv, stdout, &cfg)
	if err != nil {
		return err
	}
	e, err := pubsub.NewEmulator("127.0.0.1:" + cfg.Port)
	if err != nil {
		return err
	}
	defer e.Close()

	faults := make(chan os.Signal, 1)
	if pubsub.FaultSignal != nil {
		signal.Notify(faults, pubsub.FaultSignal)
		defer signal.Stop(faults)
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-faults:
				log.Warn("pubsub: refusing publishes on request", "for", cfg.FaultDuration.String())
				e.FailPublishes(cfg.FaultDuration)
			}
		}
	}()

	push := cfg.PushEndpoint
	log.Info("pubsub: local emulator up; messages are held in memory only", "addr", e.Addr(), "push_endpoint", push)
	return e.RelayPushes(ctx, log, cfg.Project, []pubsub.Push{
		{Topic: cfg.AppointmentsTopic, Subscription: "appointments-push", URL: push + worker.PushPath},
		{Topic: cfg.RegistrationsTopic, Subscription: "registrations-push", URL: push + worker.RegistrationsPushPath},
		{Topic: cfg.EmailTopic, Subscription: "email-push", URL: push + worker.EmailPushPath},
	})
}
