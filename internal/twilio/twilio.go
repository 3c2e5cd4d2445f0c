// Package twilio is vaxbook's adapter to Twilio's Messages API, through
// Twilio's own library: it turns a rendered SMS (notify.Text) into a
// Messages create call, and the API's answer into sent, refused for good, or
// try again; and it checks the signature of Twilio's status callbacks.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/redact"
)

// Config is the Twilio part of the worker's (and the hooks') configuration.
type Config struct {
	// AccountSID is half of the API's credentials, kept in Secret Manager
	// beside the token.
	AccountSID string `env:"TWILIO_ACCOUNT_SID" json:"-"`
	AuthToken  string `env:"TWILIO_AUTH_TOKEN" json:"-"`
	// From is the sender: a number (+E.164), an alphanumeric sender ID, or
	// a Messaging Service (MG…), which picks the number itself.
	From string `env:"SMS_FROM"`
	// BaseURL is overridable so tests can stand a local server in for
	// Twilio.
	BaseURL string `env:"TWILIO_BASE_URL, default=https://api.twilio.com"`
	// StatusCallback is the public address of /hooks/twilio, given with
	// every message so Twilio reports its delivery there, and the URL its
	// signatures are checked against. Empty: no delivery reports.
	StatusCallback string `env:"TWILIO_STATUS_CALLBACK"`
}

// Set reports whether SMS sending is configured at all.
func (c Config) Set() bool { return c.AccountSID != "" || c.AuthToken != "" }

// sendTimeout bounds one call, within the push's ack deadline.
const sendTimeout = 20 * time.Second

// Client sends through Twilio.
type Client struct {
	sid, token, from string
	base             *url.URL
	callback         string
}

// New checks cfg and returns a client. The errors name the variable.
func New(cfg Config) (*Client, error) {
	switch {
	case cfg.AccountSID == "":
		return nil, errors.New("TWILIO_ACCOUNT_SID: required to send SMS")
	case !strings.HasPrefix(cfg.AccountSID, "AC") || !alnum(cfg.AccountSID):
		return nil, errors.New("TWILIO_ACCOUNT_SID: want the account SID, AC followed by 32 hex digits")
	case cfg.AuthToken == "" || !alnum(cfg.AuthToken):
		return nil, errors.New("TWILIO_AUTH_TOKEN: required to send SMS, letters and digits")
	case cfg.From == "":
		return nil, errors.New("SMS_FROM: required to send SMS (a +E.164 number, a sender ID or a Messaging Service SID)")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("TWILIO_BASE_URL: want an absolute http(s) URL, got %q", redact.URL(cfg.BaseURL))
	}
	if cfg.StatusCallback != "" {
		if u, err := url.Parse(cfg.StatusCallback); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			return nil, fmt.Errorf("TWILIO_STATUS_CALLBACK: want the absolute URL of /hooks/twilio, got %q", redact.URL(cfg.StatusCallback))
		}
	}
	return &Client{sid: cfg.AccountSID, token: cfg.AuthToken, from: cfg.From, base: base, callback: cfg.StatusCallback}, nil
}

func alnum(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// Send creates the message. A 2xx is a Receipt with the message's SID; a
// refusal no retry can fix (an invalid or unreachable number, a number that
// opted out) is a *notify.RejectedError; 429, 5xx, a network error, and
// 401/403/404, which mean our account or URL is wrong rather than the
// message, are ordinary errors, so the request waits and is tried again.
func (c *Client) Send(ctx context.Context, m notify.Text) (notify.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	// The library builds its requests without a context; the transport
	// gives each this call's, so a cancelled push stops waiting.
	tc := &client.Client{
		Credentials: client.NewCredentials(c.sid, c.token),
		HTTPClient:  &http.Client{Transport: rebase{ctx: ctx, base: c.base}, Timeout: sendTimeout},
	}
	tc.SetAccountSid(c.sid)
	params := &api.CreateMessageParams{}
	params.SetTo(m.To)
	params.SetBody(m.Body)
	if strings.HasPrefix(c.from, "MG") {
		params.SetMessagingServiceSid(c.from)
	} else {
		params.SetFrom(c.from)
	}
	if c.callback != "" {
		params.SetStatusCallback(c.callback)
	}
	msg, err := api.NewApiServiceWithClient(tc).CreateMessage(params)
	if rest, ok := errors.AsType[*client.TwilioRestError](err); ok {
		detail := fmt.Sprintf("twilio error %d: %s", rest.Code, rest.Message)
		if notify.Retryable(rest.Status) {
			return notify.Receipt{Status: rest.Status}, fmt.Errorf("twilio: status %d: %s", rest.Status, detail)
		}
		return notify.Receipt{Status: rest.Status}, &notify.RejectedError{Status: rest.Status, Detail: detail}
	}
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("twilio: %w", err)
	}
	rec := notify.Receipt{Status: http.StatusCreated}
	if msg.Sid != nil {
		rec.ID = *msg.Sid
	}
	return rec, nil
}

// rebase sends the library's requests, addressed to api.twilio.com, to
// base (TWILIO_BASE_URL) under ctx.
type rebase struct {
	ctx  context.Context
	base *url.URL
}

func (t rebase) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(t.ctx)
	r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, t.base.Host
	r.URL.Path = strings.TrimRight(t.base.Path, "/") + r.URL.Path
	return http.DefaultTransport.RoundTrip(r)
}

// Validator checks X-Twilio-Signature on the status callbacks, with the
// library's request validator.
type Validator struct {
	v   client.RequestValidator
	url string
}

// NewValidator checks what the hook needs: the auth token that signs and
// the callback URL Twilio signs over (TWILIO_STATUS_CALLBACK).
func NewValidator(cfg Config) (*Validator, error) {
	switch {
	case cfg.AuthToken == "":
		return nil, errors.New("TWILIO_AUTH_TOKEN: required to check Twilio's status callbacks")
	case cfg.StatusCallback == "":
		return nil, errors.New("TWILIO_STATUS_CALLBACK: required to check Twilio's status callbacks (the public URL of /hooks/twilio)")
	}
	return &Validator{v: client.NewRequestValidator(cfg.AuthToken), url: cfg.StatusCallback}, nil
}

// Valid reports whether signature is Twilio's over the callback URL and the
// form body.
func (v *Validator) Valid(body []byte, signature string) bool {
	if signature == "" {
		return false
	}
	return v.v.ValidateBody(v.url, body, signature)
}

// Meaning is what a status callback's MessageStatus and ErrorCode say of
// the message, and false for the statuses not recorded (queued, sent…).
// The codes that mark a number undeliverable are Twilio's for a number
// that does not exist or cannot take SMS (bounced) and for a recipient
// who blocked us or replied STOP (blocked).
func Meaning(status, errorCode string) (notify.Event, bool) {
	switch status {
	case "delivered":
		return notify.EventDelivered, true
	case "undelivered", "failed":
		switch errorCode {
		case "21211", "21614", "30005", "30006":
			return notify.EventBounced, true
		case "21610", "30004":
			return notify.EventBlocked, true
		}
		return notify.EventFailed, true
	}
	return "", false
}
