// Package seed reads and checks the seed CSV of states, vaccination centres
// and slots, makes demo data in the same form, and loads either through
// internal/postgres.
//
// The seed CSV is the source of truth for states, centres and slots; the
// booked counters belong to the worker and are never written here.
package seed

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Row is one line of the seed CSV:
// state,state_name,center_id,center_name,address,slot_id,date,time,capacity.
type Row struct {
	// Line is where the row stands in its file, counting the header as
	// line 1, so every error can point at the line to fix.
	Line       int
	State      string // state code, e.g. "selangor"
	StateName  string // e.g. "Selangor"
	CenterID   string
	CenterName string
	Address    string
	SlotID     string
	Date       string // YYYY-MM-DD
	Time       string // HH:MM-HH:MM, e.g. "08:00-13:00"
	Capacity   int
}

// columns is the header the seed CSV must start with, in this order.
var columns = []string{"state", "state_name", "center_id", "center_name", "address", "slot_id", "date", "time", "capacity"}

const (
	maxTextLen  = 200
	maxCapacity = 100000
	dateLayout  = "2006-01-02"
)

var (
	stateRE = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)
	idRE    = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	timeRE  = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$`)
	digits  = regexp.MustCompile(`^[0-9]+$`)
)

// lineError points at the line and column a person has to fix.
type lineError struct {
	line   int
	column string
	msg    string
}

func (e *lineError) Error() string {
	if e.column == "" {
		return fmt.Sprintf("line %d: %s", e.line, e.msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.line, e.column, e.msg)
}

func errAt(line int, column, format string, args ...any) error {
	return &lineError{line: line, column: column, msg: fmt.Sprintf(format, args...)}
}

// ParseCSV reads a whole seed CSV and returns its rows, or the first error,
// which names the line (the header is line 1) and the column at fault. The
// header must be exactly the seed CSV's columns in order; a UTF-8 byte order
// mark and spaces around header names are tolerated, as are spaces around
// values, because spreadsheets add them.
func ParseCSV(r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	// Counted by hand so a short row gets the same "line N:" error as any
	// other mistake instead of encoding/csv's wording.
	cr.FieldsPerRecord = -1

	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errAt(1, "", "the file is empty; want the header %q", strings.Join(columns, ","))
	}
	if err != nil {
		return nil, csvError(err)
	}
	if err := checkHeader(head); err != nil {
		return nil, err
	}

	var rows []Row
	c := newChecker()
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		// FieldPos rather than a record count: a quoted value may span lines
		// and blank lines are skipped, and the person needs the line their
		// editor shows.
		line, _ := cr.FieldPos(0)
		if len(rec) != len(columns) {
			return nil, errAt(line, "", "want %d columns (%s), got %d", len(columns), strings.Join(columns, ","), len(rec))
		}
		row, err := parseRecord(line, rec)
		if err != nil {
			return nil, err
		}
		if err := c.consistent(row); err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: malformed CSV at character %d: %w", pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("read seed CSV: %w", err)
}

func checkHeader(head []string) error {
	got := make([]string, len(head))
	for i, h := range head {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF")
		}
		got[i] = strings.TrimSpace(h)
	}
	if len(got) != len(columns) {
		return errAt(1, "", "header must be %q, got %q", strings.Join(columns, ","), strings.Join(got, ","))
	}
	for i, name := range columns {
		if got[i] != name {
			return errAt(1, "", "header column %d must be %q, got %q (want %q)", i+1, name, got[i], strings.Join(columns, ","))
		}
	}
	return nil
}

// parseRecord converts one CSV record and checks it on its own; the rules
// that span rows are checker's.
func parseRecord(line int, rec []string) (Row, error) {
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	row := Row{
		Line:       line,
		State:      rec[0],
		StateName:  rec[1],
		CenterID:   rec[2],
		CenterName: rec[3],
		Address:    rec[4],
		SlotID:     rec[5],
		Date:       rec[6],
		Time:       rec[7],
	}
	// The text columns first, so the error names the leftmost mistake
	// even when the capacity is bad too.
	if err := checkFields(row); err != nil {
		return Row{}, err
	}
	// Digits only: strconv.Atoi would also take "+5" and "-0".
	n, err := strconv.Atoi(rec[8])
	if !digits.MatchString(rec[8]) || err != nil || n > maxCapacity {
		return Row{}, errCapacity(line, rec[8])
	}
	row.Capacity = n
	return row, nil
}

func errCapacity(line int, got string) error {
	return errAt(line, "capacity", "must be a whole number from 0 to %d, got %q", maxCapacity, got)
}

// checker applies the seed rules to rows in file order. It remembers the
// first row of every state, centre and slot because a file that names the
// same centre twice with different addresses is a mistake to report, not a
// last-one-wins update.
type checker struct {
	states  map[string]Row
	centers map[string]Row
	slots   map[string]int
}

func newChecker() *checker {
	return &checker{states: map[string]Row{}, centers: map[string]Row{}, slots: map[string]int{}}
}

// check applies every rule to a row built in code rather than read from a
// file.
func (c *checker) check(r Row) error {
	if err := checkFields(r); err != nil {
		return err
	}
	return c.consistent(r)
}

// consistent checks r against the rows before it.
func (c *checker) consistent(r Row) error {
	if first, ok := c.states[r.State]; !ok {
		c.states[r.State] = r
	} else if first.StateName != r.StateName {
		return errAt(r.Line, "state_name", "state %q is named %q on line %d, got %q", r.State, first.StateName, first.Line, r.StateName)
	}
	if first, ok := c.centers[r.CenterID]; !ok {
		c.centers[r.CenterID] = r
	} else {
		for _, f := range []struct{ column, want, got string }{
			{"state", first.State, r.State},
			{"center_name", first.CenterName, r.CenterName},
			{"address", first.Address, r.Address},
		} {
			if f.want != f.got {
				return errAt(r.Line, f.column, "centre %q has %s %q on line %d, got %q", r.CenterID, f.column, f.want, first.Line, f.got)
			}
		}
	}
	if first, ok := c.slots[r.SlotID]; ok {
		return errAt(r.Line, "slot_id", "%q already appears on line %d", r.SlotID, first)
	}
	c.slots[r.SlotID] = r.Line
	return nil
}

// checkFields checks one row on its own, column by column from the left so
// the error names the first thing to fix.
func checkFields(r Row) error {
	if !stateRE.MatchString(r.State) {
		return errAt(r.Line, "state", "must be 1-40 lower-case letters, digits or dashes, got %q", r.State)
	}
	if err := checkText(r.Line, "state_name", r.StateName); err != nil {
		return err
	}
	if !idRE.MatchString(r.CenterID) {
		return errAt(r.Line, "center_id", "must be 1-64 letters, digits or . _ : -, got %q", r.CenterID)
	}
	if err := checkText(r.Line, "center_name", r.CenterName); err != nil {
		return err
	}
	if err := checkText(r.Line, "address", r.Address); err != nil {
		return err
	}
	if !idRE.MatchString(r.SlotID) {
		return errAt(r.Line, "slot_id", "must be 1-64 letters, digits or . _ : -, got %q", r.SlotID)
	}
	// Year 1 onwards: PostgreSQL has no year 0 and would reject the whole
	// load with an error that names no line.
	if d, err := time.Parse(dateLayout, r.Date); err != nil || d.Year() < 1 {
		return errAt(r.Line, "date", "must be a real date as YYYY-MM-DD, got %q", r.Date)
	}
	if m := timeRE.FindStringSubmatch(r.Time); m == nil || m[1]+m[2] >= m[3]+m[4] {
		return errAt(r.Line, "time", "must be HH:MM-HH:MM with the start before the end, got %q", r.Time)
	}
	if r.Capacity < 0 || r.Capacity > maxCapacity {
		return errCapacity(r.Line, strconv.Itoa(r.Capacity))
	}
	return nil
}

// checkText keeps names and addresses to one printable line of valid UTF-8:
// PostgreSQL rejects invalid UTF-8 without saying which row, and the
// listing shows each on a single line.
func checkText(line int, column, s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return errAt(line, column, "must not be empty")
	case !utf8.ValidString(s):
		return errAt(line, column, "must be valid UTF-8, got %q", s)
	case utf8.RuneCountInString(s) > maxTextLen:
		return errAt(line, column, "must be at most %d characters, got %d", maxTextLen, utf8.RuneCountInString(s))
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return errAt(line, column, "must be one line without control characters, got %q", s)
	}
	return nil
}

// WriteCSV writes rows as a seed CSV, header first, so that ParseCSV reads
// back the same rows (Line aside).
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(columns); err != nil {
		return fmt.Errorf("write seed CSV header: %w", err)
	}
	for _, r := range rows {
		rec := []string{r.State, r.StateName, r.CenterID, r.CenterName, r.Address, r.SlotID, r.Date, r.Time, strconv.Itoa(r.Capacity)}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write seed CSV slot %s: %w", r.SlotID, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write seed CSV: %w", err)
	}
	return nil
}

// Problem takes apart an error of ParseCSV or Load that points at a row:
// its line and column (empty when the whole line is at fault) and what is
// wrong, so a caller that is not a file (the admin page's one-session
// form) can name the field instead of the line.
func Problem(err error) (line int, column, msg string, ok bool) {
	var le *lineError
	if !errors.As(err, &le) {
		return 0, "", "", false
	}
	return le.line, le.column, le.msg, true
}
