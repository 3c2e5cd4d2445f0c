package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/respond"
	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// RegistrationsPushPath is where registrations-topic's push subscription
// posts.
const RegistrationsPushPath = "/push/registrations"

// Registrar records registrations and keeps what it cannot use.
type Registrar interface {
	Record(ctx context.Context, reg queue.Registration, messageID string) (queue.Record, error)
	Reject(ctx context.Context, m postgres.RejectedMessage) error
}

// RegistrationRecords publishes the records GET /registration shows.
type RegistrationRecords interface {
	Set(ctx context.Context, rec queue.Record) error
}

// HandleRegistrations records each registration in one transaction, writes
// its record to Redis, and only then acknowledges: a record lost between
// the two is written again by the redelivery, which finds the registration
// recorded (docs/queue.md, "Registering").
func HandleRegistrations(log *slog.Logger, reg Registrar, records RegistrationRecords) http.Handler {
	return pushHandler(log, reg, decodeJSON("a registration", checkRegistration), func(w http.ResponseWriter, r *http.Request, log *slog.Logger, p pushed[queue.Registration]) {
		ctx, msg, id := r.Context(), p.msg, p.env.Message.ID()
		rec, err := reg.Record(ctx, msg, id)
		switch {
		case errors.Is(err, postgres.ErrUnknownState):
			// The API checked the state against /states; one unknown
			// here did not come from it, and never will be known.
			rejectMalformed(ctx, w, log, reg, p.raw, p.env, "unknown state "+msg.State)
			return
		case err != nil:
			telemetry.StoreError(ctx, "postgres")
			log.Error("record registration", "reference", msg.Reference, "message_id", id, "error", err)
			respond.Unavailable(w, 0, "retry", "The registration could not be stored; deliver it again.")
			return
		}
		if err := records.Set(ctx, rec); err != nil {
			telemetry.StoreError(ctx, "redis")
			log.Error("write registration record", "reference", msg.Reference, "error", err)
			respond.Unavailable(w, 0, "retry", "The registration record could not be published; deliver it again.")
			return
		}
		telemetry.Registered(ctx, rec.State, string(rec.Status))
		log.Debug("registered", "reference", rec.Reference, "status", string(rec.Status), "place", rec.Place)
		w.WriteHeader(http.StatusNoContent)
	})
}

// checkRegistration holds the message to everything the API checks, with
// the same rules: a registration that would not pass POST /register, or
// that the API would have normalised differently, did not come from it.
func checkRegistration(reg queue.Registration) error {
	switch {
	case !booking.ValidReference(reg.Reference):
		return errors.New("reference missing or malformed")
	case reg.ReceivedAt.IsZero():
		return errors.New("received_at missing")
	}
	person, err := booking.RegistrationForm{
		State: reg.State, Name: reg.Name, IDNumber: reg.IDNumber, Phone: reg.Phone,
		Email: reg.Email, Lang: reg.Lang, Contact: string(reg.Contact),
	}.Validate()
	if err != nil {
		return fmt.Errorf("invalid registration: %w", err)
	}
	for _, f := range []struct{ name, got, want string }{
		{"state", reg.State, person.State},
		{"name", reg.Name, person.Name},
		{"id_number", reg.IDNumber, person.IDNumber},
		{"phone", reg.Phone, person.Phone},
		{"email", reg.Email, person.Email},
		{"lang", reg.Lang, person.Lang},
		{"contact", string(reg.Contact), string(person.Contact)},
	} {
		if f.got != f.want {
			return fmt.Errorf("%s is not normalised", f.name)
		}
	}
	return nil
}
