// Package notify is the domain of what vaxbook tells people, whatever
// carries it: the kinds of message, the channels that carry them, the key
// each message is sent once under, and what a channel's sender answers.
// Each channel's package renders its own messages (internal/email), a
// provider adapter sends them (internal/sendgrid), and the record of what
// was sent is the database's (internal/postgres).
package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// Kind is what a message tells the person.
type Kind string

// The kinds of message. A booking's outcome is announced by the kind named
// after its final status, so the kind on the wire reads as the status.
const (
	KindConfirmed = Kind(booking.StatusConfirmed)
	KindFull      = Kind(booking.StatusFull)
	KindDuplicate = Kind(booking.StatusDuplicate)
	// KindAttempt tells the holder of a booking that someone submitted a
	// booking with their ID number: the duplicate's other half, sent to
	// the holder's own contact and never naming the submitter.
	KindAttempt Kind = "attempt"
	// KindInvitation invites a registrant of a queue state to book, with
	// the link that carries their invitation (docs/queue.md).
	KindInvitation Kind = "invitation"
	// KindExpired tells a registrant their invitation ran out unused and
	// they must register again.
	KindExpired Kind = "expired"
	// KindProof carries a contact-proof code (CONTACT_PROOF) to an address
	// nobody has proved yet: the code and its expiry, nothing the person
	// typed and no link, so it is useless for spam or phishing.
	KindProof Kind = "proof"
	// KindCancelled tells the person their booking is cancelled and its
	// place given back, with a calendar file that removes the event.
	KindCancelled = Kind(booking.StatusCancelled)
	// KindChanged tells the person their appointment moved, with a
	// calendar file that replaces the old one.
	KindChanged = Kind(booking.StatusChanged)
	// KindManage carries the manage link again, to the contact on the
	// booking, when someone gave its reference and ID number.
	KindManage Kind = "manage"
	// KindClosing tells the person the centre is closing their session:
	// they may move to another time with their manage link until the
	// request's ExpiresAt, when what is still on it is cancelled.
	KindClosing Kind = "closing"
	// KindClosed tells the person their booking is cancelled because the
	// centre closed its session (and they did not move), with the calendar
	// file that removes the event.
	KindClosed Kind = "closed"
)

// Known reports whether vaxbook sends messages of kind k.
func (k Kind) Known() bool {
	switch k {
	case KindConfirmed, KindFull, KindDuplicate, KindAttempt, KindInvitation, KindExpired, KindProof,
		KindCancelled, KindChanged, KindManage, KindClosing, KindClosed:
		return true
	}
	return false
}

// AboutABooking reports whether messages of kind k are about one booking's
// appointment, and so show its slot.
func (k Kind) AboutABooking() bool {
	switch k {
	case KindConfirmed, KindChanged, KindCancelled, KindManage, KindClosing, KindClosed:
		return true
	}
	return false
}

// Cancels reports whether messages of kind k tell of a cancelled booking.
func (k Kind) Cancels() bool { return k == KindCancelled || k == KindClosed }

// Channel is a way of reaching a person.
type Channel string

// The channels, each with its topic, push route, sender and templates.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
)

// Other is the channel that carries a message when c cannot.
func (c Channel) Other() Channel {
	if c == ChannelSMS {
		return ChannelEmail
	}
	return ChannelSMS
}

// Key names one message to one person on one channel: as far as the record
// can tell, each Key is sent once however often it is asked for.
type Key struct {
	Reference string
	Kind      Kind
	Channel   Channel
}

func (k Key) String() string { return fmt.Sprintf("%s/%s/%s", k.Reference, k.Kind, k.Channel) }

// malaysia is the day a person lives by; fixed, as the container need not
// carry a time zone database.
var malaysia = time.FixedZone("MYT", 8*60*60)

// Daily is k for a message sent at most once a day: the day of at, Malaysia
// time, joins the kind ("attempt/2026-11-23"), so the record lets the first
// request of each day through and finds every later one already sent.
func (k Key) Daily(at time.Time) Key {
	k.Kind += Kind("/" + at.In(malaysia).Format(time.DateOnly))
	return k
}

