package seed_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/vaxbook/vaxbook/internal/seed"
)

const header = "state,state_name,center_id,center_name,address,slot_id,date,time,capacity\n"

// good is a valid data line; tests build files from it so that each case
// differs from a valid file in one place.
const good = "selangor,Selangor,sel-001,Dewan Komuniti Seksyen 7,\"Jalan Plumbum 7/102, 40000 Shah Alam\",sel-001-2026-12-01-am,2026-12-01,08:00-13:00,300\n"

func TestParseCSV_ReadsValidFile(t *testing.T) {
	t.Parallel()
	in := "\uFEFF state , state_name,center_id ,center_name,address,slot_id,date,time,capacity\r\n" +
		good +
		"\n" + // blank lines are skipped but still counted
		"selangor,Selangor,sel-001,Dewan Komuniti Seksyen 7,\"Jalan Plumbum 7/102, 40000 Shah Alam\", sel-001-2026-12-01-pm ,2026-12-01,14:00-18:00, 0\n" +
		"kuala-lumpur,W.P. Kuala Lumpur,kul.1:A_b,\"Dewan \"\"Besar\"\"\",Jalan Tun Ismail,k,2028-02-29,00:00-23:59,100000"
	got, err := seed.ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatalf("ParseCSV: %v", err)
	}
	want := []seed.Row{
		{Line: 2, State: "selangor", StateName: "Selangor", CenterID: "sel-001", CenterName: "Dewan Komuniti Seksyen 7",
			Address: "Jalan Plumbum 7/102, 40000 Shah Alam", SlotID: "sel-001-2026-12-01-am", Date: "2026-12-01", Time: "08:00-13:00", Capacity: 300},
		{Line: 4, State: "selangor", StateName: "Selangor", CenterID: "sel-001", CenterName: "Dewan Komuniti Seksyen 7",
			Address: "Jalan Plumbum 7/102, 40000 Shah Alam", SlotID: "sel-001-2026-12-01-pm", Date: "2026-12-01", Time: "14:00-18:00", Capacity: 0},
		{Line: 5, State: "kuala-lumpur", StateName: "W.P. Kuala Lumpur", CenterID: "kul.1:A_b", CenterName: `Dewan "Besar"`,
			Address: "Jalan Tun Ismail", SlotID: "k", Date: "2028-02-29", Time: "00:00-23:59", Capacity: 100000},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseCSV:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseCSV_HeaderOnlyGivesNoRows(t *testing.T) {
	t.Parallel()
	got, err := seed.ParseCSV(strings.NewReader(header))
	if err != nil || len(got) != 0 {
		t.Errorf("ParseCSV(header only) = %v, %v; want no rows, nil", got, err)
	}
}

func TestParseCSV_RejectsBadHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty file", "", "line 1: the file is empty"},
		{"missing column", "state,state_name,center_id,center_name,address,slot_id,date,time\n", "line 1: header must be"},
		{"extra column", strings.TrimSuffix(header, "\n") + ",notes\n", "line 1: header must be"},
		{"wrong order", "state_name,state,center_id,center_name,address,slot_id,date,time,capacity\n", `line 1: header column 1 must be "state", got "state_name"`},
		{"wrong case", "State,state_name,center_id,center_name,address,slot_id,date,time,capacity\n", `line 1: header column 1 must be "state", got "State"`},
		{"data instead of header", good, `line 1: header column 1 must be "state", got "selangor"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkRejected(t, tt.in, tt.want)
		})
	}
}

func TestParseCSV_RejectsBadRowNamingLineAndColumn(t *testing.T) {
	t.Parallel()
	// base is good without the quoted comma, so line can split it.
	base := strings.Replace(good, `"Jalan Plumbum 7/102, 40000 Shah Alam"`, "Jalan Plumbum 7/102", 1)
	// line builds a data line from base with one column replaced.
	line := func(col int, value string) string {
		f := strings.Split(strings.TrimSuffix(base, "\n"), ",")
		f[col] = value
		return strings.Join(f, ",") + "\n"
	}
	const (
		state = iota
		stateName
		centerID
		centerName
		address
		slotID
		date
		timeRange
		capacity
	)
	other := func(slot string) string { return line(slotID, slot) }
	long := strings.Repeat("é", 201)

	tests := []struct {
		name string
		rows string // data lines after the header and base, so the first is line 3
		want string
	}{
		{"state upper-case", line(state, "Selangor"), `line 3: state: must be 1-40 lower-case letters, digits or dashes, got "Selangor"`},
		{"state empty", line(state, ""), `line 3: state: must be 1-40`},
		{"state too long", line(state, strings.Repeat("a", 41)), `line 3: state: must be 1-40`},
		{"state underscore", line(state, "negeri_sembilan"), `line 3: state: must be 1-40`},
		{"state name empty", line(stateName, " "), `line 3: state_name: must not be empty`},
		{"state name too long", line(stateName, long), `line 3: state_name: must be at most 200 characters, got 201`},
		{"center id empty", line(centerID, ""), `line 3: center_id: must be 1-64 letters, digits or . _ : -, got ""`},
		{"center id with space", line(centerID, `"sel 001"`), `line 3: center_id: must be 1-64`},
		{"center id too long", line(centerID, strings.Repeat("c", 65)), `line 3: center_id: must be 1-64`},
		{"center name empty", line(centerName, ""), `line 3: center_name: must not be empty`},
		{"center name too long", line(centerName, long), `line 3: center_name: must be at most 200 characters`},
		{"center name two lines", line(centerName, "\"Dewan\nKomuniti\""), `line 3: center_name: must be one line`},
		{"center name invalid UTF-8", line(centerName, "Dewan \xff"), `line 3: center_name: must be valid UTF-8`},
		{"address empty", line(address, ""), `line 3: address: must not be empty`},
		{"address too long", line(address, long), `line 3: address: must be at most 200 characters`},
		{"slot id empty", line(slotID, ""), `line 3: slot_id: must be 1-64`},
		{"slot id with slash", line(slotID, "sel/1"), `line 3: slot_id: must be 1-64`},
		{"date not a day", line(date, "2026-02-30"), `line 3: date: must be a real date as YYYY-MM-DD, got "2026-02-30"`},
		{"date not a leap year", line(date, "2027-02-29"), `line 3: date: must be a real date`},
		{"date other layout", line(date, "01/12/2026"), `line 3: date: must be a real date`},
		{"date without zero", line(date, "2026-12-1"), `line 3: date: must be a real date`},
		{"date year zero", line(date, "0000-01-01"), `line 3: date: must be a real date`},
		{"time empty", line(timeRange, ""), `line 3: time: must be HH:MM-HH:MM with the start before the end, got ""`},
		{"time single", line(timeRange, "08:00"), `line 3: time: must be HH:MM-HH:MM`},
		{"time backwards", line(timeRange, "13:00-08:00"), `line 3: time: must be HH:MM-HH:MM`},
		{"time empty range", line(timeRange, "08:00-08:00"), `line 3: time: must be HH:MM-HH:MM`},
		{"time hour 24", line(timeRange, "08:00-24:00"), `line 3: time: must be HH:MM-HH:MM`},
		{"time short hour", line(timeRange, "8:00-13:00"), `line 3: time: must be HH:MM-HH:MM`},
		{"capacity word", line(capacity, "x"), `line 3: capacity: must be a whole number from 0 to 100000, got "x"`},
		{"capacity empty", line(capacity, ""), `line 3: capacity: must be a whole number from 0 to 100000, got ""`},
		{"capacity negative", line(capacity, "-1"), `line 3: capacity: must be a whole number from 0 to 100000, got "-1"`},
		{"capacity plus", line(capacity, "+5"), `line 3: capacity: must be a whole number`},
		{"capacity fraction", line(capacity, "1.5"), `line 3: capacity: must be a whole number`},
		{"capacity too big", line(capacity, "100001"), `line 3: capacity: must be a whole number from 0 to 100000, got "100001"`},
		{"capacity overflows", line(capacity, "99999999999999999999"), `line 3: capacity: must be a whole number`},
		{"leftmost error wins", strings.Replace(line(capacity, "x"), "selangor", "BAD", 1), `line 3: state: `},
		{"too few columns", "selangor,Selangor,sel-001\n", `line 3: want 9 columns`},
		{"too many columns", strings.TrimSuffix(good, "\n") + ",extra\n", `line 3: want 9 columns`},
		{"bad quoting", "selangor,Sel\"angor,sel-001\n", `line 3: malformed CSV`},
		{"slot id twice", base, `line 3: slot_id: "sel-001-2026-12-01-am" already appears on line 2`},
		{"state renamed", strings.Replace(other("s2"), "Selangor", "Selangor Darul Ehsan", 1),
			`line 3: state_name: state "selangor" is named "Selangor" on line 2, got "Selangor Darul Ehsan"`},
		{"centre in another state", strings.Replace(strings.Replace(other("s2"), "selangor", "johor", 1), "Selangor", "Johor", 1),
			`line 3: state: centre "sel-001" has state "selangor" on line 2, got "johor"`},
		{"centre renamed", strings.Replace(other("s2"), "Seksyen 7", "Seksyen 8", 1),
			`line 3: center_name: centre "sel-001" has center_name "Dewan Komuniti Seksyen 7" on line 2, got "Dewan Komuniti Seksyen 8"`},
		{"centre moved", strings.Replace(other("s2"), "Jalan Plumbum", "Jalan Lain", 1),
			`line 3: address: centre "sel-001" has address "Jalan Plumbum 7/102" on line 2, got "Jalan Lain 7/102"`},
		{"blank line counted", "\n" + line(capacity, "x"), `line 4: capacity:`},
		{"quoted newline counted", line(centerName, "\"Dewan\nKomuniti\"") + line(capacity, "x"), `line 3: center_name:`},
		{"bad row after good rows", other("s2") + other("s3") + other("s4") + line(capacity, "x"), `line 6: capacity:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkRejected(t, header+base+tt.rows, tt.want)
		})
	}
}

