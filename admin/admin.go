// Package admin is the `vaxbook admin` role: the centres' staff pages and
// their JSON API, behind Google sign-in, over Postgres. Staff add sessions
// (one, or a seed-format CSV), change a capacity, close a session or a
// centre's day (offering the people booked a change of time first), and run
// the day list with check-in and its CSV export. Every change is audited in
// its own transaction (internal/postgres/admin.go). It is its own Cloud Run
// service: the public api never reads Postgres.
package admin

import (
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/closing"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// Config is the admin role's own configuration.
type Config struct {
	// ClientID is the admin OAuth client's id: the audience staff's ID
	// tokens must carry.
	ClientID string `env:"ADMIN_CLIENT_ID"`
	// IDPepper is the worker's ID_PEPPER: a day list is searched by a typed
	// ID number only through its hash.
	IDPepper string `env:"ID_PEPPER" json:"-"`
	// ManageSecret is the worker's MANAGE_SECRET: a closing session's
	// notice carries each person's manage link.
	ManageSecret string `env:"MANAGE_SECRET" json:"-"`
	// EmailTopic is where the messages of closed sessions are asked for.
	EmailTopic string `env:"EMAIL_TOPIC, default=email-topic"`
	// StatusTTL is how long the booking records it rewrites live, as the
	// worker's.
	StatusTTL time.Duration `env:"STATUS_TTL, default=720h"`
}

// ManageSigner checks MANAGE_SECRET; nil when it is unset (closing
// notices then carry no manage link).
func (c Config) ManageSigner() (*booking.ManageSigner, error) {
	return booking.ConfiguredManageSigner(c.ManageSecret)
}

// Prefix is where the role serves everything, so `vaxbook dev` mounts it
// beside the public page unchanged.
const Prefix = "/admin"

// Mailer asks for messages, on the channels each person chose.
type Mailer = closing.Mailer

// Statuses rewrites a booking's status record (redis.Statuses), so a
// cancelled booking's page and GET /status say so.
type Statuses = closing.Statuses

// Options are the admin server's dependencies.
type Options struct {
	Store    *postgres.Admin
	Verifier Verifier
	IDs      *pii.Pepper
	Mail     Mailer
	Statuses Statuses
	// Manage signs the manage link a closing notice carries, so people
	// can move to another time; nil sends the notice without one.
	Manage *booking.ManageSigner
	// ClientID is shown to the page for Google's button; empty in dev.
	ClientID string
	// Dev marks `vaxbook dev`: the sign-in stand-in, cookies without
	// Secure (plain http on loopback).
	Dev bool
}

//go:embed page
var pageFS embed.FS

// NewServer builds the admin role's handler; every route is here.
func NewServer(log *slog.Logger, o Options) http.Handler {
	page, _ := fs.Sub(pageFS, "page")
	mux := http.NewServeMux()
	mux.Handle("GET "+Prefix+"/{$}", servePage(page, "index.html", o.ClientID != ""))
	mux.Handle("GET "+Prefix+"/admin.js", servePage(page, "admin.js", false))
	mux.Handle("GET "+Prefix+"/admin.css", servePage(page, "admin.css", false))
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	mux.Handle("GET /readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := o.Store.Pool().Ping(r.Context()); err != nil {
			respond.Unavailable(w, 0, "postgres_unreachable", "Postgres does not answer.")
			return
		}
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}))
	mux.Handle("GET "+Prefix+"/api/config", handleConfig(o))
	mux.Handle("POST "+Prefix+"/session", handleSignIn(log, o))
	mux.Handle("DELETE "+Prefix+"/session", handleSignOut(o))

	staff := func(h staffHandler) http.Handler { return authed(log, o, h) }
	mux.Handle("GET "+Prefix+"/api/me", staff(handleMe(log, o.Store)))
	mux.Handle("POST "+Prefix+"/api/slots", staff(handleAddSlot(log, o.Store)))
	mux.Handle("POST "+Prefix+"/api/slots/upload", staff(handleUpload(log, o.Store)))
	mux.Handle("POST "+Prefix+"/api/slots/{id}/capacity", staff(handleCapacity(log, o.Store)))
	mux.Handle("POST "+Prefix+"/api/slots/{id}/close", staff(handleClose(log, o)))
	mux.Handle("POST "+Prefix+"/api/centres/{id}/days/{date}/close", staff(handleCloseDay(log, o)))
	mux.Handle("GET "+Prefix+"/api/day", staff(handleDay(log, o)))
	mux.Handle("GET "+Prefix+"/api/day.csv", staff(handleDayCSV(log, o)))
	mux.Handle("POST "+Prefix+"/api/bookings/{ref}/attendance", staff(handleAttendance(log, o.Store)))
	return http.MaxBytesHandler(securityHeaders(mux), maxBody)
}

// maxBody bounds a request: a CSV of a few thousand sessions fits.
const maxBody = 2 << 20

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

func servePage(page fs.FS, name string, google bool) http.Handler {
	types := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(page, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		script, frame := "'self'", ""
		if google {
			// Sign in with Google's button and its one-tap frame.
			script, frame = "'self' https://accounts.google.com/gsi/client", " frame-src https://accounts.google.com/gsi/;"
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src "+script+"; style-src 'self' https://accounts.google.com/gsi/style; connect-src 'self' https://accounts.google.com/gsi/;"+frame+" object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		w.Header().Set("Content-Type", types[name[strings.LastIndex(name, "."):]])
		_, _ = w.Write(b)
	})
}

// fail maps the store's errors to answers; anything else is logged once
// here and answered without detail.
func fail(w http.ResponseWriter, log *slog.Logger, err error) {
	var below *postgres.CapacityBelowBookedError
	switch {
	case errors.As(err, &below):
		respond.Fail(w, http.StatusConflict, respond.Error{Code: "capacity_below_booked", Field: "capacity", Message: below.Error()})
	case errors.Is(err, postgres.ErrOutOfScope):
		respond.Fail(w, http.StatusForbidden, respond.Error{Code: "not_your_centre", Message: "That centre is not one of yours."})
	case errors.Is(err, postgres.ErrSlotClosed):
		respond.Fail(w, http.StatusConflict, respond.Error{Code: "slot_closed", Message: "That session is closed."})
	case errors.Is(err, postgres.ErrNotConfirmed):
		respond.Fail(w, http.StatusConflict, respond.Error{Code: "not_confirmed", Message: "Only a confirmed booking can be checked in."})
	default:
		log.Error("admin request", "error", err)
		respond.Unavailable(w, 0, "unavailable", "The change could not be made; nothing was changed. Try again.")
	}
}

func badRequest(w http.ResponseWriter, field, msg string) {
	respond.Fail(w, http.StatusBadRequest, respond.Error{Code: "invalid", Field: field, Message: msg})
}
