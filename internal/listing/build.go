package listing

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// SlotRow is one slot with its centre and state, as read from the counter
// rows. A state with no centres comes as one row with empty centre fields; a
// centre with no slots, with empty slot fields.
type SlotRow struct {
	StateCode, StateName                string
	StateMode                           string    // "" reads as open
	StateOpensAt                        time.Time // zero: not set
	StateClosed                         bool      // the maintenance switch
	CenterID, CenterName, CenterAddress string
	SlotID, Date, Time                  string
	Capacity, Booked                    int
}

// Built is one state's document with a digest of everything in it but the
// time, so a writer can tell whether anything changed since its last pass.
type Built struct {
	Doc    Document
	Digest [32]byte
}

// Build groups rows (ordered by state, centre, slot) into one document per
// state and the states list, stamped with at.
func Build(rows []SlotRow, at time.Time) ([]Built, StatesDocument) {
	at = at.UTC().Truncate(time.Second)
	var out []Built
	states := StatesDocument{States: []State{}}
	var h digest
	for i, r := range rows {
		if i == 0 || r.StateCode != rows[i-1].StateCode {
			if len(out) > 0 {
				out[len(out)-1].Digest = h.sum()
			}
			h = newDigest()
			out = append(out, Built{Doc: Document{State: r.StateCode, GeneratedAt: at, Centers: []Center{}}})
			states.States = append(states.States, stateOf(r))
		}
		doc := &out[len(out)-1].Doc
		if r.CenterID == "" {
			continue
		}
		if n := len(doc.Centers); n == 0 || doc.Centers[n-1].ID != r.CenterID {
			doc.Centers = append(doc.Centers, Center{ID: r.CenterID, Name: r.CenterName, Address: r.CenterAddress, Slots: []Slot{}})
			h.add(r.CenterID, r.CenterName, r.CenterAddress)
		}
		if r.SlotID == "" {
			continue
		}
		c := &doc.Centers[len(doc.Centers)-1]
		available := max(0, r.Capacity-r.Booked)
		c.Slots = append(c.Slots, Slot{
			ID: r.SlotID, Date: r.Date, Time: r.Time,
			Capacity: r.Capacity, Available: available, Open: available > 0,
		})
		h.add(r.SlotID, r.Date, r.Time)
		h.addInt(r.Capacity)
		h.addInt(available)
	}
	if len(out) > 0 {
		out[len(out)-1].Digest = h.sum()
	}
	return out, states
}

// stateOf is a row's state as GET /states lists it.
func stateOf(r SlotRow) State {
	s := State{Code: r.StateCode, Name: r.StateName, Mode: r.StateMode, Closed: r.StateClosed}
	if s.Mode == "" {
		s.Mode = modeOpen
	}
	if !r.StateOpensAt.IsZero() {
		at := r.StateOpensAt.UTC().Truncate(time.Second)
		s.OpensAt = &at
	}
	return s
}

// modeOpen is queue.ModeOpen, spelled here so the document's package does
// not depend on the queue's.
const modeOpen = "open"

type digest struct {
	h interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
}

func newDigest() digest { return digest{h: sha256.New()} }

func (d digest) add(ss ...string) {
	for _, s := range ss {
		d.addInt(len(s))
		d.h.Write([]byte(s))
	}
}

func (d digest) addInt(n int) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(n))
	d.h.Write(b[:])
}

func (d digest) sum() (s [32]byte) {
	copy(s[:], d.h.Sum(nil))
	return s
}
