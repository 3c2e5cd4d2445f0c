package worker

import (
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
// nil too.
func HandleEmail(log *slog.Logger, sent SentLog, composer Composer, sender email.Sender) http.Handler {
	return handleSend(log, sent, channel[email.Request, email.Message]{
		what: "e-mail", request: "an e-mail request", setting: "SENDGRID_API_KEY",
		compose: func(r email.Request) (email.Message, error) { return composer.Compose(r) },
		sender:  sender,
	})
}
