// Package sendgrid is vaxbook's adapter to SendGrid's v3 mail/send API: it
// turns a rendered email.Message into the API's JSON and the API's answer
// into sent, rejected for good, or try again.
package sendgrid

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	sg "github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/redact"
)

// Config is the SendGrid part of the worker's configuration.
type Config struct {
	APIKey string `env:"SENDGRID_API_KEY" json:"-"`
	// BaseURL is overridable so tests can stand a local server in for
	// SendGrid.
	BaseURL string `env:"SENDGRID_BASE_URL, default=https://api.sendgrid.com"`
}

// sendTimeout bounds one call; SendGrid answers in well under a second, and
// a push must be answered within its subscription's ack deadline.
const sendTimeout = 20 * time.Second

// Client sends through SendGrid.
type Client struct {
	key  string
	host string
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("SENDGRID_API_KEY: empty")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("SENDGRID_BASE_URL: want an absolute http(s) URL, got %q", redact.URL(cfg.BaseURL))
	}
	return &Client{key: cfg.APIKey, host: strings.TrimRight(cfg.BaseURL, "/")}, nil
}

// Send posts m to /v3/mail/send. A 2xx is a Receipt; a refusal that no retry
// can fix is a *notify.RejectedError; anything else (429, 5xx, a network
// error, and 401/403/404, which mean our key or URL is wrong rather than the
// message) is an ordinary error, so the request waits and is tried again.
func (c *Client) Send(ctx context.Context, m email.Message) (notify.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	req := sg.GetRequest(c.key, "/v3/mail/send", c.host)
	req.Method = http.MethodPost
	req.Body = mail.GetRequestBody(v3Mail(m))
	resp, err := sg.MakeRequestWithContext(ctx, req)
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("sendgrid: %w", err)
	}
	// The library hands back every HTTP answer with err == nil.
	rec := notify.Receipt{Status: resp.StatusCode, ID: http.Header(resp.Headers).Get("X-Message-Id")}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return rec, nil
	case notify.Retryable(code):
		return rec, fmt.Errorf("sendgrid: status %d: %s", code, clip(resp.Body))
	default:
		return rec, &notify.RejectedError{Status: code, Detail: clip(resp.Body)}
	}
}

// v3Mail builds the mail/send body: one personalization, text before HTML
// (the API requires text/plain first), attachments base64.
func v3Mail(m email.Message) *mail.SGMailV3 {
	v := mail.NewV3Mail()
	v.SetFrom(mail.NewEmail(m.From.Name, m.From.Email))
	v.Subject = m.Subject
	p := mail.NewPersonalization()
	p.AddTos(mail.NewEmail(m.To.Name, m.To.Email))
	v.AddPersonalizations(p)
	v.AddContent(mail.NewContent("text/plain", m.Text), mail.NewContent("text/html", m.HTML))
	for _, a := range m.Attachments {
		v.AddAttachment(mail.NewAttachment().
			SetContent(base64.StdEncoding.EncodeToString(a.Content)).
			SetType(a.ContentType).
			SetFilename(a.Filename).
			SetDisposition("attachment"))
	}
	// Custom arguments come back in SendGrid's event webhook, tying a bounce
	// to the booking without putting anything personal in them.
	v.SetCustomArg("reference", m.Reference)
	v.SetCustomArg("kind", string(m.Kind))
	v.SetTrackingSettings(untracked())
	return v
}

// untracked switches off every tracking SendGrid may have on for the
// account, whatever its dashboard says. Click tracking rewrites each link
// through SendGrid's domain, so the booking page's link would no longer show
// our address (teaching people to follow look-alike links, issue 11) and a
// third party would learn who opened which booking; open tracking embeds a
// pixel that reports when and where a person read about their appointment.
// Neither is anything a vaccination notice needs.
func untracked() *mail.TrackingSettings {
	return mail.NewTrackingSettings().
		SetClickTracking(mail.NewClickTrackingSetting().SetEnable(false).SetEnableText(false)).
		SetOpenTracking(mail.NewOpenTrackingSetting().SetEnable(false)).
		SetSubscriptionTracking(mail.NewSubscriptionTrackingSetting().SetEnable(false)).
		SetGoogleAnalytics(mail.NewGaSetting().SetEnable(false))
}

// clip keeps an error body short enough for a log line and a column.
func clip(s string) string {
	const max = 500
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
