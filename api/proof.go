package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/proof"
	"github.com/vaxbook/vaxbook/internal/ratelimit"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// Proof is contact proof (CONTACT_PROOF, docs/contract.md "Contact proof"):
// a booking or registration without an invitation counts only with the
// code POST /proof sent to its e-mail address. The zero value is off.
//
// It is checked with the secret and Redis alone: the challenge carries,
// under an HMAC, the address, the expiry and the code, so no instance
// stores what it sent, and Redis only counts the tries per challenge.
type Proof struct {
	Signer   *proof.Signer // nil: off
	Tries    ProofTries
	Mail     ProofMail
	TTL      time.Duration // how long a code counts; default 15 minutes
	MaxTries int           // wrong codes per challenge; default 5
}

// ProofTries counts the codes tried per challenge (redis.ProofTries).
type ProofTries interface {
	Reserve(ctx context.Context, id string, limit int, ttl time.Duration) (bool, error)
	Refund(ctx context.Context, id string) error
}

// ProofMail asks for the e-mail that carries a code, on email-topic,
// returning once Pub/Sub acknowledged it.
type ProofMail interface {
	Publish(ctx context.Context, r email.Request) error
}

// On reports whether bookings and registrations need a proof.
func (p Proof) On() bool { return p.Signer != nil }

func (p Proof) withDefaults() Proof {
	if p.TTL <= 0 {
		p.TTL = 15 * time.Minute
	}
	if p.MaxTries <= 0 {
		p.MaxTries = 5
	}
	return p
}

// ProofConfig is CONTACT_PROOF and its settings. Off by default, in code
// and in `vaxbook dev` (whose clients, tests among them, send the contract's
// plain bodies); deploy/api.yaml turns it on.
type ProofConfig struct {
	Mode string `env:"CONTACT_PROOF, default=off"` // on | off
	// Secret signs the challenges; the same on every instance (Secret
	// Manager), or a code sent by one would not count on another.
	Secret   string        `env:"CONTACT_PROOF_SECRET" json:"-"`
	TTL      time.Duration `env:"CONTACT_PROOF_TTL, default=15m"`
	MaxTries int           `env:"CONTACT_PROOF_TRIES, default=5"`
	// EmailTopic is where the code's e-mail is asked for: the worker's
	// email-topic, sent through the same send-once record and provider.
	EmailTopic string `env:"EMAIL_TOPIC"`
}

// proof checks the settings; the caller adds Tries and Mail, which need the
// Redis and Pub/Sub clients. An error is one line naming the variable.
func (c ProofConfig) proof() (Proof, error) {
	switch c.Mode {
	case "off", "":
		return Proof{}, nil
	case "on":
	default:
		return Proof{}, fmt.Errorf("configuration: CONTACT_PROOF: want on or off, got %q", c.Mode)
	}
	signer, err := proof.NewSigner(c.Secret)
	switch {
	case err != nil:
		return Proof{}, fmt.Errorf("configuration: CONTACT_PROOF_SECRET: %v, required while CONTACT_PROOF is on (got %d)", err, len(c.Secret))
	case c.EmailTopic == "":
		return Proof{}, fmt.Errorf("configuration: EMAIL_TOPIC: required while CONTACT_PROOF is on (the codes are e-mailed)")
	case c.TTL < time.Minute || c.TTL > 24*time.Hour:
		return Proof{}, fmt.Errorf("configuration: CONTACT_PROOF_TTL: want 1m to 24h, got %s", c.TTL)
	case c.MaxTries < 1 || c.MaxTries > 100:
		return Proof{}, fmt.Errorf("configuration: CONTACT_PROOF_TRIES: want 1 to 100, got %d", c.MaxTries)
	}
	return Proof{Signer: signer, TTL: c.TTL, MaxTries: c.MaxTries}, nil
}

type proofAnswer struct {
	Challenge string    `json:"challenge"`
	ExpiresAt time.Time `json:"expires_at"`
}