// checkRejected checks that ParseCSV rejects in with an error starting with
// want, and returns no rows with it.
func checkRejected(t *testing.T, in, want string) {
	t.Helper()
	rows, err := seed.ParseCSV(strings.NewReader(in))
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("ParseCSV error = %v\nwant one starting %q", err, want)
	}
	if rows != nil {
		t.Errorf("ParseCSV returned %d rows with its error, want none", len(rows))
	}
}

func TestParseCSV_ReportsReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	_, err := seed.ParseCSV(iotest.ErrReader(boom))
	if !errors.Is(err, boom) {
		t.Errorf("ParseCSV error = %v, want it to wrap %v", err, boom)
	}
}

func TestWriteCSV_RoundTripsAwkwardText(t *testing.T) {
	t.Parallel()
	rows := []seed.Row{{
		Line: 2, State: "sabah", StateName: "Sabah", CenterID: "sbh-001",
		CenterName: `Dewan "Utama", Tingkat 2`, Address: " Lot 5, Jalan Leila;  90000 Sandakan",
		SlotID: "sbh-001-x", Date: "2026-12-01", Time: "08:00-13:00", Capacity: 7,
	}}
	var buf bytes.Buffer
	if err := seed.WriteCSV(&buf, rows); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	got, err := seed.ParseCSV(&buf)
	if err != nil {
		t.Fatalf("ParseCSV(WriteCSV output): %v", err)
	}
	// ParseCSV trims values, as spreadsheets pad them.
	rows[0].Address = strings.TrimSpace(rows[0].Address)
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, rows)
	}
}

