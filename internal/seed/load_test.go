package seed_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/seed"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// day fixes the demo's dates so failures are reproducible.
var day = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)

func mustLoad(t *testing.T, db *pgxpool.Pool, rows []seed.Row) postgres.SeedResult {
	t.Helper()
	res, err := seed.Load(context.Background(), db, rows)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return res
}

func setBooked(t *testing.T, db *pgxpool.Pool, slotID string, booked int) {
	t.Helper()
	tag, err := db.Exec(context.Background(), `UPDATE slots SET booked = $2 WHERE id = $1`, slotID, booked)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("set booked on %s: %v (%d rows)", slotID, err, tag.RowsAffected())
	}
}

// edit is a change to seed rows made in place.
func edit(f func(rows []seed.Row)) func([]seed.Row) []seed.Row {
	return func(rows []seed.Row) []seed.Row {
		f(rows)
		return rows
	}
}

// rename is a change that gives a new name to the state whose code, or the
// centre whose id, is key (the two never look alike).
func rename(key, name string) func([]seed.Row) []seed.Row {
	return edit(func(rows []seed.Row) {
		for i, r := range rows {
			switch key {
			case r.State:
				rows[i].StateName = name
			case r.CenterID:
				rows[i].CenterName = name
			}
		}
	})
}

func TestLoad_DemoLoadsEverything(t *testing.T) {
	t.Parallel()
	db := testenv.NewPool(t)
	rows := seed.Demo(day)

	start := time.Now()
	got := mustLoad(t, db, rows)
	t.Logf("loaded %d rows in %v", len(rows), time.Since(start))

	if want := (postgres.SeedResult{States: 16, Centers: 48, Slots: 48 * 28}); got != want {
		t.Errorf("Load = %+v, want %+v", got, want)
	}
	var r seed.Row
	err := db.QueryRow(context.Background(), `
SELECT st.code, st.name, c.id, c.name, c.address, s.id, to_char(s.slot_date, 'YYYY-MM-DD'), s.time_range, s.capacity
FROM slots s JOIN centers c ON c.id = s.center_id JOIN states st ON st.code = c.state_code
WHERE s.id = $1`, rows[100].SlotID).Scan(
		&r.State, &r.StateName, &r.CenterID, &r.CenterName, &r.Address, &r.SlotID, &r.Date, &r.Time, &r.Capacity)
	if err != nil {
		t.Fatalf("read back slot %s: %v", rows[100].SlotID, err)
	}
	r.Line = rows[100].Line
	if r != rows[100] {
		t.Errorf("slot in the database:\n got %+v\nwant %+v", r, rows[100])
	}
}

func TestLoad_SameRowsAgainChangeNothing(t *testing.T) {
	t.Parallel()
	db := testenv.NewPool(t)
	rows := seed.Demo(day)
	mustLoad(t, db, rows)
	setBooked(t, db, rows[0].SlotID, 7)
	before := testenv.RowVersions(t, db)

	if got := mustLoad(t, db, rows); got != (postgres.SeedResult{}) {
		t.Errorf("second Load = %+v, want all zeros", got)
	}
	if after := testenv.RowVersions(t, db); !slices.Equal(before, after) {
		t.Errorf("second Load rewrote rows (xmin or values changed)")
	}
}

