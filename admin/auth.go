package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/api/idtoken"
	"google.golang.org/api/option"
)

// Verifier turns a sign-in credential into the address of a Google account
// that proved it holds it.
type Verifier interface {
	Verify(ctx context.Context, credential string) (email string, err error)
}

// ErrSignIn is a credential that proves nothing: forged, expired, for
// another client, or of an unverified address.
var ErrSignIn = errors.New("sign-in not valid")

// Google checks Google ID tokens (what Sign in with Google hands the page)
// in the service itself: signed by Google, issued to the admin OAuth
// client, unexpired, naming a verified address. Chosen over
// Identity-Aware Proxy so the same check runs in every environment and
// the allow-list and roles live beside the data they guard, in Postgres.
type Google struct {
	validator *idtoken.Validator
	clientID  string
}

// NewGoogle builds the check for clientID (ADMIN_CLIENT_ID). opts reach
// idtoken's certificate fetch: tests point it at a local key set.
func NewGoogle(ctx context.Context, clientID string, opts ...option.ClientOption) (*Google, error) {
	if clientID == "" {
		return nil, errors.New("configuration: ADMIN_CLIENT_ID: required (the admin OAuth client id)")
	}
	v, err := idtoken.NewValidator(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("admin sign-in validator: %w", err)
	}
	return &Google{validator: v, clientID: clientID}, nil
}

// googleIssuers: idtoken checks signature, expiry and audience, not issuer.
var googleIssuers = []string{"https://accounts.google.com", "accounts.google.com"}

// Verify checks an ID token; the error wraps ErrSignIn.
func (g *Google) Verify(ctx context.Context, token string) (string, error) {
	p, err := g.validator.Validate(ctx, token, g.clientID)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrSignIn, err)
	}
	if !slices.Contains(googleIssuers, p.Issuer) {
		return "", fmt.Errorf("%w: issuer %q is not Google", ErrSignIn, p.Issuer)
	}
	email, _ := p.Claims["email"].(string)
	if verified, _ := p.Claims["email_verified"].(bool); email == "" || !verified {
		return "", fmt.Errorf("%w: no verified e-mail address", ErrSignIn)
	}
	return strings.ToLower(email), nil
}

// DevSignIn stands in for Google in `vaxbook dev` only: the credential is
// "dev:" and an address, taken at its word. The address must still be on
// the staff list. Never wired into the deployed role.
type DevSignIn struct{}

// DevPrefix starts a dev credential.
const DevPrefix = "dev:"

// Verify takes the address after DevPrefix.
func (DevSignIn) Verify(_ context.Context, credential string) (string, error) {
	email, ok := strings.CutPrefix(credential, DevPrefix)
	if !ok || !strings.Contains(email, "@") {
		return "", fmt.Errorf("%w: want dev:ADDRESS", ErrSignIn)
	}
	return strings.ToLower(strings.TrimSpace(email)), nil
}
