// Package listing is the availability document behind GET /listppv and
// GET /states: its shape and how it is rendered. Where the rendered bytes are
// stored is the cache adapter's business.
package listing

import (
	"errors"
	"time"
)

// ErrNotFilled means a document is not in the cache: the cache-fill loop has
// not written it yet.
var ErrNotFilled = errors.New("listing not filled yet")

// Document is the /listppv answer for one state.
type Document struct {
	State       string    `json:"state"`
	GeneratedAt time.Time `json:"generated_at"`
	Centers     []Center  `json:"centers"`
}

// Center is one vaccination centre (PPV) with its slots.
type Center struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"`
	Slots   []Slot `json:"slots"`
}

// Slot is one session at a centre.
type Slot struct {
	ID        string `json:"id"`
	Date      string `json:"date"`
	Time      string `json:"time"`
	Capacity  int    `json:"capacity"`
	Available int    `json:"available"`
	Open      bool   `json:"open"`
}

// State is one entry of GET /states. Mode is how the state gives out its
// places (queue.Mode's values; "open" when the database says nothing), and
// OpensAt when a queue state starts inviting, if set. Closed is the
// maintenance switch: the state takes no new bookings or registrations for
// now (left out of the document while false, so an open state's entry is
// as it always was).
type State struct {
	Code    string     `json:"code"`
	Name    string     `json:"name"`
	Mode    string     `json:"mode"`
	OpensAt *time.Time `json:"opens_at,omitempty"`
	Closed  bool       `json:"closed,omitempty"`
}

// StatesDocument is the GET /states answer.
// It carries no timestamp so its bytes, and so its ETag, only change when a
// state does.
type StatesDocument struct {
	States []State `json:"states"`
}
