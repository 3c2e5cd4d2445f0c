package loadtest

import (
	"math"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/vaxbook/vaxbook/internal/booking"
)

func TestSummarise_QuantilesCodesAndSuccess(t *testing.T) {
	var m vegeta.Metrics
	start := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	// 1000 requests, one per millisecond, latencies 1..1000 ms; every
	// tenth a 503.
	for i := 1; i <= 1000; i++ {
		code := uint16(200)
		if i%10 == 0 {
			code = 503
		}
		m.Add(&vegeta.Result{Code: code, Timestamp: start.Add(time.Duration(i) * time.Millisecond), Latency: time.Duration(i) * time.Millisecond})
	}
	p := Summarise("x", &m)
	if p.Requests != 1000 {
		t.Errorf("requests: got %d, want 1000", p.Requests)
	}
	if p.Codes["200"] != 900 || p.Codes["503"] != 100 {
		t.Errorf("codes: got %v, want 200:900 503:100", p.Codes)
	}
	if math.Abs(p.Success-0.9) > 1e-9 {
		t.Errorf("success: got %v, want 0.9", p.Success)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > want*0.02+1 {
			t.Errorf("%s: got %.2f ms, want about %.0f ms", name, got, want)
		}
	}
	near("p50", p.Latency.P50, 500)
	near("p90", p.Latency.P90, 900)
	near("p99", p.Latency.P99, 990)
	near("p99.9", p.Latency.P999, 999)
	if p.Latency.Max != 1000 {
		t.Errorf("max: got %v, want 1000", p.Latency.Max)
	}
}

func TestAccumulated_ThroughputIsSuccessesOverAttackSeconds(t *testing.T) {
	// Two rounds, each 1 s of attack with 100 OK, apart in time: the gap
	// between them must not count.
	var a Accumulated
	for round := range 2 {
		var r vegeta.Metrics
		base := time.Date(2026, 11, 23, 7, round*10, 0, 0, time.UTC)
		for i := range 101 {
			res := &vegeta.Result{Code: 200, Timestamp: base.Add(time.Duration(i) * 10 * time.Millisecond), Latency: time.Millisecond}
			r.Add(res)
			a.all.Add(res)
		}
		r.Close()
		a.seconds += r.Duration.Seconds() + r.Wait.Seconds()
		a.ok += r.Success * float64(r.Requests)
	}
	p := a.Phase("sys")
	if math.Abs(p.Throughput-101) > 1 {
		t.Errorf("throughput: got %.2f/s, want about 101/s (202 OK over 2 s)", p.Throughput)
	}
}

func TestNewRatio(t *testing.T) {
	for _, tc := range []struct {
		system, ceiling, goal, want float64
		met                         bool
	}{
		{850, 1000, 0.85, 0.85, true},
		{849, 1000, 0.85, 0.849, false},
		{1200, 1000, 0.8, 1.2, true},
		{100, 0, 0.8, 0, false}, // a broken baseline never reads as success
	} {
		r := NewRatio("r", tc.system, tc.ceiling, tc.goal)
		if math.Abs(r.Ratio-tc.want) > 1e-9 || r.Met != tc.met {
			t.Errorf("NewRatio(%v, %v, %v): got %.3f met=%v, want %.3f met=%v", tc.system, tc.ceiling, tc.goal, r.Ratio, r.Met, tc.want, tc.met)
		}
	}
}

func TestTallies_CleanOnlyWithoutOverbookingOrLoss(t *testing.T) {
	zero, one := 0, 1
	clean := Tallies{SlotsOverCapacity: &zero, MissingFromPostgres: &zero, CountersUnlikeBookings: &zero, PeopleBookedTwice: &zero, StatusesNeverShown: &zero}
	if !clean.Clean() {
		t.Errorf("all zero: want clean")
	}
	for name, mod := range map[string]func(*Tallies){
		"over capacity":  func(t *Tallies) { t.SlotsOverCapacity = &one },
		"missing":        func(t *Tallies) { t.MissingFromPostgres = &one },
		"still pending":  func(t *Tallies) { t.StillPending = 1 },
		"retry new ref":  func(t *Tallies) { t.RetriedNewRef = 1 },
		"booked twice":   func(t *Tallies) { t.PeopleBookedTwice = &one },
		"counter unlike": func(t *Tallies) { t.CountersUnlikeBookings = &one },
		"never shown":    func(t *Tallies) { t.StatusesNeverShown = &one },
	} {
		tl := clean
		mod(&tl)
		if tl.Clean() {
			t.Errorf("%s: got clean, want not", name)
		}
	}
}

func TestWeighted_FollowsPopulation(t *testing.T) {
	w := NewWeighted([]string{"selangor", "labuan", "atlantis"})
	counts := map[string]int{}
	const n = 100_000
	for i := range n {
		counts[w.Pick((float64(i)+0.5)/n)]++
	}
	total := population["selangor"] + population["labuan"] + defaultWeight
	for code, weight := range map[string]float64{"selangor": population["selangor"], "labuan": population["labuan"], "atlantis": defaultWeight} {
		want := n * weight / total
		if math.Abs(float64(counts[code])-want) > want*0.01+1 {
			t.Errorf("%s: got %d picks, want about %.0f", code, counts[code], want)
		}
	}
}

func TestPeople_ValidDistinctICs(t *testing.T) {
	seen := map[string]bool{}
	for _, run := range []uint64{0, 1, 1023} {
		p := NewPeople(run)
		for _, i := range []int{0, 1, 9999, 10_000, 250_000_000 % (1 << 24), 1<<24 - 1} {
			ic := p.IC(i)
			id, err := booking.NormalizeIDNumber(ic)
			if err != nil {
				t.Fatalf("run %d person %d: IC %s invalid: %v", run, i, ic, err)
			}
			if seen[id] {
				t.Errorf("run %d person %d: IC %s handed out twice", run, i, ic)
			}
			seen[id] = true
		}
	}
	f := NewPeople(7).Form(3, "selangor", []string{"a"})
	if _, err := (booking.Submission{State: f.State, Name: f.Name, IDNumber: f.IDNumber, Phone: f.Phone, Email: f.Email,
		Preferences: []string{"sel-001-2026-12-01-am"}, Lang: f.Lang}).Validate(); err != nil {
		t.Errorf("a generated form does not validate: %v", err)
	}
}

func TestCodes_SortedNumerically(t *testing.T) {
	got := codes(map[string]int{"503": 1, "200": 2, "0": 3, "304": 4})
	if want := "0:3 200:2 304:4 503:1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestOptions_PacerStopsAtMaxRequests(t *testing.T) {
	p := Options{Rate: 100, MaxRequests: 3}.pacer()
	for hits := range uint64(3) {
		if _, stop := p.Pace(time.Duration(hits)*10*time.Millisecond, hits); stop {
			t.Fatalf("stopped after %d hits, want 3", hits)
		}
	}
	if _, stop := p.Pace(time.Second, 3); !stop {
		t.Errorf("did not stop after 3 hits")
	}
	// Open model: at 100/s the 51st hit is due at 510 ms whatever came
	// back before.
	if wait, _ := (Options{Rate: 100}).pacer().Pace(500*time.Millisecond, 50); wait != 10*time.Millisecond {
		t.Errorf("wait before hit 51 at 500 ms: got %v, want 10ms", wait)
	}
}
