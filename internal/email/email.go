// Package email is what vaxbook tells a person once their booking is
// decided: the e-mail request the booking worker publishes, and the
// rendering of that request into a message (text, HTML, calendar file) in
// the person's language. Sending is someone else's job: a provider adapter
// (internal/sendgrid) or, in `vaxbook dev`, the local Outbox.
package email

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/notify"
)

// Request is the message on email-topic: everything the e-mail says, so the
// e-mail push handler needs no read of the booking. It never carries the
// person's id_number, nor, for a duplicate, anything of the booking it
// collided with: what is not in the message cannot leak into an e-mail.
type Request struct {
	Reference string      `json:"reference"`
	Kind      notify.Kind `json:"kind"`
	Lang      string      `json:"lang"`
	// Name is empty for attempt, which greets no one by name: it goes to
	// the holder of another booking and carries nothing the submitter typed.
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
	State string `json:"state,omitempty"`
	// Slot is the place given, for confirmed.
	Slot *booking.SlotInfo `json:"slot,omitempty"`
	// Taken is the person's choices, most wanted first, for full.
	Taken []booking.SlotInfo `json:"taken,omitempty"`
	// DecidedAt is when the worker committed the outcome; the calendar
	// file's DTSTAMP, so every rendering of one request is the same.
	DecidedAt time.Time `json:"decided_at"`
	// Token is the invitation's token, for invitation: the link is the
	// composer's PUBLIC_BASE_URL/?invite=TOKEN. It is a bearer credential
	// bound to the registrant's id_number, which it does not reveal.
	Token string `json:"token,omitempty"`
	// ExpiresAt is when the invitation runs out, for invitation, and
	// when the code stops counting, for proof.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Code is the contact-proof code, for proof: the message's whole
	// point, sent to an address the person has not yet proved is theirs.
	Code string `json:"code,omitempty"`
	// Contact is the registrant's choice of channel (email, sms or both),
	// for invitation and expired. Until an SMS channel exists, these go by
	// e-mail whatever the choice: every registration carries an address.
	Contact booking.Contact `json:"contact,omitempty"`
	// Manage is the booking's manage token, for confirmed, changed and
	// manage: the link is PUBLIC_BASE_URL/?manage=TOKEN. A bearer
	// credential for cancelling or changing the booking.
	Manage string `json:"manage,omitempty"`
	// Sequence is the calendar event's SEQUENCE, for changed and
	// cancelled: each file replaces the one before it. It also keys each
	// change's message, so every change is told once.
	Sequence int `json:"sequence,omitempty"`
}

// RequestsFor builds the e-mail requests for a decided booking: the one to
// the person, and for a duplicate with a known holder the attempt to the
// holder.
func RequestsFor(o booking.Outcome) []Request {
	reqs := []Request{RequestFor(o)}
	if o.Record.Status == booking.StatusDuplicate && o.Holder != nil {
		reqs = append(reqs, Request{
			Reference: o.Holder.Reference, Kind: notify.KindAttempt, Lang: o.Holder.Lang,
			Email: o.Holder.Email, DecidedAt: o.DecidedAt.UTC(),
		})
	}
	return reqs
}

// RequestFor builds the e-mail request to the person whose booking was
// decided.
func RequestFor(o booking.Outcome) Request {
	r := Request{
		Reference: o.Record.Reference, Kind: notify.Kind(o.Record.Status), Lang: o.Record.Lang,
		Name: o.Name, Email: o.Email, State: o.State, DecidedAt: o.DecidedAt.UTC(),
	}
	switch o.Record.Status {
	case booking.StatusConfirmed:
		r.Slot, r.Manage = o.Record.Slot, o.Manage
	case booking.StatusFull:
		r.Taken = o.Taken
	}
	return r
}

