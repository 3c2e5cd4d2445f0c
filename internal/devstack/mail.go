package devstack

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"time"

	gpubsub "cloud.google.com/go/pubsub/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/sms"
	"github.com/vaxbook/vaxbook/worker"
)

// devMailSubscription stands in for email-push in `vaxbook dev`, and
// devSMSSubscription for sms-push.
const (
	devMailSubscription = "email-dev-relay"
	devSMSSubscription  = "sms-dev-relay"
)

// devMail is `vaxbook dev`'s messages: email-topic and sms-topic in the
// in-process Pub/Sub, relayed to /push/email and /push/sms, which "send"
// into one outbox shown at /dev/mail, each message marked by its channel.
type devMail struct {
	pub, smsPub *pubsub.Publisher[email.Request]
	sub, smsSub string
	outbox      *email.Outbox
}

func newDevMail(ctx context.Context, psc *gpubsub.Client, topic, smsTopic string) (*devMail, error) {
	d := &devMail{outbox: email.NewOutbox(200)}
	for _, t := range []struct {
		topic, relay string
		pub          **pubsub.Publisher[email.Request]
		sub          *string
	}{{topic, devMailSubscription, &d.pub, &d.sub}, {smsTopic, devSMSSubscription, &d.smsPub, &d.smsSub}} {
		if err := pubsub.EnsureTopic(ctx, psc, t.topic); err != nil {
			return nil, err
		}
		sub, err := pubsub.EnsurePullSubscription(ctx, psc, t.topic, t.relay, 60*time.Second)
		if err != nil {
			return nil, err
		}
		*t.pub, *t.sub = pubsub.NewRequestPublisher[email.Request](psc, t.topic), sub
	}
	return d, nil
}

// requests asks for each message on the channels the person chose.
func (d *devMail) requests() email.Channels { return email.Channels{Email: d.pub, SMS: d.smsPub} }

// stop flushes both publishers.
func (d *devMail) stop() { d.pub.Stop(); d.smsPub.Stop() }

// mount adds /push/email, /push/sms and the outbox pages; base is the
// page's own address, the messages' link unless PUBLIC_BASE_URL says
// otherwise.
func (d *devMail) mount(mux *http.ServeMux, log *slog.Logger, pool *pgxpool.Pool, cfg worker.EmailConfig, base string) error {
	cfg.PublicBaseURL = cmp.Or(cfg.PublicBaseURL, base)
	comp, err := cfg.Composer()
	if err != nil {
		return err
	}
	texts, err := sms.NewComposer(cfg.PublicBaseURL)
	if err != nil {
		return err
	}
	sent := postgres.NewEmails(pool)
	mux.Handle("POST "+worker.EmailPushPath, worker.Counted(worker.HandleEmail(log, sent, comp, d.outbox, d.smsPub)))
	mux.Handle("POST "+worker.SMSPushPath, worker.Counted(worker.HandleSMS(log, sent, texts, d.outbox.Texts(), d.pub)))
	for _, p := range []string{"GET /dev/mail", "GET /dev/mail.json", "GET /dev/mail/"} {
		mux.Handle(p, d.outbox)
	}
	return nil
}

// relay pushes email-topic to /push/email and sms-topic to /push/sms on
// base until ctx ends.
func (d *devMail) relay(ctx context.Context, log *slog.Logger, psc *gpubsub.Client, base string) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return pubsub.Relay(ctx, log, psc, d.sub, base+worker.EmailPushPath, pubsub.NewRelayClient())
	})
	g.Go(func() error {
		return pubsub.Relay(ctx, log, psc, d.smsSub, base+worker.SMSPushPath, pubsub.NewRelayClient())
	})
	return g.Wait()
}
