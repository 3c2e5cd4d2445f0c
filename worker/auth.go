package worker

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/pushauth"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// pushPrefix is where every push route lives. Authentication is applied to
// the prefix rather than route by route, so a push route added later is
// covered without anyone remembering to.
const pushPrefix = "/push/"

// PushVerifier tells whether a push request carries Pub/Sub's token for
// path (pushauth.Verifier). Its error wraps pushauth.ErrForbidden for a
// genuine token that is not the push identity's for this endpoint (403);
// any other error means no usable token (401).
type PushVerifier interface {
	Verify(ctx context.Context, authorization, path string) error
}

// WithPushAuth makes every push route demand a token v accepts.
func WithPushAuth(v PushVerifier) Option {
	return func(o *options) { o.verifier, o.authOff = v, false }
}

// WithoutPushAuth serves push routes to anyone who can reach them: only for
// PUSH_AUTH=off (`vaxbook dev`, whose relay stands in for Pub/Sub on
// loopback) and tests that say so. Without either option every push is
// refused: the worker fails closed.
func WithoutPushAuth() Option {
	return func(o *options) { o.verifier, o.authOff = nil, true }
}

// requirePushAuth answers 401 or 403 to a push without a valid token before
// its body is read, so nothing of it is decoded, recorded, booked or sent.
func requirePushAuth(log *slog.Logger, o options) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if o.authOff {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, pushPrefix) {
				next.ServeHTTP(w, r)
				return
			}
			err := errors.New("no push verifier configured")
			if o.verifier != nil {
				err = o.verifier.Verify(r.Context(), r.Header.Get("Authorization"), r.URL.Path)
			}
			if err == nil {
				next.ServeHTTP(w, r)
				return
			}
			logging.FromContext(r.Context(), log).Warn("push refused", "path", r.URL.Path, "reason", err.Error())
			if errors.Is(err, pushauth.ErrForbidden) {
				respond.Fail(w, http.StatusForbidden, respond.Error{Code: "forbidden", Message: "This token may not push here."})
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="pubsub-push"`)
			respond.Fail(w, http.StatusUnauthorized, respond.Error{Code: "unauthenticated", Message: "A push needs Pub/Sub's OIDC token."})
		})
	}
}
