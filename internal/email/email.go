// Package email is what vaxbook tells a person once their booking is
// decided: the e-mail request the booking worker publishes, and the
// rendering of that request into a message (text, HTML, calendar file) in
// the person's language. Sending is someone else's job: a provider adapter
// (internal/sendgrid) or, in `vaxbook dev`, the local Outbox.
package email

import (
	"errors"
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/notify"
)

// Request is the message on email-topic: everything the e-mail says, so the
// e-mail push handler needs no read of the booking. It never carries the
// person's id_number: what is not in the message cannot leak into an e-mail.
type Request struct {
	Reference string      `json:"reference"`
	Kind      notify.Kind `json:"kind"`
	Lang      string      `json:"lang"`
	Name      string      `json:"name"`
	Email     string      `json:"email"`
	State     string      `json:"state,omitempty"`
	// Slot is the place given, for confirmed.
	Slot *booking.SlotInfo `json:"slot,omitempty"`
	// Taken is the person's choices, most wanted first, for full.
	Taken []booking.SlotInfo `json:"taken,omitempty"`
	// ExistingReference is the booking the person already holds, for
	// duplicate.
	ExistingReference string `json:"existing_reference,omitempty"`
	// DecidedAt is when the worker committed the outcome; the calendar
	// file's DTSTAMP, so every rendering of one request is the same.
	DecidedAt time.Time `json:"decided_at"`
}

// RequestFor builds the e-mail request for a decided booking.
func RequestFor(o booking.Outcome) Request {
	r := Request{
		Reference: o.Record.Reference, Kind: notify.Kind(o.Record.Status), Lang: o.Record.Lang,
		Name: o.Name, Email: o.Email, State: o.State, DecidedAt: o.DecidedAt.UTC(),
	}
	switch o.Record.Status {
	case booking.StatusConfirmed:
		r.Slot = o.Record.Slot
	case booking.StatusFull:
		r.Taken = o.Taken
	case booking.StatusDuplicate:
		r.ExistingReference = o.Record.ExistingReference
	}
	return r
}

// Key is the e-mail r asks for.
func (r Request) Key() notify.Key {
	return notify.Key{Reference: r.Reference, Kind: r.Kind, Channel: notify.ChannelEmail}
}

// Validate reports what makes a request unusable; such a request is
// recorded and dropped, since sending it again would fail the same way.
func (r Request) Validate() error {
	switch {
	case !booking.ValidReference(r.Reference):
		return errors.New("reference missing or malformed")
	case !r.Kind.Known():
		return fmt.Errorf("kind %q is not one vaxbook sends", r.Kind)
	case texts[r.Lang] == nil:
		return fmt.Errorf("lang %q is not %s or %s", r.Lang, booking.LangMalay, booking.LangEnglish)
	case r.Name == "":
		return errors.New("name missing")
	case !booking.ValidEmail(r.Email):
		return errors.New("email missing or malformed")
	case r.Kind == notify.KindConfirmed && r.Slot == nil:
		return errors.New("confirmed without a slot")
	case r.Kind == notify.KindDuplicate && !booking.ValidReference(r.ExistingReference):
		return errors.New("duplicate without a well-formed existing_reference")
	}
	return nil
}

// Address is a mailbox with an optional display name.
type Address struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
}

// Attachment is a file sent with a message.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Content     []byte `json:"content"`
}

// Message is a rendered e-mail, ready for a Sender.
type Message struct {
	// Reference and Kind say what the message is about, for the provider's
	// custom arguments and for logs.
	Reference   string       `json:"reference"`
	Kind        notify.Kind  `json:"kind"`
	From        Address      `json:"from"`
	To          Address      `json:"to"`
	Subject     string       `json:"subject"`
	Text        string       `json:"text"`
	HTML        string       `json:"html"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Sender hands an e-mail to whoever delivers it: a provider adapter
// (internal/sendgrid) or the dev Outbox.
type Sender = notify.Sender[Message]