// handleProof sends a code to the address in the body and answers with the
// challenge that checks it: the request (media type, body), the address by
// the booking's rules, the cap on codes per address, then the e-mail, and
// 202 once Pub/Sub has it. The client's rate is limitRoutes's.
func handleProof(log *slog.Logger, p Proof, abuse Abuse, publishTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log := logging.FromContext(ctx, log)
		_, _, req, err := readForm(w, r, booking.DecodeProofRequest, booking.ProofRequest.Validate)
		if err != nil {
			fail(w, r, log, err)
			return
		}
		// Each code is an e-mail from the official sender to an address
		// nobody has proved: capped per address, so the sender cannot be
		// turned on one mailbox, and the codes of one challenge after
		// another cannot be guessed at leisure.
		release, err := takeProofCap(ctx, log, abuse, req.Email)
		if err != nil {
			fail(w, r, log, err)
			return
		}
		token, code, c, err := p.Signer.Issue(notify.Channel(req.Channel), req.Email, time.Now().Add(p.TTL))
		if err != nil {
			release()
			fail(w, r, log, err)
			return
		}
		now := time.Now().UTC()
		msg := email.Request{Reference: c.Reference(), Kind: notify.KindProof, Lang: req.Lang,
			Email: req.Email, Code: code, ExpiresAt: &c.ExpiresAt, DecidedAt: now}
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		defer cancel()
		if err := p.Mail.Publish(pctx, msg); err != nil {
			release()
			fail(w, r, log, errProofUnsent.because(fmt.Errorf("queue proof e-mail %s: %w", c.Reference(), err)))
			return
		}
		respond.JSON(w, http.StatusAccepted, proofAnswer{Challenge: token, ExpiresAt: c.ExpiresAt})
	})
}

// takeProofCap counts one code sent to address against Abuse.ProofCap, as
// takeContacts counts bookings, failing open the same way.
func takeProofCap(ctx context.Context, log *slog.Logger, a Abuse, address string) (release func(), err error) {
	if a.Store == nil {
		return func() {}, nil
	}
	rel, retry, err := a.Store.Take(ctx, "proof", "email", address, a.ProofCap)
	switch {
	case errors.Is(err, ratelimit.ErrCapped):
		return func() {}, errProofContactLimit.after(retry)
	case err != nil:
		log.Warn("proof cap unavailable: sending the code", "error", err)
		return func() {}, nil
	}
	return func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if err := rel(rctx); err != nil {
			log.Warn("give back proof cap", "error", err)
		}
	}, nil
}

// checkProof judges the proof a booking or registration carries for the
// e-mail address it gives: present, genuine and for this address, not
// expired, tries left, and the right code, in that order. A try is counted
// before the code is compared and given back when it was right, so only
// wrong codes use up a challenge; the count fails closed (503), since a
// code that could be tried without limit proves nothing.
func checkProof(ctx context.Context, log *slog.Logger, p Proof, got *booking.Proof, address string) error {
	if got == nil || got.Challenge == "" {
		return errProofRequired
	}
	c, err := p.Signer.Open(got.Challenge, notify.ChannelEmail, address, time.Now())
	switch {
	case errors.Is(err, proof.ErrExpired):
		return errProofExpired
	case err != nil:
		return errProofInvalid
	case len(got.Code) != proof.CodeLen:
		return errProofInvalid // cannot be right: no try spent on it
	}
	key := p.Signer.AttemptsKey(c)
	ok, err := p.Tries.Reserve(ctx, key, p.MaxTries, time.Until(c.ExpiresAt)+time.Minute)
	switch {
	case err != nil:
		return errProofUnavailable.because(err)
	case !ok:
		return errProofTries
	}
	if p.Signer.Check(c, got.Code) != nil {
		return errProofInvalid
	}
	// Right: the try is given back, so a family booking several people
	// with one code, or a person retrying after slots_full, is not refused.
	if err := p.Tries.Refund(ctx, key); err != nil {
		log.Warn("give back proof try", "error", err)
	}
	return nil
}
