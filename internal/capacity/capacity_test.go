package capacity

import (
	"bytes"
	"strings"
	"testing"
)

var measured = Measured{ListPerInstance: 10_000, ListLatencyMS: 5, SubmitPerInstance: 2_000, WorkerPerInstance: 1_000, SQLTxPerSecond: 3_600}

func TestRecommend_InstancesShareAPITimeBetweenListAndSubmit(t *testing.T) {
	// 30,000 list req/s at 60% of 10,000 = 5 instances' worth; 600
	// bookings/s at 60% of 2,000 = 0.5 more: 6 instances.
	p, err := Recommend(measured, Target{PeakRPS: 30_000, PeakBookings: 600, Headroom: 0.6, PollsPerBooking: 3}, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if p.APIInstances != 6 {
		t.Errorf("api instances: got %d, want 6", p.APIInstances)
	}
	// 600 bookings/s at 60% of 1,000 per worker = 1 instance.
	if p.WorkerInstances != 1 {
		t.Errorf("worker instances: got %d, want 1", p.WorkerInstances)
	}
	if p.SQLConnections != 1*(8+4)+2 {
		t.Errorf("sql connections: got %d, want 14 (8 booking + 4 e-mail + 2)", p.SQLConnections)
	}
	// 6 instances × 17 documents/s + 600 × (3 + 3 polls) + 18/5.
	if want := 6.0*17 + 600*6 + 18.0/5; p.RedisOpsPerSecond != want {
		t.Errorf("redis ops/s: got %v, want %v", p.RedisOpsPerSecond, want)
	}
	if p.SQLTxPerSecond != 600+0.2 {
		t.Errorf("sql tx/s: got %v, want 600.2", p.SQLTxPerSecond)
	}
}

func TestRecommend_ConcurrencyFromLittlesLaw(t *testing.T) {
	// 100,000 req/s over 17 instances ≈ 5,883/s each × 50 ms = 294 in
	// flight; twice that is 589.
	m := measured
	m.ListLatencyMS = 50
	p, err := Recommend(m, Target{PeakRPS: 100_000, Headroom: 0.6}, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if p.APIInstances != 17 || p.APIConcurrency != 589 {
		t.Errorf("got %d instances at concurrency %d, want 17 at 589", p.APIInstances, p.APIConcurrency)
	}
	// Fast answers still get Cloud Run's default floor; slow ones its cap.
	m.ListLatencyMS = 0.1
	if p, _ := Recommend(m, Target{PeakRPS: 1000, Headroom: 0.6}, DefaultLimits); p.APIConcurrency != 80 {
		t.Errorf("floor: got %d, want 80", p.APIConcurrency)
	}
	// Slow answers: 100,000/s × 5 s × 2 in flight need 1,000 instances at
	// Cloud Run's cap of 1,000 each, whatever the CPU says.
	m.ListLatencyMS = 5000
	if p, _ := Recommend(m, Target{PeakRPS: 100_000, Headroom: 0.6}, DefaultLimits); p.APIConcurrency != 1000 || p.APIInstances != 1000 {
		t.Errorf("cap: got %d instances at %d, want 1000 at 1000", p.APIInstances, p.APIConcurrency)
	}
}

func TestRecommend_BindingLimit(t *testing.T) {
	// 5,000 bookings/s: 9 workers × (8 + 4) connections + 2 = 110 of 300
	// connections, but 5,000 tx/s against a 3,600 tx/s database.
	p, err := Recommend(measured, Target{PeakRPS: 10_000, PeakBookings: 5_000, Headroom: 0.6, PollsPerBooking: 3}, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if b := p.Binding(); b.Name != "Cloud SQL transactions/s" || b.Share <= 1 {
		t.Errorf("binding: got %+v, want Cloud SQL transactions/s exceeded", b)
	}
	if p.DrainFactor < 1.38 || p.DrainFactor > 1.39 {
		t.Errorf("drain factor: got %v, want 5000/3600", p.DrainFactor)
	}
	var out bytes.Buffer
	p.Write(&out, Target{PeakRPS: 10_000, PeakBookings: 5_000, Headroom: 0.6})
	if !strings.Contains(out.String(), "binding: Cloud SQL transactions/s is EXCEEDED") {
		t.Errorf("report does not name the binding limit:\n%s", out.String())
	}

	// With a small database tier, connections bind first.
	l := DefaultLimits
	l.SQLMaxConnections = 25
	m := measured
	m.SQLTxPerSecond = 0
	p, _ = Recommend(m, Target{PeakRPS: 1000, PeakBookings: 1500, Headroom: 0.6}, l)
	if b := p.Binding(); b.Name != "Cloud SQL connections" {
		t.Errorf("binding: got %s, want Cloud SQL connections", b.Name)
	}
}

func TestRecommend_RefusesMissingFigures(t *testing.T) {
	for name, tc := range map[string]struct {
		m Measured
		t Target
	}{
		"no list figure":   {Measured{}, Target{PeakRPS: 1, Headroom: 0.6}},
		"no submit figure": {Measured{ListPerInstance: 1}, Target{PeakRPS: 1, PeakBookings: 1, Headroom: 0.6}},
		"no worker figure": {Measured{ListPerInstance: 1, SubmitPerInstance: 1}, Target{PeakBookings: 1, Headroom: 0.6}},
		"bad headroom":     {measured, Target{PeakRPS: 1, Headroom: 1.5}},
	} {
		if _, err := Recommend(tc.m, tc.t, DefaultLimits); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
}
