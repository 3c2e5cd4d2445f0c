package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/respond"
	"github.com/vaxbook/vaxbook/internal/seed"
)

// rowError is a row staff may not load, in the seed CSV's own error form.
type rowError struct {
	line   int
	column string
	msg    string
}

func (e *rowError) Error() string { return fmt.Sprintf("line %d: %s: %s", e.line, e.column, e.msg) }

// addSlots loads rows the way `vaxbook seed --csv` does (seed.Load, the
// same rules and errors), in one transaction with the staff checks before
// and an audit row per slot created or changed after. Staff add and change
// sessions only: each row's centre must be one they run and be as stored
// (centres and states are the operator's seed), and an existing slot id
// must be a session of that centre that is still open.
func addSlots(ctx context.Context, store *postgres.Admin, s postgres.Staff, rows []seed.Row, mustBeNew bool) (postgres.SeedResult, error) {
	var res postgres.SeedResult
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.SlotID
	}
	err := postgres.InTx(ctx, store.Pool(), func(tx pgx.Tx) error {
		before, err := postgres.Slots(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := checkRow(ctx, tx, s, r, before, mustBeNew); err != nil {
				return err
			}
		}
		if res, err = seed.Load(ctx, tx, rows); err != nil {
			return err
		}
		after, err := postgres.Slots(ctx, tx, ids)
		if err != nil {
			return err
		}
		return postgres.AuditSlots(ctx, tx, s.Email, before, after)
	})
	return res, err
}

func checkRow(ctx context.Context, tx pgx.Tx, s postgres.Staff, r seed.Row, before map[string]postgres.SlotState, mustBeNew bool) error {
	c, err := postgres.CentreFor(ctx, tx, s, r.CenterID)
	if errors.Is(err, postgres.ErrOutOfScope) {
		return &rowError{r.Line, "center_id", fmt.Sprintf("centre %q is not one of your centres", r.CenterID)}
	}
	if err != nil {
		return err
	}
	for _, f := range []struct{ column, stored, got string }{
		{"state", c.State, r.State}, {"state_name", c.StateName, r.StateName},
		{"center_name", c.Name, r.CenterName}, {"address", c.Address, r.Address},
	} {
		if f.stored != f.got {
			return &rowError{r.Line, f.column, fmt.Sprintf("centre %q has %s %q; centres are changed by the operator's seed, got %q", c.ID, f.column, f.stored, f.got)}
		}
	}
	if b, ok := before[r.SlotID]; ok {
		switch {
		case b.CenterID != r.CenterID:
			return &rowError{r.Line, "slot_id", fmt.Sprintf("slot %q is another centre's session", r.SlotID)}
		case b.ClosedAt != nil:
			return &rowError{r.Line, "slot_id", fmt.Sprintf("slot %q is closed", r.SlotID)}
		case mustBeNew:
			return &rowError{r.Line, "slot_id", fmt.Sprintf("slot %q already exists", r.SlotID)}
		}
	}
	return nil
}

// answerLoad answers a load: 201 with its counts, 400 naming the line
// (upload) or the field (one session), or the store's error.
func answerLoad(w http.ResponseWriter, log *slog.Logger, res postgres.SeedResult, err error, byField bool) {
	if err == nil {
		respond.JSON(w, http.StatusCreated, map[string]int{"slots": res.Slots})
		return
	}
	var re *rowError
	if errors.As(err, &re) {
		rowFail(w, re.line, re.column, re.Error(), re.msg, byField)
		return
	}
	if line, column, msg, ok := seed.Problem(err); ok {
		rowFail(w, line, column, err.Error(), msg, byField)
		return
	}
	fail(w, log, err)
}

func rowFail(w http.ResponseWriter, line int, column, full, msg string, byField bool) {
	if byField {
		respond.Fail(w, http.StatusBadRequest, respond.Error{Code: "invalid", Field: column, Message: msg})
		return
	}
	respond.JSON(w, http.StatusBadRequest, map[string]any{"error": respond.Error{Code: "invalid_row", Field: column, Message: full}, "line": line})
}

// handleAddSlot adds one session: {"center_id","date","time","capacity"},
// with an optional "slot_id" (by default CENTRE-DATE-HHMM).
func handleAddSlot(log *slog.Logger, store *postgres.Admin) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, s postgres.Staff) {
		var body struct {
			CenterID string `json:"center_id"`
			SlotID   string `json:"slot_id"`
			Date     string `json:"date"`
			Time     string `json:"time"`
			Capacity *int   `json:"capacity"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			badRequest(w, "", "The body must be a JSON object.")
			return
		}
		if body.Capacity == nil {
			badRequest(w, "capacity", "Give the session's capacity.")
			return
		}
		c, err := store.Centre(r.Context(), s, body.CenterID)
		if err != nil {
			fail(w, log, err)
			return
		}
		if body.SlotID == "" {
			start, _, _ := strings.Cut(body.Time, "-")
			body.SlotID = c.ID + "-" + body.Date + "-" + strings.ReplaceAll(start, ":", "")
		}
		row := seed.Row{Line: 2, State: c.State, StateName: c.StateName, CenterID: c.ID, CenterName: c.Name,
			Address: c.Address, SlotID: body.SlotID, Date: body.Date, Time: body.Time, Capacity: *body.Capacity}
		res, err := addSlots(r.Context(), store, s, []seed.Row{row}, true)
		answerLoad(w, log, res, err, true)
	}
}

// handleUpload loads a seed-format CSV (text/csv body) of sessions of the
// staff member's centres; errors name the line as `vaxbook seed --csv`'s do.
func handleUpload(log *slog.Logger, store *postgres.Admin) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, s postgres.Staff) {
		rows, err := seed.ParseCSV(r.Body)
		if err != nil {
			answerLoad(w, log, postgres.SeedResult{}, err, false)
			return
		}
		res, err := addSlots(r.Context(), store, s, rows, false)
		answerLoad(w, log, res, err, false)
	}
}

func handleCapacity(log *slog.Logger, store *postgres.Admin) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, s postgres.Staff) {
		var body struct {
			Capacity *int `json:"capacity"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Capacity == nil || *body.Capacity < 0 || *body.Capacity > 100000 {
			badRequest(w, "capacity", "The capacity must be a whole number from 0 to 100000.")
			return
		}
		slot, err := store.SetCapacity(r.Context(), s, r.PathValue("id"), *body.Capacity)
		if err != nil {
			fail(w, log, err)
			return
		}
		respond.JSON(w, http.StatusOK, slot)
	}
}
