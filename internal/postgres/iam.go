package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// IAMAuth is DATABASE_IAM_AUTH: on, the pool logs in with Cloud SQL IAM
// database authentication, as the service account the process runs as
// (DATABASE_URL names its user, vaxbook-worker@PROJECT.iam, and carries no
// password). That is how the deployed services log in (deploy/README.md,
// "Database roles"): no password to leak or rotate, and each service is its
// own database user, a member of its role's group (migrations/000005_roles).
type IAMAuth bool

// EnvDecode reads on or off, as the other switches are spelt.
func (a *IAMAuth) EnvDecode(v string) error {
	switch v {
	case "on":
		*a = true
	case "off":
		*a = false
	default:
		return fmt.Errorf("want on or off, got %q", v)
	}
	return nil
}

// sqlLoginScope is the OAuth scope of a Cloud SQL login token.
const sqlLoginScope = "https://www.googleapis.com/auth/sqlservice.login"

// iamLogin makes every new connection log in with a fresh access token of
// the process's service account as its password (Cloud SQL's "manual" IAM
// database authentication, over the TLS the URL's sslmode asks for). A
// token lives an hour; ts hands out a cached one until shortly before it
// expires, so a connection costs no extra call most of the time.
func iamLogin(ts oauth2.TokenSource) func(context.Context, *pgx.ConnConfig) error {
	return func(_ context.Context, cc *pgx.ConnConfig) error {
		tok, err := ts.Token()
		if err != nil {
			return fmt.Errorf("DATABASE_IAM_AUTH: get a login token: %w", err)
		}
		cc.Password = tok.AccessToken
		return nil
	}
}

// defaultTokenSource is the process's own service account (the metadata
// server on Cloud Run). Its context outlives the call: the source refreshes
// the token long after New returned.
func defaultTokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	ts, err := google.DefaultTokenSource(context.WithoutCancel(ctx), sqlLoginScope)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_IAM_AUTH: find the service account's credentials: %w", err)
	}
	return ts, nil
}
