// Package booking is the domain of vaxbook: what a person submits, the message
// the API queues for the worker, the statuses a booking can end in, and the
// rules that decide whether a submission is well-formed.
package booking

import "time"

// Status is where a booking stands. Only Pending is ever shown before the
// worker has committed; the other three are final.
type Status string

// The statuses of the contract.
const (
	StatusPending   Status = "pending"
	StatusConfirmed Status = "confirmed"
	StatusFull      Status = "full"
	StatusDuplicate Status = "duplicate"
)

// Final reports whether the status is an end state the worker committed.
func (s Status) Final() bool {
	return s == StatusConfirmed || s == StatusFull || s == StatusDuplicate
}

// Submission is the body of POST /submit exactly as the person sent it.
type Submission struct {
	State       string   `json:"state"`
	Name        string   `json:"name"`
	IDNumber    string   `json:"id_number"`
	Phone       string   `json:"phone"`
	Email       string   `json:"email"`
	Preferences []string `json:"preferences"`
	Lang        string   `json:"lang,omitempty"`
	Contact     string   `json:"contact,omitempty"`
	// CaptchaToken is accepted so the page can send it; verification is the
	// API's business when a provider is configured.
	CaptchaToken string `json:"captcha_token,omitempty"`
	// Invitation is the token of an invitation to book in a queue state
	// (docs/queue.md). With one, name, phone and email may be left out:
	// the worker takes them from the registration the token was issued for.
	Invitation string `json:"invitation,omitempty"`
	// Proof is the contact proof, when the deployment asks for it.
	Proof *Proof `json:"proof,omitempty"`
}

// RegistrationForm is the body of POST /register exactly as the person sent
// it: a submission's fields about the person, without preferences (places
// are given by invitation, not chosen in advance).
type RegistrationForm struct {
	State        string `json:"state"`
	Name         string `json:"name"`
	IDNumber     string `json:"id_number"`
	Phone        string `json:"phone"`
	Email        string `json:"email"`
	Lang         string `json:"lang,omitempty"`
	Contact      string `json:"contact,omitempty"`
	CaptchaToken string `json:"captcha_token,omitempty"`
	Proof        *Proof `json:"proof,omitempty"`
}

// Request is the message the API publishes and the worker consumes: a
// validated, normalised submission with the reference it was accepted under.
type Request struct {
	Reference   string   `json:"reference"`
	State       string   `json:"state"`
	Name        string   `json:"name"`
	IDNumber    string   `json:"id_number"` // normalised: IC as 12 digits, passport upper-case
	Phone       string   `json:"phone"`     // E.164
	Email       string   `json:"email"`
	Preferences []string `json:"preferences"`
	Lang        string   `json:"lang"`
	// Contact is empty in messages queued before it existed, which meant
	// e-mail; Channels reads it that way.
	Contact     Contact   `json:"contact,omitempty"`
	SubmittedAt time.Time `json:"submitted_at"`
	// Invitation is the token the API verified for a queue state, which
	// the worker consumes in the booking's transaction; empty for an open
	// state. With it, Name, Phone, Email, Lang and Contact may be empty: the
	// worker fills them from the registration.
	Invitation string `json:"invitation,omitempty"`
}

// SlotInfo is the slot a confirmed booking was given, as /status shows it.
type SlotInfo struct {
	ID         string `json:"id"`
	CenterID   string `json:"center_id"`
	CenterName string `json:"center_name"`
	Address    string `json:"address"`
	Date       string `json:"date"`
	Time       string `json:"time"`
}

// StatusRecord is the body of GET /status/{reference}, stored in Redis.
// Whoever knows a reference may read it, so for a duplicate it names nothing
// of the booking collided with: knowing someone's ID number must not reveal
// their appointment.
type StatusRecord struct {
	Reference string    `json:"reference"`
	Status    Status    `json:"status"`
	Slot      *SlotInfo `json:"slot,omitempty"`
	// Lang is kept so later notifications speak the person's language.
	Lang string `json:"lang,omitempty"`
	// Sequence counts the changes and the cancellation of a booking (the
	// calendar's SEQUENCE), so a record written late never replaces a
	// newer one.
	Sequence int `json:"sequence,omitempty"`
}

// Decided is a final status record as Postgres holds it, with when it was
// decided: what the cache-fill loop writes back when Redis lost the records,
// expiring when the worker's record would have.
type Decided struct {
	Record StatusRecord
	At     time.Time
}

// Outcome is what the worker decided for a request together with what a
// message to the person needs. It never holds the id_number.
type Outcome struct {
	Record StatusRecord
	Name   string
	Email  string
	State  string
	// Phone and Contact are where else, and by what, the person asked to
	// be told.
	Phone   string
	Contact Contact
	// Taken is, for full, the person's choices as they stand, most wanted
	// first.
	Taken []SlotInfo
	// Holder is, for duplicate, who already holds a booking under the
	// same id_number, so they can be told of the attempt at their own
	// contact. Nothing of it is ever shown or sent to the submitter.
	Holder    *Holder
	DecidedAt time.Time
	// Registration is, for a booking confirmed with an invitation, the
	// registration the invitation belonged to, whose record now says
	// booked.
	Registration string
	// Manage is, for confirmed, the manage token the confirmation's link
	// carries (ManageSigner); empty without MANAGE_SECRET.
	Manage string `json:"-"`
	// ManageStored says the booking was stored with a manage hash.
	ManageStored bool `json:"-"`
}

// Holder is the holder of an existing booking, as much as telling them that
// someone else tried to book with their ID number needs.
type Holder struct {
	Reference string
	Email     string
	Lang      string
	Phone     string
	Contact   Contact
}

// Contact is where a person asked messages about their booking to go.
type Contact string

// The contact choices of the contract; e-mail is the default, as it was the
// only channel before the choice existed.
const (
	ContactEmail Contact = "email"
	ContactSMS   Contact = "sms"
	ContactBoth  Contact = "both"
)

// ByEmail reports whether messages go by e-mail; an empty choice (a message
// queued before the field existed) means e-mail.
func (c Contact) ByEmail() bool { return c == "" || c == ContactEmail || c == ContactBoth }

// BySMS reports whether messages go by SMS.
func (c Contact) BySMS() bool { return c == ContactSMS || c == ContactBoth }

// Or is c, or e-mail for the empty choice of a message queued before the
// field existed.
func (c Contact) Or() Contact {
	if c == "" {
		return ContactEmail
	}
	return c
}