// Key is the e-mail r asks for. An attempt is keyed by the holder's booking
// and the day it was decided, so however many duplicates of one person
// arrive, and however often each is delivered, the holder gets one a day.
func (r Request) Key() notify.Key {
	k := notify.Key{Reference: r.Reference, Kind: r.Kind, Channel: notify.ChannelEmail}
	switch r.Kind {
	case notify.KindAttempt, notify.KindManage:
		// The link resent at most once a day, however often it is asked.
		return k.Daily(r.DecidedAt)
	case notify.KindChanged:
		k.Kind += notify.Kind("/" + strconv.Itoa(r.Sequence))
	}
	return k
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
	case r.Kind == notify.KindAttempt && (r.Name != "" || r.State != "" || r.Slot != nil || len(r.Taken) > 0):
		return errors.New("attempt carrying more than the holder's address and language")
	case r.Kind == notify.KindProof && (r.Name != "" || r.State != "" || r.Slot != nil || len(r.Taken) > 0 || r.Token != "" || r.Contact != ""):
		return errors.New("proof carrying more than the code, its expiry, the address and the language")
	case r.Kind == notify.KindProof && (!validCode(r.Code) || r.ExpiresAt == nil):
		return errors.New("proof without its six-digit code or expiry")
	case r.Kind != notify.KindProof && r.Code != "":
		return fmt.Errorf("%s carrying a proof code", r.Kind)
	case r.Kind == notify.KindAttempt && r.DecidedAt.IsZero():
		return errors.New("attempt without decided_at, which its once-a-day key needs")
	case r.Name == "" && r.Kind != notify.KindAttempt && r.Kind != notify.KindProof:
		return errors.New("name missing")
	case !booking.ValidEmail(r.Email):
		return errors.New("email missing or malformed")
	case (r.Kind == notify.KindConfirmed || r.Kind == notify.KindChanged || r.Kind == notify.KindCancelled || r.Kind == notify.KindManage) && r.Slot == nil:
		return fmt.Errorf("%s without a slot", r.Kind)
	case (r.Kind == notify.KindChanged || r.Kind == notify.KindManage) && r.Manage == "":
		return fmt.Errorf("%s without its manage link", r.Kind)
	case r.Manage != "" && r.Kind != notify.KindConfirmed && r.Kind != notify.KindChanged && r.Kind != notify.KindManage:
		return fmt.Errorf("%s carrying a manage link", r.Kind)
	case (r.Kind == notify.KindChanged || r.Kind == notify.KindCancelled) && r.Sequence < 1:
		return fmt.Errorf("%s without the calendar sequence that replaces the last file", r.Kind)
	case r.Kind == notify.KindManage && r.DecidedAt.IsZero():
		return errors.New("manage without decided_at, which its once-a-day key needs")
	case r.Kind == notify.KindInvitation && (r.Token == "" || r.ExpiresAt == nil || r.State == ""):
		return errors.New("invitation without its token, expiry or state")
	case r.Kind == notify.KindExpired && r.State == "":
		return errors.New("expired without the state to register in again")
	case r.Kind != notify.KindInvitation && r.Token != "", r.Kind != notify.KindInvitation && r.Kind != notify.KindProof && r.ExpiresAt != nil:
		return fmt.Errorf("%s carrying an invitation", r.Kind)
	}
	return nil
}

// validCode reports whether c is six ASCII digits (internal/proof's codes).
func validCode(c string) bool {
	if len(c) != 6 {
		return false
	}
	for i := range len(c) {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}

// ManageRequest builds the e-mail request for what the worker did with a
// manage request: cancelled or changed to the person, or the link again
// (manage). token is the booking's manage token (ManageSigner).
func ManageRequest(o booking.ManageOutcome, kind notify.Kind, token string) Request {
	r := Request{
		Reference: o.Booking.Reference, Kind: kind, Lang: o.Booking.Lang, Name: o.Name, Email: o.Email,
		State: o.State, Slot: o.Booking.Slot, DecidedAt: o.DecidedAt.UTC(), Sequence: o.Sequence,
	}
	if kind == notify.KindChanged && o.Request.Slot != nil {
		r.Slot = o.Request.Slot // what this change moved it to
	}
	if kind != notify.KindCancelled {
		r.Manage = token
	}
	if kind == notify.KindManage {
		r.Sequence = 0
	}
	return r
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
