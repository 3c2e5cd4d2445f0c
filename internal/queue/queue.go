// Package queue is the domain of the registration queue: a state's booking
// mode, the registration a person sends once, the statuses it moves
// through, and the invitation that lets its holder book. Rooms share these
// shapes (the API checks invitations, the worker records registrations and
// consumes invitations, the invitation loop issues them); adapters store
// them.
package queue

import (
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// Mode is how a state gives out its places.
type Mode string

// The modes of the contract. Open is the default, as every state was before
// the queue existed.
const (
	ModeOpen  Mode = "open"
	ModeQueue Mode = "queue"
)

// ParseMode checks an operator's or a stored mode.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeOpen, ModeQueue:
		return m, nil
	}
	return "", fmt.Errorf("mode must be %q or %q, got %q", ModeOpen, ModeQueue, s)
}

// Status is where a registration stands, as GET /registration shows it.
type Status string

// The statuses of the contract. Received is the API's until the worker has
// recorded the registration; the rest are written by the worker and the
// invitation loop.
const (
	StatusReceived  Status = "received"
	StatusQueued    Status = "queued"
	StatusInvited   Status = "invited"
	StatusBooked    Status = "booked"
	StatusExpired   Status = "expired"
	StatusDuplicate Status = "duplicate"
)

// Live reports whether a registration in this status still holds its place
// in the queue: one person has at most one live registration per state.
func (s Status) Live() bool {
	return s == StatusReceived || s == StatusQueued || s == StatusInvited
}

// Registration is the message on registrations-topic: a validated,
// normalised POST /register with the reference it was accepted under.
type Registration struct {
	Reference string          `json:"reference"`
	State     string          `json:"state"`
	Name      string          `json:"name"`
	IDNumber  string          `json:"id_number"` // normalised, as booking.Request's
	Phone     string          `json:"phone"`
	Email     string          `json:"email"`
	Lang      string          `json:"lang"`
	Contact   booking.Contact `json:"contact"`
	// ReceivedAt is when the API accepted the registration: the queue's
	// order after opening, whatever order Pub/Sub delivers in.
	ReceivedAt time.Time `json:"received_at"`
}

// Record is the body of GET /registration/{reference}, stored in Redis.
//
// Place is the registration's position in its state's queue (1 is first),
// kept so that the API can answer `ahead` from Redis alone: ahead = Place −
// the state's invited-through mark − 1, never below 0. It is not shown.
type Record struct {
	Reference        string     `json:"reference"`
	State            string     `json:"state"`
	Status           Status     `json:"status"`
	Ahead            *int64     `json:"ahead,omitempty"`
	ExpiresAt        *time.Time `json:"expires_at,omitempty"`
	BookingReference string     `json:"booking_reference,omitempty"`
	Place            int64      `json:"place,omitempty"`
}
