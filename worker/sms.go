package worker

import (
	"log/slog"
	"net/http"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/sms"
)

// SMSPushPath is where sms-topic's push subscription (sms-push) posts.
const SMSPushPath = "/push/sms"

// TextComposer renders a request on the SMS channel (sms.Composer).
type TextComposer interface {
	Compose(r email.Request) (notify.Text, error)
}

// HandleSMS is the push handler for sms-topic (see handleSend): the same
// request as e-mail's, on the SMS channel, sent once per (reference, kind)
// through sender (Twilio). With a nil sender (no TWILIO_ACCOUNT_SID) every
// push answers 503. An SMS to a number that bounced goes by e-mail
// instead, through mail, when the person gave an address.
func HandleSMS(log *slog.Logger, sent SentLog, composer TextComposer, sender sms.Sender, mail ...email.Publisher) http.Handler {
	return handleSend(log, sent, channel[email.Request, notify.Text]{
		what: "SMS", request: "an SMS request", setting: "TWILIO_ACCOUNT_SID",
		compose:  func(r email.Request) (notify.Text, error) { return composer.Compose(r) },
		sender:   sender,
		address:  email.Request.Address,
		fallback: fallback(mail...),
	})
}

// WithSMSPush serves h (see HandleSMS) at SMSPushPath.
func WithSMSPush(h http.Handler) Option { return func(o *options) { o.smsPush = h } }
