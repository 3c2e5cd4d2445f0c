package devstack

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"time"

	gpubsub "cloud.google.com/go/pubsub/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/worker"
)

// devMailSubscription stands in for email-push in `vaxbook dev`.
const devMailSubscription = "email-dev-relay"

// devMail is `vaxbook dev`'s e-mail: email-topic in the in-process Pub/Sub,
// relayed to /push/email, which "sends" into an outbox shown at /dev/mail.
type devMail struct {
	pub    *pubsub.Publisher[email.Request]
	sub    string
	outbox *email.Outbox
}

func newDevMail(ctx context.Context, psc *gpubsub.Client, topic string) (*devMail, error) {
	if err := pubsub.EnsureTopic(ctx, psc, topic); err != nil {
		return nil, err
	}
	sub, err := pubsub.EnsurePullSubscription(ctx, psc, topic, devMailSubscription, 60*time.Second)
	if err != nil {
		return nil, err
	}
	return &devMail{pub: pubsub.NewRequestPublisher[email.Request](psc, topic), sub: sub, outbox: email.NewOutbox(200)}, nil
}

// mount adds /push/email and the outbox pages; base is the page's own
// address, the e-mails' link unless PUBLIC_BASE_URL says otherwise.
func (d *devMail) mount(mux *http.ServeMux, log *slog.Logger, pool *pgxpool.Pool, cfg worker.EmailConfig, base string) error {
	cfg.PublicBaseURL = cmp.Or(cfg.PublicBaseURL, base)
	comp, err := cfg.Composer()
	if err != nil {
		return err
	}
	mux.Handle("POST "+worker.EmailPushPath, worker.Counted(worker.HandleEmail(log, postgres.NewEmails(pool), comp, d.outbox)))
	for _, p := range []string{"GET /dev/mail", "GET /dev/mail.json", "GET /dev/mail/"} {
		mux.Handle(p, d.outbox)
	}
	return nil
}

// relay pushes email-topic to /push/email on base until ctx ends.
func (d *devMail) relay(ctx context.Context, log *slog.Logger, psc *gpubsub.Client, base string) error {
	return pubsub.Relay(ctx, log, psc, d.sub, base+worker.EmailPushPath, pubsub.NewRelayClient())
}