// Delivery is the push delivery that asks for a message, recorded with what
// came of it.
type Delivery struct {
	MessageID   string
	Attempt     int
	RequestedAt time.Time // the request's publish time, when known
	// Recipient is the address the message goes to on its channel: the
	// record checks it against bounces and the daily cap, and keeps only
	// a keyed hash of it.
	Recipient string
}

// Request is a channel's message on its topic (email.Request): everything
// the message says, so sending it needs no read of the booking.
type Request interface {
	// Key is the message the request asks for.
	Key() Key
	// Validate reports what makes the request unusable; such a request is
	// recorded and dropped, since sending it again would fail the same way.
	Validate() error
}

// Result is how sending a message ended, as far as it is recorded.
type Result string

// The results worth recording.
const (
	Sent     Result = "sent"     // the provider accepted it
	Rejected Result = "rejected" // the provider refused it for good
	// Undeliverable: not tried, as the address bounced or was blocked
	// before; the person's other channel carries it when they gave one.
	Undeliverable Result = "undeliverable"
	// Capped: not sent, as the recipient had their day's messages.
	Capped Result = "capped"
)

// Event is what a provider reported of a message after accepting it
// (its delivery hook).
type Event string

// The events recorded; a provider's others (queued, opened…) are not.
const (
	EventDelivered Event = "delivered"
	EventBounced   Event = "bounced" // the address does not exist
	EventBlocked   Event = "blocked" // the address or its owner refuses us
	EventDropped   Event = "dropped" // the provider would not try it
	EventFailed    Event = "failed"  // tried and lost, for a reason not the address's
)

// Undeliverable reports whether e says the address is no use: later
// messages to it are not attempted.
func (e Event) Undeliverable() bool { return e == EventBounced || e == EventBlocked }

// Outcome is how a message ended and what the provider said.
type Outcome struct {
	Result         Result
	ProviderStatus int
	ProviderID     string
	Detail         string
}

// ErrBusy means another delivery of the same message is sending it right
// now; ask again later and the record will answer.
var ErrBusy = errors.New("this message is being sent by another delivery")

// Receipt is a provider's acceptance of a message.
type Receipt struct {
	Status int    // the provider's HTTP status
	ID     string // the provider's message id, when it gives one
}

// Sender hands a channel's rendered message M to whoever delivers it; each
// channel names its own (email.Sender). An error is transient (try again
// later) unless it is a *RejectedError.
type Sender[M any] interface {
	Send(ctx context.Context, m M) (Receipt, error)
}

// RejectedError is a provider's permanent refusal of a message (a bad
// address, a malformed request): sending it again cannot succeed.
type RejectedError struct {
	Status int
	Detail string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("rejected by the provider with status %d: %s", e.Status, e.Detail)
}

// Retryable says which of a provider's HTTP answers are about us or the
// provider rather than the message, so a later try may succeed: 429, 5xx,
// a timeout, and 401/403/404, which mean our key or URL is wrong.
func Retryable(status int) bool {
	switch status {
	case 401, 403, 404, 408, 429:
		return true
	}
	return status < 400 || status >= 500
}

// Send sends m and turns the sender's answer into an outcome to record, or
// an error for a try that may succeed later.
func Send[M any](ctx context.Context, s Sender[M], m M) (Outcome, error) {
	rec, err := s.Send(ctx, m)
	if rej, ok := errors.AsType[*RejectedError](err); ok {
		return Outcome{Result: Rejected, ProviderStatus: rej.Status, Detail: rej.Detail}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Result: Sent, ProviderStatus: rec.Status, ProviderID: rec.ID}, nil
}

// Text is a rendered SMS, ready for a Sender: internal/sms renders it, a
// provider adapter (internal/twilio) or the dev outbox takes it.
type Text struct {
	// Reference and Kind say what the message is about, for logs.
	Reference string `json:"reference"`
	Kind      Kind   `json:"kind"`
	To        string `json:"to"` // E.164
	Body      string `json:"body"`
	// Segments is how many SMS the body costs (GSM-7, or UCS-2 when a
	// character needs it).
	Segments int `json:"segments"`
}
