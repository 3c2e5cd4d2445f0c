package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/respond"
)

type registerAnswer struct {
	Reference string       `json:"reference"`
	Status    queue.Status `json:"status"`
}

// handleRegister accepts a registration for a queue state the way
// handleSubmit accepts a booking: the same checks in the same order, the
// same body limit, and 202 only once Pub/Sub has the message
// (docs/queue.md, "Registering").
func handleRegister(log *slog.Logger, cache *microCache, q Queue, abuse Abuse, human Captcha, contact Proof, refs *booking.References, publishTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log := logging.FromContext(ctx, log)

		key, form, person, err := readForm(w, r, booking.DecodeRegistration, booking.RegistrationForm.Validate)
		if err != nil {
			fail(w, r, log, err)
			return
		}

		ref := booking.NewReference()
		if key != "" {
			ref = refs.For(key, person.IDNumber)
			// A retry of an accepted registration is answered from its
			// record: it was queued already and must not be queued again.
			if prior, err := q.Records.Get(ctx, ref); err == nil && prior.Reference == ref {
				respond.JSON(w, http.StatusAccepted, registerAnswer{Reference: ref, Status: prior.Status})
				return
			}
		}

		if err := checkQueueMode(ctx, cache, person.State); err != nil {
			fail(w, r, log, err)
			return
		}
		release, err := admitPerson(ctx, log, r, abuse, human, contact, true, form.Proof, form.CaptchaToken, "register", person)
		if err != nil {
			fail(w, r, log, err)
			return
		}

		reg := queue.Registration{
			Reference: ref, State: person.State, Name: person.Name, IDNumber: person.IDNumber,
			Phone: person.Phone, Email: person.Email, Lang: person.Lang, Contact: person.Contact,
			ReceivedAt: time.Now().UTC(),
		}
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		defer cancel()
		if err := q.Publisher.Publish(pctx, reg); err != nil {
			release()
			fail(w, r, log, errRegistrationUnqueued.because(fmt.Errorf("queue registration %s: %w", ref, err)))
			return
		}
		// Set never moves a record back, so a worker that was faster keeps
		// its queued or duplicate.
		if err := q.Records.Set(ctx, queue.Record{Reference: ref, State: reg.State, Status: queue.StatusReceived}); err != nil {
			// The registration is queued and will be recorded; only the
			// interim status is missing until the worker writes its own.
			log.Warn("record received registration", "reference", ref, "error", err)
		}
		respond.JSON(w, http.StatusAccepted, registerAnswer{Reference: ref, Status: queue.StatusReceived})
	})
}

// checkQueueMode refuses a registration for a state that is unknown or not
// in queue mode, as the /states document the cache-fill loop last wrote
// says.
func checkQueueMode(ctx context.Context, cache *microCache, state string) error {
	s, err := submittedState(ctx, cache, state)
	if err != nil {
		return err
	}
	if queue.Mode(s.Mode) != queue.ModeQueue {
		return errNotQueueMode
	}
	return nil
}
