package worker

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/vaxbook/vaxbook/internal/email"
)

// EmailPushPath is where email-topic's push subscription (email-push) posts.
const EmailPushPath = "/push/email"

// Composer renders an e-mail request (email.Composer).
type Composer interface {
	Compose(r email.Request) (email.Message, error)
}

// HandleEmail is the push handler for email-topic (see handleSend). With a
// nil sender (no SendGrid key) every push answers 503, and composer may be
// nil too. An e-mail to an address that bounced goes by SMS instead when
// the person gave a number and sms (SMS_TOPIC) is given.
func HandleEmail(log *slog.Logger, sent SentLog, composer Composer, sender email.Sender, sms ...email.Publisher) http.Handler {
	return handleSend(log, sent, channel[email.Request, email.Message]{
		what: "e-mail", request: "an e-mail request", setting: "SENDGRID_API_KEY",
		compose:  func(r email.Request) (email.Message, error) { return composer.Compose(r) },
		sender:   sender,
		address:  email.Request.Address,
		fallback: fallback(sms...),
	})
}

// fallback asks for a request on the other channel through pub, when the
// request has one (email.Request.Fallback).
func fallback(pub ...email.Publisher) func(context.Context, email.Request) (bool, error) {
	if len(pub) == 0 || pub[0] == nil {
		return nil
	}
	return func(ctx context.Context, r email.Request) (bool, error) {
		other, ok := r.Fallback()
		if !ok {
			return false, nil
		}
		return true, pub[0].Publish(ctx, other)
	}
}