func TestDemo_HasEveryStateThreeCentresAndTwoWeeksOfSessions(t *testing.T) {
	t.Parallel()
	// 23:30 UTC on 30 November is already 1 December in Malaysia.
	from := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	rows := seed.Demo(from)

	states := map[string]string{}
	centers := map[string]string{}
	slots := map[string]bool{}
	dates := map[string]bool{}
	for i, r := range rows {
		if r.Line != i+2 {
			t.Fatalf("row %d has Line %d, want %d", i, r.Line, i+2)
		}
		states[r.State] = r.StateName
		centers[r.CenterID] = r.State
		slots[r.SlotID] = true
		dates[r.Date] = true
		if r.Capacity < 50 || r.Capacity > 300 {
			t.Errorf("slot %s capacity %d, want 50..300", r.SlotID, r.Capacity)
		}
		if !strings.HasPrefix(r.SlotID, r.CenterID+"-"+r.Date+"-") {
			t.Errorf("slot id %q does not start with centre and date", r.SlotID)
		}
		wantTime := map[string]string{"am": "08:00-13:00", "pm": "14:00-18:00"}[r.SlotID[len(r.SlotID)-2:]]
		if r.Time != wantTime {
			t.Errorf("slot %s time %q, want %q", r.SlotID, r.Time, wantTime)
		}
	}
	if got, want := len(states), 16; got != want {
		t.Errorf("states: got %d, want %d", got, want)
	}
	if got, want := len(centers), 48; got != want {
		t.Errorf("centres: got %d, want %d", got, want)
	}
	if got, want := len(slots), 48*28; got != want || len(rows) != want {
		t.Errorf("slots: got %d distinct in %d rows, want %d", got, len(rows), want)
	}
	if got, want := len(dates), 14; got != want {
		t.Errorf("dates: got %d, want %d", got, want)
	}
	for code, name := range map[string]string{
		"johor": "Johor", "kedah": "Kedah", "kelantan": "Kelantan", "melaka": "Melaka",
		"negeri-sembilan": "Negeri Sembilan", "pahang": "Pahang", "perak": "Perak", "perlis": "Perlis",
		"pulau-pinang": "Pulau Pinang", "sabah": "Sabah", "sarawak": "Sarawak", "selangor": "Selangor",
		"terengganu": "Terengganu", "kuala-lumpur": "W.P. Kuala Lumpur", "labuan": "W.P. Labuan", "putrajaya": "W.P. Putrajaya",
	} {
		if states[code] != name {
			t.Errorf("state %q named %q, want %q", code, states[code], name)
		}
	}
	if centers["sel-001"] != "selangor" {
		t.Errorf("sel-001 is in %q, want selangor", centers["sel-001"])
	}
	for _, id := range []string{"sel-001-2026-12-02-am", "sel-001-2026-12-15-pm", "pjy-003-2026-12-08-am", "jhr-001-2026-12-02-pm"} {
		if !slots[id] {
			t.Errorf("slot %s missing", id)
		}
	}
	if slots["sel-001-2026-12-01-am"] || slots["sel-001-2026-12-16-am"] {
		t.Errorf("demo reaches outside 2 to 15 December (Malaysia time)")
	}
}

