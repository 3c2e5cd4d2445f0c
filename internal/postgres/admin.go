package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// Staff roles (migrations/000011_staff).
const (
	RoleStateAdmin  = "state_admin"
	RoleCentreStaff = "centre_staff"
)

// Staff is one signed-in person's access: a state administrator runs every
// centre of States, centre staff run Centers only.
type Staff struct {
	Email   string   `json:"email"`
	Role    string   `json:"role"`
	States  []string `json:"states,omitempty"`
	Centers []string `json:"centers,omitempty"`
}

// Errors the admin role maps to answers.
var (
	// ErrNotStaff: the address is on no allow-list.
	ErrNotStaff = errors.New("not on the staff list")
	// ErrOutOfScope: the centre (or its slot or booking) is not one the
	// staff member runs, or does not exist: both read the same, so staff
	// learn nothing of other centres.
	ErrOutOfScope = errors.New("not one of your centres")
	// ErrSlotClosed: the session is closed; it takes no new capacity.
	ErrSlotClosed = errors.New("the session is closed")
	// ErrNotConfirmed: only a confirmed booking is checked in.
	ErrNotConfirmed = errors.New("the booking is not confirmed")
)

// Admin is the store of the `vaxbook admin` role: every change it makes
// writes its audit row in the same transaction.
type Admin struct{ pool *pgxpool.Pool }

// NewAdmin wraps the admin role's pool.
func NewAdmin(pool *pgxpool.Pool) *Admin { return &Admin{pool: pool} }

// Pool is the admin's pool, for seed uploads run in its transactions.
func (a *Admin) Pool() *pgxpool.Pool { return a.pool }

const findStaff = `SELECT email, role, states, centers FROM staff WHERE email = $1`

// FindStaff reads the access of email (any case), or ErrNotStaff.
func (a *Admin) FindStaff(ctx context.Context, email string) (Staff, error) {
	var s Staff
	err := a.pool.QueryRow(ctx, findStaff, strings.ToLower(email)).Scan(&s.Email, &s.Role, &s.States, &s.Centers)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, ErrNotStaff
	}
	if err != nil {
		return s, fmt.Errorf("find staff: %w", err)
	}
	return s, nil
}

const (
	lockStaff   = `SELECT email, role, states, centers FROM staff WHERE email = $1 FOR UPDATE`
	upsertStaff = `
INSERT INTO staff (email, role, states, centers) VALUES ($1, $2, $3, $4)
ON CONFLICT (email) DO UPDATE SET role = EXCLUDED.role, states = EXCLUDED.states, centers = EXCLUDED.centers`
	deleteStaff = `DELETE FROM staff WHERE email = $1`
)

// SetStaff adds or changes a staff member's access (s.Role empty removes
// them), audited under actor.
func SetStaff(ctx context.Context, db Beginner, actor string, s Staff) error {
	s.Email = strings.ToLower(strings.TrimSpace(s.Email))
	return InTx(ctx, db, func(tx pgx.Tx) error {
		var before Staff
		err := tx.QueryRow(ctx, lockStaff, s.Email).Scan(&before.Email, &before.Role, &before.States, &before.Centers)
		had := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read staff %s: %w", s.Email, err)
		}
		var after any
		if s.Role == "" {
			if _, err := tx.Exec(ctx, deleteStaff, s.Email); err != nil {
				return fmt.Errorf("remove staff %s: %w", s.Email, err)
			}
		} else {
			if s.States == nil {
				s.States = []string{}
			}
			if s.Centers == nil {
				s.Centers = []string{}
			}
			if _, err := tx.Exec(ctx, upsertStaff, s.Email, s.Role, s.States, s.Centers); err != nil {
				return fmt.Errorf("set staff %s: %w", s.Email, err)
			}
			after = s
		}
		var b any
		if had {
			b = before
		}
		return audit(ctx, tx, actor, "staff.set", "staff/"+s.Email, b, after)
	})
}

const insertAudit = `INSERT INTO audit_log (actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5)`

