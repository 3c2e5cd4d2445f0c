package admin

import (
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/respond"
)

// dayQuery reads the search box. ID numbers are stored only as their HMAC
// (pii.Pepper), so "the last digits of the ID" cannot be matched; instead a
// full ID number typed at the door is hashed and matched exactly, and
// anything else is taken as a booking reference.
func dayQuery(o Options, q string) postgres.DayQuery {
	q = strings.TrimSpace(q)
	if q == "" {
		return postgres.DayQuery{}
	}
	if norm, err := booking.NormalizeIDNumber(q); err == nil && o.IDs != nil {
		if ref := strings.ToUpper(q); !booking.ValidReference(ref) {
			return postgres.DayQuery{IDHash: o.IDs.Hash(norm)}
		}
	}
	return postgres.DayQuery{Reference: strings.ToUpper(strings.ReplaceAll(q, " ", ""))}
}

// dayList reads the centre and date parameters and the list; on false it
// has answered.
func dayList(w http.ResponseWriter, r *http.Request, log *slog.Logger, o Options, s postgres.Staff) ([]postgres.Session, bool) {
	centre, date := r.URL.Query().Get("center"), r.URL.Query().Get("date")
	if centre == "" {
		badRequest(w, "center", "Choose a centre.")
		return nil, false
	}
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		badRequest(w, "date", "The date must be YYYY-MM-DD.")
		return nil, false
	}
	sessions, err := o.Store.DayList(r.Context(), s, centre, date, dayQuery(o, r.URL.Query().Get("q")))
	if err != nil {
		fail(w, log, err)
		return nil, false
	}
	return sessions, true
}

func handleDay(log *slog.Logger, o Options) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, s postgres.Staff) {
		sessions, ok := dayList(w, r, log, o, s)
		if !ok {
			return
		}
		if sessions == nil {
			sessions = []postgres.Session{}
		}
		respond.JSON(w, http.StatusOK, map[string]any{"sessions": sessions})
	}
}

// handleDayCSV is the day list as a spreadsheet: one row per booking.
func handleDayCSV(log *slog.Logger, o Options) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, s postgres.Staff) {
		sessions, ok := dayList(w, r, log, o, s)
		if !ok {
			return
		}
		name := "daylist-" + r.URL.Query().Get("center") + "-" + r.URL.Query().Get("date") + ".csv"
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+strings.Map(safeFileRune, name)+`"`)
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"slot_id", "time", "reference", "name", "attendance"})
		for _, sess := range sessions {
			for _, b := range sess.Bookings {
				_ = cw.Write([]string{sess.SlotID, sess.Time, b.Reference, cell(b.Name), b.Attendance})
			}
		}
		cw.Flush()
	}
}

// cell keeps a name a spreadsheet would read as a formula as text.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func safeFileRune(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
		return r
	}
	return '_'
}

func handleAttendance(log *slog.Logger, store *postgres.Admin) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, s postgres.Staff) {
		var body struct {
			Attendance *string `json:"attendance"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Attendance == nil {
			badRequest(w, "attendance", `Send "attendance": "attended", "no_show" or "".`)
			return
		}
		switch *body.Attendance {
		case "attended", "no_show", "":
		default:
			badRequest(w, "attendance", `Send "attendance": "attended", "no_show" or "".`)
			return
		}
		ref := r.PathValue("ref")
		if err := store.SetAttendance(r.Context(), s, ref, *body.Attendance); err != nil {
			fail(w, log, err)
			return
		}
		respond.JSON(w, http.StatusOK, map[string]string{"reference": ref, "attendance": *body.Attendance})
	}
}