func TestLoad_UpdatesWhatChangedOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(rows []seed.Row) []seed.Row
		want   postgres.SeedResult
		check  string // a query that must return true after the load
	}{
		{
			name:   "capacity raised",
			change: edit(func(rows []seed.Row) { rows[5].Capacity = 999 }),
			want:   postgres.SeedResult{Slots: 1},
			check:  `SELECT capacity = 999 AND booked = 3 FROM slots WHERE id = 'jhr-001-2026-11-26-pm'`,
		},
		{
			name:   "capacity lowered to booked",
			change: edit(func(rows []seed.Row) { rows[5].Capacity = 3 }),
			want:   postgres.SeedResult{Slots: 1},
			check:  `SELECT capacity = 3 AND booked = 3 FROM slots WHERE id = 'jhr-001-2026-11-26-pm'`,
		},
		{
			name:   "centre renamed",
			change: rename("sel-002", "Stadium Malawati (Dewan B)"),
			want:   postgres.SeedResult{Centers: 1},
			check:  `SELECT name = 'Stadium Malawati (Dewan B)' FROM centers WHERE id = 'sel-002'`,
		},
		{
			name:   "state renamed",
			change: rename("kuala-lumpur", "Wilayah Persekutuan Kuala Lumpur"),
			want:   postgres.SeedResult{States: 1},
			check:  `SELECT name = 'Wilayah Persekutuan Kuala Lumpur' FROM states WHERE code = 'kuala-lumpur'`,
		},
		{
			name: "slot added and session moved",
			change: func(rows []seed.Row) []seed.Row {
				rows[5].Time = "14:30-18:30"
				extra := rows[5]
				extra.SlotID, extra.Time, extra.Line = "jhr-001-extra", "19:00-21:00", 0
				return append(rows, extra)
			},
			want: postgres.SeedResult{Slots: 2},
			check: `SELECT (SELECT time_range FROM slots WHERE id = 'jhr-001-2026-11-26-pm') = '14:30-18:30'
				AND EXISTS (SELECT 1 FROM slots WHERE id = 'jhr-001-extra' AND time_range = '19:00-21:00' AND booked = 0)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := testenv.NewPool(t)
			rows := seed.Demo(day)
			if rows[5].SlotID != "jhr-001-2026-11-26-pm" {
				t.Fatalf("demo order changed: rows[5] is %s", rows[5].SlotID)
			}
			mustLoad(t, db, rows)
			setBooked(t, db, rows[5].SlotID, 3)
			before := testenv.RowVersions(t, db)

			if got := mustLoad(t, db, tt.change(seed.Demo(day))); got != tt.want {
				t.Errorf("Load = %+v, want %+v", got, tt.want)
			}
			var ok bool
			if err := db.QueryRow(context.Background(), tt.check).Scan(&ok); err != nil || !ok {
				t.Errorf("after Load, %s: got %v, %v; want true", tt.check, ok, err)
			}
			after := testenv.RowVersions(t, db)
			rewritten := countChanged(before, after)
			if want := tt.want.States + tt.want.Centers + tt.want.Slots; rewritten != want {
				t.Errorf("%d rows inserted or rewritten, want %d", rewritten, want)
			}
		})
	}
}

// countChanged counts entries of after that are not in before.
func countChanged(before, after []string) int {
	seen := map[string]bool{}
	for _, s := range before {
		seen[s] = true
	}
	n := 0
	for _, s := range after {
		if !seen[s] {
			n++
		}
	}
	return n
}

func TestLoad_FailsAndChangesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(rows []seed.Row) []seed.Row
		want   string
	}{
		{
			name:   "capacity below booked",
			change: edit(func(rows []seed.Row) { rows[5].Capacity = 2 }),
			want:   "line 7: capacity: 2 is below the 3 places already booked for slot jhr-001-2026-11-26-pm",
		},
		{
			name:   "capacity zero below booked",
			change: edit(func(rows []seed.Row) { rows[5].Capacity = 0 }),
			want:   "line 7: capacity: 0 is below the 3 places already booked for slot jhr-001-2026-11-26-pm",
		},
		{
			name:   "bad row in the middle",
			change: edit(func(rows []seed.Row) { rows[700].Date = "2026-02-30" }),
			want:   `line 702: date: must be a real date as YYYY-MM-DD, got "2026-02-30"`,
		},
		{
			name:   "negative capacity in the middle",
			change: edit(func(rows []seed.Row) { rows[700].Capacity = -1 }),
			want:   `line 702: capacity: must be a whole number from 0 to 100000, got "-1"`,
		},
		{
			name:   "slot id twice",
			change: edit(func(rows []seed.Row) { rows[900].SlotID = rows[10].SlotID }),
			want:   `line 902: slot_id: "jhr-001-2026-11-29-am" already appears on line 12`,
		},
		{
			name:   "centre with two addresses",
			change: edit(func(rows []seed.Row) { rows[20].Address = "Jalan Lain" }),
			want:   `line 22: address: centre "jhr-001" has address`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := testenv.NewPool(t)
			// The first load covers half the demo so the failing load would
			// also insert slots, update a capacity and touch every table.
			rows := seed.Demo(day)
			mustLoad(t, db, rows[:len(rows)/2])
			setBooked(t, db, "jhr-001-2026-11-26-pm", 3)
			before := testenv.RowVersions(t, db)

			next := rename("kedah", "Kedah Darul Aman")(tt.change(seed.Demo(day)))
			next[1].Capacity++
			res, err := seed.Load(context.Background(), db, next)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Load error = %v\nwant one starting %s", err, tt.want)
			}
			if res != (postgres.SeedResult{}) {
				t.Errorf("failed Load = %+v, want zeros", res)
			}
			if after := testenv.RowVersions(t, db); !slices.Equal(before, after) {
				t.Errorf("failed Load changed the database")
			}
		})
	}
}

func TestLoad_BadRowLoadsNothingIntoEmptyDatabase(t *testing.T) {
	t.Parallel()
	db := testenv.NewPool(t)
	rows := seed.Demo(day)
	rows[len(rows)/2].State = "Not A State"
	if _, err := seed.Load(context.Background(), db, rows); err == nil {
		t.Fatal("Load accepted a bad state code")
	}
	var n int
	if err := db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM states) + (SELECT count(*) FROM centers) + (SELECT count(*) FROM slots)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows loaded, want none", n)
	}
}

func TestLoad_NoRowsIsNoOp(t *testing.T) {
	t.Parallel()
	db := testenv.NewPool(t)
	if got := mustLoad(t, db, nil); got != (postgres.SeedResult{}) {
		t.Errorf("Load(nil) = %+v, want zeros", got)
	}
}
