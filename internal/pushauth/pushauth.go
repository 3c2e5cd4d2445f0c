// Package pushauth checks that a push request really comes from Pub/Sub: the
// OIDC token Pub/Sub attaches to every push (as Authorization: Bearer) must
// be signed by Google, be meant for the endpoint it arrives at, and name the
// push identity the subscriptions were created with. IAM on the Cloud Run
// service is the first lock; this is the second, so that a mistaken
// allUsers binding, an ingress change or `vaxbook dev` reached from a LAN
// does not let anyone book or send mail by posting an envelope.
package pushauth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/api/idtoken"
	"google.golang.org/api/option"
)

// Config is the push authentication part of the worker's configuration.
type Config struct {
	// Mode is on unless an operator says off; only `vaxbook dev` (whose
	// relay stands in for Pub/Sub on loopback) and tests that say so run
	// without it.
	Mode string `env:"PUSH_AUTH, default=on"`
	// Audience is the worker's own base URL (https://worker-N.REGION.run.app).
	// Each push route wants a token for its own URL, Audience + path, which
	// is what bootstrap.sh sets as each subscription's token audience, so a
	// token minted for one route does not open another.
	Audience string `env:"PUSH_AUDIENCE"`
	// ServiceAccount is the push identity, vaxbook-push@PROJECT.iam.gserviceaccount.com:
	// a token of any other account, however valid, is refused.
	ServiceAccount string `env:"PUSH_SERVICE_ACCOUNT"`
}

// Off reports whether push authentication is switched off.
func (c Config) Off() bool { return c.Mode == "off" }

// Unset reports that the check is on but nobody said whose tokens to take:
// the worker then starts, so its probes answer, and refuses every push.
// Half of the pair set is a mistake, which Check names.
func (c Config) Unset() bool { return c.Mode == "on" && c.Audience == "" && c.ServiceAccount == "" }

// Check validates the settings, with one line naming the variable at fault.
func (c Config) Check() error {
	switch c.Mode {
	case "on", "off":
	default:
		return fmt.Errorf("configuration: PUSH_AUTH: want on or off, got %q", c.Mode)
	}
	if c.Off() || c.Unset() {
		return nil
	}
	if _, err := baseURL(c.Audience); err != nil {
		return fmt.Errorf("configuration: PUSH_AUDIENCE: %w", err)
	}
	if a, err := mail.ParseAddress(c.ServiceAccount); err != nil || a.Address != c.ServiceAccount {
		return fmt.Errorf("configuration: PUSH_SERVICE_ACCOUNT: want the push service account's e-mail address (required while PUSH_AUTH is on), got %q", c.ServiceAccount)
	}
	return nil
}

// baseURL checks s is an absolute http(s) URL with nothing after the host,
// and returns it without a trailing slash.
func baseURL(s string) (string, error) {
	if s == "" {
		return "", errors.New("required while PUSH_AUTH is on: the worker's base URL, https://worker-PROJECT_NUMBER.REGION.run.app")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("want the worker's base URL such as https://worker-123.asia-southeast1.run.app, got %q", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}

// The two ways a push is refused. A request without a usable token is
// unauthenticated (401); a genuine Google token that is not Pub/Sub's push
// identity speaking to this endpoint is forbidden (403).
var (
	ErrUnauthenticated = errors.New("push: no valid bearer token")
	ErrForbidden       = errors.New("push: token not for this endpoint or not the push identity")
)

// Verifier checks push requests' tokens.
type Verifier struct {
	validator *idtoken.Validator
	audience  string // base URL; the path is added per request
	account   string
}

// New builds a verifier for an on Config (check it first). opts reach
// idtoken's certificate fetch: tests point it at a local key set.
func New(ctx context.Context, cfg Config, opts ...option.ClientOption) (*Verifier, error) {
	base, err := baseURL(cfg.Audience)
	if err != nil {
		return nil, fmt.Errorf("configuration: PUSH_AUDIENCE: %w", err)
	}
	v, err := idtoken.NewValidator(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("push token validator: %w", err)
	}
	return &Verifier{validator: v, audience: base, account: cfg.ServiceAccount}, nil
}

// googleIssuers are the issuers of Google-signed ID tokens; idtoken checks
// the signature and expiry but not the issuer.
var googleIssuers = []string{"https://accounts.google.com", "accounts.google.com"}

// Verify checks the Authorization header of a push to path. The error wraps
// ErrUnauthenticated or ErrForbidden and says why, without the token.
func (v *Verifier) Verify(ctx context.Context, authorization, path string) error {
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return fmt.Errorf("%w: no Authorization: Bearer header", ErrUnauthenticated)
	}
	// The audience is compared below rather than by idtoken, which checks
	// it before the signature: a forged token must read as unauthenticated
	// whatever audience it claims.
	p, err := v.validator.Validate(ctx, strings.TrimSpace(token), "")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	if !slices.Contains(googleIssuers, p.Issuer) {
		return fmt.Errorf("%w: issuer %q is not Google", ErrUnauthenticated, p.Issuer)
	}
	if want := v.audience + path; p.Audience != want {
		return fmt.Errorf("%w: audience %q, want %q", ErrForbidden, p.Audience, want)
	}
	email, _ := p.Claims["email"].(string)
	if email != v.account {
		return fmt.Errorf("%w: account %q is not the push identity", ErrForbidden, email)
	}
	if verified, _ := p.Claims["email_verified"].(bool); !verified {
		return fmt.Errorf("%w: email_verified is not true", ErrForbidden)
	}
	return nil
}