func TestDemo_IsDeterministicAndVaried(t *testing.T) {
	t.Parallel()
	a := seed.Demo(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	b := seed.Demo(time.Date(2026, 12, 1, 15, 59, 0, 0, time.UTC)) // 23:59 the same day in Malaysia
	if !reflect.DeepEqual(a, b) {
		t.Errorf("Demo differs for two times on the same Malaysian date")
	}
	caps := map[int]bool{}
	for _, r := range a {
		caps[r.Capacity] = true
	}
	if len(caps) < 10 {
		t.Errorf("Demo uses %d distinct capacities, want a varied spread", len(caps))
	}
	// A slot keeps its capacity when the demo is made on a later day.
	later := seed.Demo(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	capOf := map[string]int{}
	for _, r := range a {
		capOf[r.SlotID] = r.Capacity
	}
	for _, r := range later {
		if c, ok := capOf[r.SlotID]; ok && c != r.Capacity {
			t.Fatalf("slot %s capacity %d on one day, %d the next", r.SlotID, c, r.Capacity)
		}
	}
}

func TestDemo_RoundTripsThroughCSV(t *testing.T) {
	t.Parallel()
	rows := seed.Demo(time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC))
	var buf bytes.Buffer
	if err := seed.WriteCSV(&buf, rows); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	if !strings.HasPrefix(buf.String(), header) {
		t.Errorf("WriteCSV output starts %q, want the header", buf.String()[:len(header)])
	}
	got, err := seed.ParseCSV(&buf)
	if err != nil {
		t.Fatalf("ParseCSV(WriteCSV(Demo)): %v", err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("Demo does not survive WriteCSV then ParseCSV")
	}
}
