package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vaxbook/vaxbook/internal/queue"
)

// ErrUnknownState means no state has the code given.
var ErrUnknownState = errors.New("no such state")

// StateMode is how a state gives out its places, as `vaxbook state set`
// leaves it.
type StateMode struct {
	Code    string
	Mode    queue.Mode
	OpensAt *time.Time // nil: none set
}

// OpensAtChange says what SetStateMode does to a state's opening time.
type OpensAtChange struct {
	Change bool      // false: keep what is there
	At     time.Time // with Change, the new time; zero clears it
}

// The opening time moves only when asked to, so switching a queue state to
// open and back keeps it.
const setStateMode = `
UPDATE states SET mode = $2, opens_at = CASE WHEN $3 THEN $4::timestamptz ELSE opens_at END
WHERE code = $1
RETURNING code, mode, opens_at`

// SetStateMode sets a state's mode and, if asked, its opening time, and
// returns what the state now says. Nothing else changes: registrations and
// invitations stay as they are (docs/queue.md, "Switching mode"), and the
// cache-fill loop publishes the change at its next pass.
func SetStateMode(ctx context.Context, db RowQuerier, code string, mode queue.Mode, opensAt OpensAtChange) (StateMode, error) {
	var at *time.Time
	if opensAt.Change && !opensAt.At.IsZero() {
		t := opensAt.At.UTC()
		at = &t
	}
	var s StateMode
	err := db.QueryRow(ctx, setStateMode, code, string(mode), opensAt.Change, at).Scan(&s.Code, &s.Mode, &s.OpensAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return StateMode{}, fmt.Errorf("state %q: %w", code, ErrUnknownState)
	}
	if err != nil {
		return StateMode{}, fmt.Errorf("set mode of state %q: %w", code, err)
	}
	if s.OpensAt != nil {
		t := s.OpensAt.UTC()
		s.OpensAt = &t
	}
	return s, nil
}

// Closing every state at once is one statement, so no booking slips into a
// state the operator thought already closed.
const setStateClosed = `
UPDATE states SET closed = $2
WHERE code = $1 OR $1 = ''
RETURNING code`

// SetStateClosed throws the maintenance switch of one state, or of every
// state when code is "", and returns the codes it changed, in order. The
// cache-fill loop publishes it at its next pass.
func SetStateClosed(ctx context.Context, db Querier, code string, closed bool) ([]string, error) {
	rows, err := db.Query(ctx, setStateClosed, code, closed)
	if err != nil {
		return nil, fmt.Errorf("set closed of state %q: %w", code, err)
	}
	codes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("set closed of state %q: %w", code, err)
	}
	if len(codes) == 0 && code != "" {
		return nil, fmt.Errorf("state %q: %w", code, ErrUnknownState)
	}
	slices.Sort(codes)
	return codes, nil
}
