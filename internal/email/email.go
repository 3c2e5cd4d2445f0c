// Package email is what vaxbook tells a person once their booking is
// decided: the e-mail request the booking worker publishes, and the
// rendering of that request into a message (text, HTML, calendar file) in
// the person's language. Sending is someone else's job: a provider adapter
// (internal/sendgrid) or, in `vaxbook dev`, the local Outbox.
package email

import (
	"context"
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
	// Contact is the person's choice of channel (email, sms or both); empty
	// means e-mail. Channels reads it.
	Contact booking.Contact `json:"contact,omitempty"`
	// Phone is the person's number (E.164), for SMS and for the fallback
	// when their address bounced.
	Phone string `json:"phone,omitempty"`
	// Channel is the channel this request is on (empty: e-mail): the same
	// request goes to email-topic and sms-topic, each rendering its own
	// message from it (internal/sms for SMS).
	Channel notify.Channel `json:"channel,omitempty"`
	// Diverted marks a request sent on the channel the person did not
	// choose, because the one they chose is undeliverable: it is not
	// diverted again, so two dead addresses cannot pass it to and fro.
	Diverted bool `json:"diverted,omitempty"`
	// Manage is the booking's manage token, for confirmed, changed and
	// manage: the link is PUBLIC_BASE_URL/?manage=TOKEN. A bearer
	// credential for cancelling or changing the booking.
	Manage string `json:"manage,omitempty"`
	// Sequence is the calendar event's SEQUENCE, for changed and
	// cancelled: each file replaces the one before it. It also keys each
	// change's message, so every change is told once.
	Sequence int `json:"sequence,omitempty"`
}

// OnChannel is the channel r is on.
func (r Request) OnChannel() notify.Channel {
	if r.Channel == "" {
		return notify.ChannelEmail
	}
	return r.Channel
}

// Address is where r goes on its channel: the e-mail address or the number.
func (r Request) Address() string {
	if r.OnChannel() == notify.ChannelSMS {
		return r.Phone
	}
	return r.Email
}

// Channels are the channels r goes by, as the person chose: e-mail unless
// they chose SMS alone, SMS when they chose it and gave a number. smsOn
// false (no SMS configured) sends everything by e-mail.
func (r Request) Channels(smsOn bool) []notify.Channel {
	c := r.Contact.Or()
	sms := smsOn && c.BySMS() && r.Phone != ""
	if sms && !c.ByEmail() {
		return []notify.Channel{notify.ChannelSMS}
	}
	if sms {
		return []notify.Channel{notify.ChannelEmail, notify.ChannelSMS}
	}
	return []notify.Channel{notify.ChannelEmail}
}

// On is r on channel ch.
func (r Request) On(ch notify.Channel) Request {
	r.Channel = ch
	if ch == notify.ChannelEmail {
		r.Channel = "" // as every e-mail request was before SMS
	}
	return r
}

// Fallback is r on the other channel, for when r's address is
// undeliverable: only when the person gave an address there and did not
// choose that channel already (then it carries the message anyway). A
// proof code proves one address, so it has no fallback.
func (r Request) Fallback() (Request, bool) {
	other := r.OnChannel().Other()
	switch {
	case r.Kind == notify.KindProof, r.Contact.Or() == booking.ContactBoth, r.Diverted:
		return Request{}, false
	case other == notify.ChannelSMS && r.Phone == "", other == notify.ChannelEmail && r.Email == "":
		return Request{}, false
	}
	r = r.On(other)
	r.Diverted = true
	return r, true
}

// Publisher puts a request on one channel's topic.
type Publisher interface {
	Publish(ctx context.Context, r Request) error
}

// Channels is a Publisher over every channel: it puts each request on the
// topic of each channel the person chose (Request.Channels), so whoever
// asks for a message (the booking push, the invitation loop) names no
// channel. SMS nil: SMS is not set up, and everything goes by e-mail.
type Channels struct {
	Email, SMS Publisher
}

// Publish returns once every channel's topic has r.
func (c Channels) Publish(ctx context.Context, r Request) error {
	for _, ch := range r.Channels(c.SMS != nil) {
		pub := c.Email
		if ch == notify.ChannelSMS {
			pub = c.SMS
		}
		if err := pub.Publish(ctx, r.On(ch)); err != nil {
			return fmt.Errorf("%s request: %w", ch, err)
		}
	}
	return nil
}

