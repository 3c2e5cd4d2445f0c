package admin

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// cookieName holds the ID token itself: every request is checked against
// Google's keys and the staff list as it stands, so removing someone from
// the list takes effect on their next click, and the service keeps no
// session state or secret of its own. It lasts as the token does (an
// hour); the page then asks Google again.
const cookieName = "vaxbook_admin"

// csrfHeader must be on every change: a cross-site form cannot set it, and
// a cross-site fetch that does needs a CORS preflight this service never
// answers.
const csrfHeader = "X-Vaxbook-Admin"

type staffHandler func(w http.ResponseWriter, r *http.Request, s postgres.Staff)

func handleConfig(o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]any{"client_id": o.ClientID, "dev": o.Dev})
	})
}

// handleSignIn takes {"credential": ID token} from Google's button (or, in
// dev, "dev:ADDRESS"), checks it and the staff list, and sets the cookie.
func handleSignIn(log *slog.Logger, o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Credential string `json:"credential"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Credential == "" {
			badRequest(w, "credential", "Send the sign-in credential.")
			return
		}
		s, ok := signedIn(w, r, log, o, body.Credential)
		if !ok {
			return
		}
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: body.Credential, Path: Prefix, MaxAge: 3600,
			HttpOnly: true, Secure: !o.Dev, SameSite: http.SameSiteStrictMode})
		respond.JSON(w, http.StatusOK, s)
	})
}

func handleSignOut(o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, MaxAge: -1,
			HttpOnly: true, Secure: !o.Dev, SameSite: http.SameSiteStrictMode})
		w.WriteHeader(http.StatusNoContent)
	})
}

// authed serves h to signed-in staff only: the credential from the cookie
// or an Authorization: Bearer header, checked on every request.
func authed(log *slog.Logger, o Options, h staffHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Header.Get(csrfHeader) == "" {
			respond.Fail(w, http.StatusForbidden, respond.Error{Code: "csrf", Message: "Changes need the " + csrfHeader + " header."})
			return
		}
		cred := ""
		if c, err := r.Cookie(cookieName); err == nil {
			cred = c.Value
		}
		if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
			cred = strings.TrimSpace(tok)
		}
		if cred == "" {
			respond.Fail(w, http.StatusUnauthorized, respond.Error{Code: "sign_in_required", Message: "Sign in first."})
			return
		}
		s, ok := signedIn(w, r, log, o, cred)
		if !ok {
			return
		}
		h(w, r, s)
	})
}

// signedIn checks a credential and its address against the staff list; on
// false it has answered.
func signedIn(w http.ResponseWriter, r *http.Request, log *slog.Logger, o Options, cred string) (postgres.Staff, bool) {
	email, err := o.Verifier.Verify(r.Context(), cred)
	if err != nil {
		log.Info("admin sign-in refused", "error", err)
		respond.Fail(w, http.StatusUnauthorized, respond.Error{Code: "sign_in_invalid", Message: "The sign-in is not valid or has expired: sign in again."})
		return postgres.Staff{}, false
	}
	s, err := o.Store.FindStaff(r.Context(), email)
	if errors.Is(err, postgres.ErrNotStaff) {
		log.Info("admin sign-in: not staff", "email", email)
		respond.Fail(w, http.StatusForbidden, respond.Error{Code: "not_staff", Message: "This Google account is not on the staff list."})
		return s, false
	}
	if err != nil {
		fail(w, log, err)
		return s, false
	}
	return s, true
}

// me is what the page shows of the signed-in person.
type me struct {
	postgres.Staff
	Centres []postgres.Centre `json:"centres"`
}

func handleMe(log *slog.Logger, store *postgres.Admin) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, s postgres.Staff) {
		cs, err := store.Centres(r.Context(), s)
		if err != nil {
			fail(w, log, err)
			return
		}
		respond.JSON(w, http.StatusOK, me{Staff: s, Centres: cs})
	}
}