// audit writes one row of the audit log; before or after nil is SQL NULL
// (a thing created, or removed).
func audit(ctx context.Context, tx pgx.Tx, actor, action, target string, before, after any) error {
	enc := func(v any) ([]byte, error) {
		if v == nil {
			return nil, nil
		}
		return json.Marshal(v)
	}
	b, err := enc(before)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	a, err := enc(after)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	if _, err := tx.Exec(ctx, insertAudit, actor, action, target, b, a); err != nil {
		return fmt.Errorf("audit %s %s: %w", action, target, err)
	}
	return nil
}

// AuditRow is one row of the audit log as read back.
type AuditRow struct {
	At                    time.Time
	Actor, Action, Target string
	Before, After         json.RawMessage
}

const readAudit = `SELECT at, actor, action, target, before, after FROM audit_log WHERE target LIKE $1 ORDER BY id`

// Audit reads the log's rows whose target starts with prefix, oldest first.
func (a *Admin) Audit(ctx context.Context, prefix string) ([]AuditRow, error) {
	rows, err := a.pool.Query(ctx, readAudit, escapeLike(prefix)+"%")
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditRow, error) {
		var x AuditRow
		err := r.Scan(&x.At, &x.Actor, &x.Action, &x.Target, &x.Before, &x.After)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Centre is a vaccination centre as staff see it.
type Centre struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Address   string `json:"address"`
	State     string `json:"state"`
	StateName string `json:"state_name"`
}

const staffCentres = `
SELECT c.id, c.name, c.address, c.state_code, st.name
FROM centers c JOIN states st ON st.code = c.state_code
WHERE c.state_code = ANY($1) OR c.id = ANY($2)
ORDER BY st.name, c.name, c.id`

// Centres lists the centres s runs.
func (a *Admin) Centres(ctx context.Context, s Staff) ([]Centre, error) {
	states, centers := s.scope()
	rows, err := a.pool.Query(ctx, staffCentres, states, centers)
	if err != nil {
		return nil, fmt.Errorf("list centres of %s: %w", s.Email, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Centre, error) {
		var c Centre
		err := r.Scan(&c.ID, &c.Name, &c.Address, &c.State, &c.StateName)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list centres of %s: %w", s.Email, err)
	}
	return out, nil
}

// scope is what s may touch, as the queries' arrays: states for an
// administrator, centres for centre staff, never both.
func (s Staff) scope() (states, centers []string) {
	if s.Role == RoleStateAdmin {
		return s.States, []string{}
	}
	return []string{}, s.Centers
}

// Runs reports whether s runs the centre id of state.
func (s Staff) Runs(state, centre string) bool {
	if s.Role == RoleStateAdmin {
		return slices.Contains(s.States, state)
	}
	return slices.Contains(s.Centers, centre)
}

const centreByID = `
SELECT c.id, c.name, c.address, c.state_code, st.name
FROM centers c JOIN states st ON st.code = c.state_code WHERE c.id = $1`

// Centre reads one centre s runs, or ErrOutOfScope.
func (a *Admin) Centre(ctx context.Context, s Staff, id string) (Centre, error) {
	return CentreFor(ctx, a.pool, s, id)
}

// CentreFor reads one centre s runs through db (a pool or an upload's
// transaction), or ErrOutOfScope.
func CentreFor(ctx context.Context, db RowQuerier, s Staff, id string) (Centre, error) {
	var c Centre
	err := db.QueryRow(ctx, centreByID, id).Scan(&c.ID, &c.Name, &c.Address, &c.State, &c.StateName)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrOutOfScope
	}
	if err != nil {
		return c, fmt.Errorf("read centre %s: %w", id, err)
	}
	if !s.Runs(c.State, c.ID) {
		return c, ErrOutOfScope
	}
	return c, nil
}

