package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/seed"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// driftLines are the `reconcile drift` log lines of a run, by slot.
func driftLines(t *testing.T, out string) map[string]map[string]any {
	t.Helper()
	got := map[string]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if line["message"] == reconcileDrift {
			got[line["slot"].(string)] = line
		}
	}
	return got
}

func TestReconcile_FindsAnInjectedCounterDriftAndFixesItInOneTransaction(t *testing.T) {
	t.Parallel()
	dbURL, pool := testenv.NewDatabase(t)
	ctx := t.Context()
	var rows []seed.Row
	for _, s := range []struct {
		id  string
		cap int
	}{{"sel-001-am", 10}, {"sel-001-pm", 10}, {"sel-002-am", 1}, {"sel-002-pm", 10}} {
		rows = append(rows, seed.Row{State: "selangor", StateName: "Selangor", CenterID: s.id[:7], CenterName: "Dewan", Address: "Jalan 1",
			SlotID: s.id, Date: "2026-12-01", Time: "08:00-13:00", Capacity: s.cap})
	}
	if _, err := seed.Load(ctx, pool, rows); err != nil {
		t.Fatal(err)
	}
	// Confirmed bookings: two in sel-001-am, one in sel-001-pm, two in
	// sel-002-am (of one place: the schema's unique index is per person,
	// not per slot), one in sel-002-pm whose counter agrees.
	for _, sql := range []string{
		`INSERT INTO bookings (reference, id_hash, status, slot_id, state_code, name, phone, email, lang, preferences, message_id, submitted_at)
		 SELECT 'REF-' || n, 'hash-' || n, 'confirmed', slot, 'selangor', 'P', '+60123456789', 'p@example.com', 'ms', ARRAY[slot], 'm' || n, now()
		 FROM (VALUES (1, 'sel-001-am'), (2, 'sel-001-am'), (3, 'sel-001-pm'), (4, 'sel-002-am'), (5, 'sel-002-am'), (6, 'sel-002-pm')) v(n, slot)`,
		`UPDATE slots SET booked = 2 WHERE id = 'sel-001-am'`,
		`UPDATE slots SET booked = 1 WHERE id IN ('sel-002-am', 'sel-002-pm')`,
		// The drift: three too many counted, and one booking not counted.
		`UPDATE slots SET booked = booked + 3 WHERE id = 'sel-001-am'`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	booked := func() string {
		t.Helper()
		var s string
		if err := pool.QueryRow(ctx, `SELECT string_agg(id || '=' || booked, ' ' ORDER BY id) FROM slots`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	env := envFunc(map[string]string{"DATABASE_URL": dbURL})
	const drifted = "sel-001-am=5 sel-001-pm=0 sel-002-am=1 sel-002-pm=1"

	var out bytes.Buffer
	if err := run(ctx, []string{"vaxbook", "reconcile"}, env, &out); err != nil {
		t.Fatalf("reconcile: %v\n%s", err, out.String())
	}
	lines := driftLines(t, out.String())
	want := map[string][2]float64{"sel-001-am": {5, 2}, "sel-001-pm": {0, 1}, "sel-002-am": {1, 2}}
	if len(lines) != len(want) {
		t.Errorf("reconcile logged drift for %d slots, want %d:\n%s", len(lines), len(want), out.String())
	}
	for slot, w := range want {
		l := lines[slot]
		if l == nil || l["booked"] != w[0] || l["confirmed_bookings"] != w[1] || l["fixed"] != false || l["severity"] != "WARNING" {
			t.Errorf("drift line of %s: got %v, want booked %v, confirmed_bookings %v, not fixed, WARNING", slot, l, w[0], w[1])
		}
	}
	if got := booked(); got != drifted {
		t.Errorf("a report changed the counters: %s, want %s", got, drifted)
	}

	out.Reset()
	err := run(ctx, []string{"vaxbook", "reconcile", "--fix"}, env, &out)
	if err == nil || !strings.Contains(err.Error(), "1 slots hold more confirmed bookings than places") {
		t.Errorf("reconcile --fix with an over-capacity slot: error %v, want it named", err)
	}
	lines = driftLines(t, out.String())
	if lines["sel-001-am"]["fixed"] != true || lines["sel-001-pm"]["fixed"] != true || lines["sel-002-am"]["over_capacity"] != true {
		t.Errorf("reconcile --fix lines: %v", lines)
	}
	if got, want := booked(), "sel-001-am=2 sel-001-pm=1 sel-002-am=1 sel-002-pm=1"; got != want {
		t.Errorf("after --fix: %s, want %s", got, want)
	}

	// A person moves the extra booking; then nothing drifts.
	if _, err := pool.Exec(ctx, `UPDATE bookings SET slot_id = 'sel-002-pm', preferences = '{sel-002-pm}' WHERE reference = 'REF-5'`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE slots SET booked = 2 WHERE id = 'sel-002-pm'`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"vaxbook", "reconcile", "--fix"}, env, &out); err != nil {
		t.Fatalf("reconcile --fix: %v", err)
	}
	if lines := driftLines(t, out.String()); len(lines) != 0 || !strings.Contains(out.String(), `"drifted":0`) {
		t.Errorf("reconcile after the fix: %s, want no drift", out.String())
	}
}