// RequestsFor builds the e-mail requests for a decided booking: the one to
// the person, and for a duplicate with a known holder the attempt to the
// holder.
func RequestsFor(o booking.Outcome) []Request {
	reqs := []Request{RequestFor(o)}
	if o.Record.Status == booking.StatusDuplicate && o.Holder != nil {
		reqs = append(reqs, Request{
			Reference: o.Holder.Reference, Kind: notify.KindAttempt, Lang: o.Holder.Lang,
			Email: o.Holder.Email, Phone: o.Holder.Phone, Contact: o.Holder.Contact, DecidedAt: o.DecidedAt.UTC(),
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
		Phone: o.Phone, Contact: o.Contact,
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
	k := notify.Key{Reference: r.Reference, Kind: r.Kind, Channel: r.OnChannel()}
	switch r.Kind {
	case notify.KindAttempt, notify.KindManage:
		// The link resent at most once a day, however often it is asked.
		return k.Daily(r.DecidedAt)
	case notify.KindChanged, notify.KindClosing:
		// Each change told once; and a closing once per place the booking
		// holds, since a move changes its sequence.
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
	case r.Channel != "" && r.Channel != notify.ChannelSMS:
		return fmt.Errorf("channel %q is not one vaxbook sends by", r.Channel)
	case r.Kind == notify.KindProof && r.OnChannel() != notify.ChannelEmail:
		return errors.New("proof by a channel other than e-mail, whose address it proves")
	case r.Contact != "" && r.Contact != booking.ContactEmail && r.Contact != booking.ContactSMS && r.Contact != booking.ContactBoth:
		return fmt.Errorf("contact %q is not email, sms or both", r.Contact)
	case r.OnChannel() == notify.ChannelEmail && !booking.ValidEmail(r.Email):
		return errors.New("email missing or malformed")
	case r.OnChannel() == notify.ChannelSMS && !validPhone(r.Phone):
		return errors.New("phone missing or not E.164")
	case r.Kind.AboutABooking() && r.Slot == nil:
		return fmt.Errorf("%s without a slot", r.Kind)
	case (r.Kind == notify.KindChanged || r.Kind == notify.KindManage) && r.Manage == "":
		return fmt.Errorf("%s without its manage link", r.Kind)
	case r.Manage != "" && r.Kind != notify.KindConfirmed && r.Kind != notify.KindChanged && r.Kind != notify.KindManage && r.Kind != notify.KindClosing:
		return fmt.Errorf("%s carrying a manage link", r.Kind)
	case r.Kind == notify.KindClosing && r.ExpiresAt == nil:
		return errors.New("closing without the time its bookings are cancelled")
	case (r.Kind == notify.KindChanged || r.Kind == notify.KindCancelled || r.Kind == notify.KindClosed) && r.Sequence < 1:
		return fmt.Errorf("%s without the calendar sequence that replaces the last file", r.Kind)
	case r.Kind == notify.KindManage && r.DecidedAt.IsZero():
		return errors.New("manage without decided_at, which its once-a-day key needs")
	case r.Kind == notify.KindInvitation && (r.Token == "" || r.ExpiresAt == nil || r.State == ""):
		return errors.New("invitation without its token, expiry or state")
	case r.Kind == notify.KindExpired && r.State == "":
		return errors.New("expired without the state to register in again")
	case r.Kind != notify.KindInvitation && r.Token != "",
		r.Kind != notify.KindInvitation && r.Kind != notify.KindProof && r.Kind != notify.KindClosing && r.ExpiresAt != nil:
		return fmt.Errorf("%s carrying an invitation", r.Kind)
	}
	return nil
}

// validPhone reports whether p is a number as the API stores it (E.164).
func validPhone(p string) bool {
	n, err := booking.NormalizePhone(p)
	return err == nil && n == p
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
		Phone: o.Phone, Contact: o.Contact,
		State: o.State, Slot: o.Booking.Slot, DecidedAt: o.DecidedAt.UTC(), Sequence: o.Sequence,
	}
	if kind == notify.KindChanged && o.Request.Slot != nil {
		r.Slot = o.Request.Slot // what this change moved it to
	}
	if kind != notify.KindCancelled && kind != notify.KindClosed {
		r.Manage = token
	}
	if kind == notify.KindManage {
		r.Sequence = 0
	}
	return r
}

// ClosingRequest builds the notice to a person booked on a session staff
// are closing: the appointment, their manage link to move it, and when it
// is cancelled if they do not (ExpiresAt).
func ClosingRequest(o booking.ManageOutcome, token string, cancelAt time.Time) Request {
	r := ManageRequest(o, notify.KindClosing, token)
	at := cancelAt.UTC()
	r.ExpiresAt = &at
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