// SlotState is a slot as the audit log records it.
type SlotState struct {
	ID       string     `json:"id"`
	CenterID string     `json:"center_id"`
	State    string     `json:"-"`
	Date     string     `json:"date"`
	Time     string     `json:"time"`
	Capacity int        `json:"capacity"`
	Booked   int        `json:"booked"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	CancelAt *time.Time `json:"cancel_at,omitempty"`
}

const slotsByID = `
SELECT s.id, s.center_id, c.state_code, to_char(s.slot_date, 'YYYY-MM-DD'), s.time_range, s.capacity, s.booked, s.closed_at, s.cancel_at
FROM slots s JOIN centers c ON c.id = s.center_id WHERE s.id = ANY($1) ORDER BY s.id`

// Slots reads the slots of ids that exist, by id: the before and after of
// an upload, in its transaction.
func Slots(ctx context.Context, tx pgx.Tx, ids []string) (map[string]SlotState, error) {
	rows, err := tx.Query(ctx, slotsByID, ids)
	if err != nil {
		return nil, fmt.Errorf("read slots: %w", err)
	}
	out := map[string]SlotState{}
	var s SlotState
	_, err = pgx.ForEachRow(rows, []any{&s.ID, &s.CenterID, &s.State, &s.Date, &s.Time, &s.Capacity, &s.Booked, &s.ClosedAt, &s.CancelAt}, func() error {
		out[s.ID] = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read slots: %w", err)
	}
	return out, nil
}

// AuditSlots writes one audit row per slot that an upload created or
// changed: the before and after of each, as Slots read them.
func AuditSlots(ctx context.Context, tx pgx.Tx, actor string, before, after map[string]SlotState) error {
	ids := make([]string, 0, len(after))
	for id := range after {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		b, had := before[id]
		a := after[id]
		switch {
		case !had:
			if err := audit(ctx, tx, actor, "slot.add", "slot/"+id, nil, a); err != nil {
				return err
			}
		case b != a:
			if err := audit(ctx, tx, actor, "slot.update", "slot/"+id, b, a); err != nil {
				return err
			}
		}
	}
	return nil
}

const lockSlot = `
SELECT s.id, s.center_id, c.state_code, to_char(s.slot_date, 'YYYY-MM-DD'), s.time_range, s.capacity, s.booked, s.closed_at, s.cancel_at
FROM slots s JOIN centers c ON c.id = s.center_id WHERE s.id = $1 FOR UPDATE OF s`

// lockScopedSlot takes the slot's row lock, if s runs its centre.
func lockScopedSlot(ctx context.Context, tx pgx.Tx, s Staff, id string) (SlotState, error) {
	var x SlotState
	err := tx.QueryRow(ctx, lockSlot, id).Scan(&x.ID, &x.CenterID, &x.State, &x.Date, &x.Time, &x.Capacity, &x.Booked, &x.ClosedAt, &x.CancelAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return x, ErrOutOfScope
	}
	if err != nil {
		return x, fmt.Errorf("lock slot %s: %w", id, err)
	}
	if !s.Runs(x.State, x.CenterID) {
		return x, ErrOutOfScope
	}
	return x, nil
}

const setCapacity = `UPDATE slots SET capacity = $2 WHERE id = $1`

// SetCapacity changes a slot's capacity, never below what it has booked
// (a *CapacityBelowBookedError naming the slot), audited under s.
func (a *Admin) SetCapacity(ctx context.Context, s Staff, slotID string, capacity int) (SlotState, error) {
	var after SlotState
	err := InTx(ctx, a.pool, func(tx pgx.Tx) error {
		// The row lock makes the worker's conditional bump wait, so the
		// booked count compared here is the one the update meets.
		before, err := lockScopedSlot(ctx, tx, s, slotID)
		if err != nil {
			return err
		}
		if before.ClosedAt != nil {
			return ErrSlotClosed
		}
		if capacity < before.Booked {
			return &CapacityBelowBookedError{SlotID: slotID, Capacity: capacity, Booked: before.Booked}
		}
		after = before
		after.Capacity = capacity
		if capacity == before.Capacity {
			return nil
		}
		if _, err := tx.Exec(ctx, setCapacity, slotID, capacity); err != nil {
			return fmt.Errorf("set capacity of %s: %w", slotID, err)
		}
		return audit(ctx, tx, s.Email, "slot.capacity", "slot/"+slotID, before, after)
	})
	return after, err
}

// Closing a session, in two steps (migrations/000012_closing). CloseSessions
// takes new bookings away at once and returns the people booked, to be
// offered a change of time until cancel_at; FinishClosing then cancels what
// is still on it, and ClosingDone records that everyone was told.

const (
	closeSlot = `
UPDATE slots SET closed_at = now(), cancel_at = GREATEST($2, now())
WHERE id = $1 RETURNING closed_at, cancel_at`
	// The people on a closing session, to be offered a change of time.
	bookedOn = `
SELECT reference, name, email, phone, contact, lang, state_code, sequence
FROM bookings WHERE slot_id = $1 AND status = 'confirmed' ORDER BY reference`
	// The confirmed bookings of a closing session, and those its closing
	// cancelled before (a retry), so their messages are asked again.
	closeCandidates = `
SELECT reference FROM bookings WHERE slot_id = $1 AND status = 'confirmed'
UNION
SELECT booking FROM booking_changes WHERE request LIKE $2
ORDER BY 1`
	dueClosings = `
SELECT id FROM slots
WHERE closed_at IS NOT NULL AND cancel_at <= $1 AND rest_cancelled_at IS NULL ORDER BY cancel_at, id`
	closingDone = `UPDATE slots SET rest_cancelled_at = now() WHERE id = $1 AND rest_cancelled_at IS NULL`
	daySessions = `SELECT id FROM slots WHERE center_id = $1 AND slot_date = $2 ORDER BY id`
)

// closeRequest is the booking_changes key of a closing's cancellation, so
// a retried close finds what it cancelled.
func closeRequest(slot, ref string) string { return "close:" + slot + ":" + ref }

// ClosedSession is a session staff closed, as it now stands (CancelAt is
// when what is not moved is cancelled), and the people booked on it.
type ClosedSession struct {
	Slot   SlotState
	People []booking.ManageOutcome
}

// SessionsToClose reads the sessions s asks to close: slotID alone, or,
// with slotID empty, every session of centre on date (YYYY-MM-DD). Each
// must be of a centre s runs (else ErrOutOfScope).
func (a *Admin) SessionsToClose(ctx context.Context, s Staff, slotID, centre, date string) ([]SlotState, error) {
	ids := []string{slotID}
	if slotID == "" {
		if _, err := CentreFor(ctx, a.pool, s, centre); err != nil {
			return nil, err
		}
		rows, err := a.pool.Query(ctx, daySessions, centre, date)
		if err != nil {
			return nil, fmt.Errorf("sessions of %s on %s: %w", centre, date, err)
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return nil, fmt.Errorf("sessions of %s on %s: %w", centre, date, err)
		}
	}
	var out []SlotState
	err := InTx(ctx, a.pool, func(tx pgx.Tx) error {
		got, err := Slots(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			x, ok := got[id]
			if !ok || !s.Runs(x.State, x.CenterID) {
				return ErrOutOfScope
			}
			out = append(out, x)
		}
		return nil
	})
	return out, err
}

// CloseSessions closes the sessions ids of centres s runs, in one
// transaction: each takes no new booking from now, not even in a place
// given back while it closes (takePlace), and what is still
// booked on it at cancelAt is cancelled then (FinishClosing). Each close is
// audited. A session closed before keeps its first cancel_at, so a retry
// returns the same sessions and people, to be told again (each message is
// sent once by its key).
func (a *Admin) CloseSessions(ctx context.Context, s Staff, ids []string, cancelAt time.Time) ([]ClosedSession, error) {
	ids = slices.Sorted(slices.Values(ids)) // row locks in id order: two closes cannot deadlock
	ids = slices.Compact(ids)
	var out []ClosedSession
	err := InTx(ctx, a.pool, func(tx pgx.Tx) error {
		out = nil
		for _, id := range ids {
			before, err := lockScopedSlot(ctx, tx, s, id)
			if err != nil {
				return err
			}
			after := before
			if before.ClosedAt == nil {
				if err := tx.QueryRow(ctx, closeSlot, id, cancelAt).Scan(&after.ClosedAt, &after.CancelAt); err != nil {
					return fmt.Errorf("close %s: %w", id, err)
				}
				if err := audit(ctx, tx, s.Email, "slot.close", "slot/"+id, before, after); err != nil {
					return err
				}
			}
			people, err := bookedPeople(ctx, tx, id, *after.ClosedAt)
			if err != nil {
				return err
			}
			out = append(out, ClosedSession{Slot: after, People: people})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("close sessions %v: %w", ids, err)
	}
	return out, nil
}

// bookedPeople are the confirmed bookings of slot, as a closing notice
// tells them.
func bookedPeople(ctx context.Context, tx pgx.Tx, slot string, closedAt time.Time) ([]booking.ManageOutcome, error) {
	info, err := slotInfo(ctx, tx, slot)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, bookedOn, slot)
	if err != nil {
		return nil, fmt.Errorf("bookings of %s: %w", slot, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (booking.ManageOutcome, error) {
		o := booking.ManageOutcome{DecidedAt: closedAt, Notify: true}
		o.Booking = booking.StatusRecord{Status: booking.StatusConfirmed, Slot: &info}
		err := r.Scan(&o.Booking.Reference, &o.Name, &o.Email, &o.Phone, &o.Contact, &o.Booking.Lang, &o.State, &o.Sequence)
		o.Booking.Sequence = o.Sequence
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("bookings of %s: %w", slot, err)
	}
	return out, nil
}

// FinishClosing cancels, each in its own transaction as a person's cancel
// is (place released, change recorded, sequence bumped, audited under
// actor), every booking still confirmed on the closed session slotID; a
// booking moved or cancelled meanwhile is left alone. The outcomes are the
// bookings its closing cancelled, now or on an earlier try, to be told.
func (a *Admin) FinishClosing(ctx context.Context, slotID, actor string) ([]booking.ManageOutcome, error) {
	rows, err := a.pool.Query(ctx, closeCandidates, slotID, escapeLike(closeRequest(slotID, ""))+"%")
	if err != nil {
		return nil, fmt.Errorf("bookings of %s: %w", slotID, err)
	}
	refs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("bookings of %s: %w", slotID, err)
	}
	var outs []booking.ManageOutcome
	for _, ref := range refs {
		var (
			o    booking.ManageOutcome
			told bool
		)
		err := InTx(ctx, a.pool, func(tx pgx.Tx) error {
			// The booking's lock before the slot's, as the worker takes
			// them: a person's move racing this cannot deadlock with it.
			h, err := lockHeld(ctx, tx, ref)
			if err != nil {
				return err
			}
			m := booking.ManageRequest{Action: booking.ActionCancel, Booking: ref, Request: closeRequest(slotID, ref), RequestedAt: time.Now().UTC()}
			was := h.status
			if h.slot != slotID {
				return nil // moved away: nothing of the closing's to do
			}
			if was != booking.StatusConfirmed {
				var n int
				if err := tx.QueryRow(ctx, `SELECT count(*) FROM booking_changes WHERE request = $1`, m.Request).Scan(&n); err != nil {
					return fmt.Errorf("find request: %w", err)
				}
				if n == 0 {
					return nil // cancelled by its person, who was told so
				}
			}
			if o, err = decide(ctx, tx, m, h, actor); err != nil {
				return err
			}
			told = true
			if was != booking.StatusConfirmed {
				return nil
			}
			return audit(ctx, tx, actor, "booking.cancel", "booking/"+ref,
				map[string]any{"status": was, "slot": slotID}, map[string]any{"status": o.Booking.Status, "slot": slotID, "reason": "session closed"})
		})
		if err != nil {
			return nil, fmt.Errorf("finish closing %s: %s: %w", slotID, ref, err)
		}
		if told {
			outs = append(outs, o)
		}
	}
	return outs, nil
}

// DueClosings are the closed sessions whose time to move is up at now and
// whose remaining bookings are not all cancelled and told yet.
func (a *Admin) DueClosings(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := a.pool.Query(ctx, dueClosings, now)
	if err != nil {
		return nil, fmt.Errorf("due closings: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("due closings: %w", err)
	}
	return ids, nil
}

// ClosingDone records that slotID's closing is finished and everyone on it
// told, so DueClosings leaves it alone.
func (a *Admin) ClosingDone(ctx context.Context, slotID string) error {
	if _, err := a.pool.Exec(ctx, closingDone, slotID); err != nil {
		return fmt.Errorf("closing of %s done: %w", slotID, err)
	}
	return nil
}

// Session is one slot of a day list, with its confirmed bookings.
type Session struct {
	SlotID   string `json:"slot_id"`
	Time     string `json:"time"`
	Capacity int    `json:"capacity"`
	Booked   int    `json:"booked"`
	Closed   bool   `json:"closed"`
	// CancelAt is when a closing session cancels what is still on it;
	// people booked may move to another time until then.
	CancelAt *time.Time `json:"cancel_at,omitempty"`
	Bookings []Booked   `json:"bookings"`
}

// Booked is one person on a day list.
type Booked struct {
	Reference  string `json:"reference"`
	Name       string `json:"name"`
	Attendance string `json:"attendance,omitempty"`
}

// DayQuery narrows a day list: by the booking's reference, or by its
// person's ID hash (the full ID number typed, hashed with ID_PEPPER).
type DayQuery struct {
	Reference string
	IDHash    string
}

const dayList = `
SELECT s.id, s.time_range, s.capacity, s.booked, s.closed_at IS NOT NULL,
       CASE WHEN s.rest_cancelled_at IS NULL THEN s.cancel_at END,
       b.reference, b.name, COALESCE(b.attendance, '')
FROM slots s
LEFT JOIN bookings b ON b.slot_id = s.id AND b.status = 'confirmed'
    AND ($3 = '' OR b.reference = $3) AND ($4 = '' OR b.id_hash = $4)
WHERE s.center_id = $1 AND s.slot_date = $2
ORDER BY s.time_range, s.id, b.name, b.reference`

// DayList is who is booked in which session of a centre s runs on date
// (YYYY-MM-DD). With a query, sessions keep only the matching bookings.
func (a *Admin) DayList(ctx context.Context, s Staff, centre, date string, q DayQuery) ([]Session, error) {
	if _, err := CentreFor(ctx, a.pool, s, centre); err != nil {
		return nil, err
	}
	day, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return nil, fmt.Errorf("day list: date %q: %w", date, err)
	}
	rows, err := a.pool.Query(ctx, dayList, centre, day, q.Reference, q.IDHash)
	if err != nil {
		return nil, fmt.Errorf("day list of %s on %s: %w", centre, date, err)
	}
	var (
		out  []Session
		sess Session
		ref  *string
		name *string
		att  string
	)
	_, err = pgx.ForEachRow(rows, []any{&sess.SlotID, &sess.Time, &sess.Capacity, &sess.Booked, &sess.Closed, &sess.CancelAt, &ref, &name, &att}, func() error {
		if len(out) == 0 || out[len(out)-1].SlotID != sess.SlotID {
			s := sess
			s.Bookings = []Booked{}
			out = append(out, s)
		}
		if ref != nil {
			last := &out[len(out)-1]
			last.Bookings = append(last.Bookings, Booked{Reference: *ref, Name: deref(name), Attendance: att})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("day list of %s on %s: %w", centre, date, err)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

const (
	lockAttendance = `
SELECT b.status, COALESCE(b.attendance, ''), c.id, c.state_code
FROM bookings b JOIN slots s ON s.id = b.slot_id JOIN centers c ON c.id = s.center_id
WHERE b.reference = $1 FOR UPDATE OF b`
	setAttendance = `
UPDATE bookings SET attendance = NULLIF($2, ''), attendance_at = CASE WHEN $2 = '' THEN NULL ELSE now() END,
    attendance_by = NULLIF($3, '')
WHERE reference = $1`
)

// SetAttendance records a check-in: attended, no_show, or "" to undo a
// mistaken one, on a confirmed booking of a centre s runs; audited.
func (a *Admin) SetAttendance(ctx context.Context, s Staff, ref, attendance string) error {
	switch attendance {
	case "attended", "no_show", "":
	default:
		return fmt.Errorf("attendance %q: want attended, no_show or empty", attendance)
	}
	return InTx(ctx, a.pool, func(tx pgx.Tx) error {
		var status, before, centre, state string
		err := tx.QueryRow(ctx, lockAttendance, ref).Scan(&status, &before, &centre, &state)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrOutOfScope
		}
		if err != nil {
			return fmt.Errorf("lock booking %s: %w", ref, err)
		}
		if !s.Runs(state, centre) {
			return ErrOutOfScope
		}
		if status != string(booking.StatusConfirmed) {
			return ErrNotConfirmed
		}
		if before == attendance {
			return nil
		}
		by := s.Email
		if attendance == "" {
			by = ""
		}
		if _, err := tx.Exec(ctx, setAttendance, ref, attendance, by); err != nil {
			return fmt.Errorf("check in %s: %w", ref, err)
		}
		return audit(ctx, tx, s.Email, "booking.attendance", "booking/"+ref,
			map[string]string{"attendance": before}, map[string]string{"attendance": attendance})
	})
}
