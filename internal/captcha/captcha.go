// Package captcha asks a captcha provider (Cloudflare Turnstile or Google
// reCAPTCHA) whether a token a person's browser obtained is genuine. Both
// providers take the same "siteverify" form, so one verifier serves both;
// only the URL differs.
package captcha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The providers a deployment can choose with CAPTCHA_PROVIDER.
const (
	Turnstile = "turnstile"
	ReCAPTCHA = "recaptcha"
)

// DefaultVerifyURL is each provider's official siteverify endpoint.
var DefaultVerifyURL = map[string]string{
	Turnstile: "https://challenges.cloudflare.com/turnstile/v0/siteverify",
	ReCAPTCHA: "https://www.google.com/recaptcha/api/siteverify",
}

// ErrRejected means the provider answered and said the token is not good:
// missing, expired, reused or forged. The person should try the check again.
var ErrRejected = errors.New("captcha token rejected")

// ErrUnavailable means the provider could not give an answer; the booking
// should be retried later rather than refused.
var ErrUnavailable = errors.New("captcha verify endpoint unavailable")

// Timeout bounds one verification, well inside the API's own request budget.
const Timeout = 5 * time.Second

// maxAnswer is far more than any siteverify answer; a larger body is not one.
const maxAnswer = 64 << 10

// Verifier checks tokens against one provider's endpoint with one secret.
type Verifier struct {
	verifyURL string
	secret    string
	client    *http.Client

	// A token solved on another site (a copy of the page, a solving farm's
	// page with our site key) or for another widget is refused; empty
	// checks nothing.
	hostnames []string
	action    string
}

// Expect makes v refuse a token unless the provider reports it was solved
// on one of hostnames (compared without case) and, when action is not
// empty, by the widget rendered with that action. Turnstile reports both;
// reCAPTCHA v2 reports only the hostname, so leave action empty for it.
func (v *Verifier) Expect(hostnames []string, action string) *Verifier {
	v.hostnames, v.action = hostnames, action
	return v
}

// New returns a Verifier that posts to verifyURL. A nil client gets one
// with Timeout.
func New(verifyURL, secret string, client *http.Client) *Verifier {
	if client == nil {
		client = &http.Client{Timeout: Timeout}
	}
	return &Verifier{verifyURL: verifyURL, secret: secret, client: client}
}

// answer is the part of the siteverify answer both providers share.
type answer struct {
	Success    bool     `json:"success"`
	ErrorCodes []string `json:"error-codes"`
	Hostname   string   `json:"hostname"`
	Action     string   `json:"action"`
}

// Verify posts the token, the secret and the person's address form-encoded,
// as both providers document, and returns nil when the provider says
// success. Otherwise the error wraps ErrRejected or ErrUnavailable.
func (v *Verifier) Verify(ctx context.Context, token, remoteIP string) error {
	form := url.Values{"secret": {v.secret}, "response": {token}}
	if remoteIP != "" {
		form.Set("remoteip", remoteIP)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.verifyURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%w: build request: %v", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%w: read answer: %v", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: status %d", ErrUnavailable, resp.StatusCode)
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("%w: answer is not JSON: %v", ErrUnavailable, err)
	}
	if a.Success {
		return v.expected(a)
	}
	// Turnstile says "internal-error" when it, not the token, is at fault;
	// a wrong secret is ours too, and refusing people for it would blame them.
	for _, c := range a.ErrorCodes {
		if c == "internal-error" || strings.HasSuffix(c, "-secret") {
			return fmt.Errorf("%w: provider says %s", ErrUnavailable, strings.Join(a.ErrorCodes, ", "))
		}
	}
	if len(a.ErrorCodes) == 0 {
		return fmt.Errorf("%w: no reason given", ErrRejected)
	}
	return fmt.Errorf("%w: %s", ErrRejected, strings.Join(a.ErrorCodes, ", "))
}

// expected holds a successful answer to the hostnames and action v expects.
func (v *Verifier) expected(a answer) error {
	if len(v.hostnames) > 0 && !slices.ContainsFunc(v.hostnames, func(h string) bool { return strings.EqualFold(h, a.Hostname) }) {
		return fmt.Errorf("%w: solved on %q, not on this site", ErrRejected, a.Hostname)
	}
	if v.action != "" && a.Action != v.action {
		return fmt.Errorf("%w: solved for action %q, want %q", ErrRejected, a.Action, v.action)
	}
	return nil
}
