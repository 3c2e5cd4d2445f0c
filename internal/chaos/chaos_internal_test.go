package chaos

import (
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/postgres"
)

func TestRecoveredAfter_IsTheLastSlowDecisionAfterTheFault(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	d := func(submitted, decided float64) postgres.Decision {
		return postgres.Decision{Submitted: at(submitted), Decided: at(decided)}
	}
	injected := at(10)
	for _, c := range []struct {
		name string
		ds   []postgres.Decision
		want time.Duration
	}{
		{"no decisions", nil, 0},
		{"prompt throughout", []postgres.Decision{d(1, 1.1), d(9, 9.1), d(11, 11.1), d(20, 20.2)}, 0},
		{"stalled, then caught up", []postgres.Decision{d(1, 1.1), d(9.5, 25), d(12, 25.5), d(20, 26), d(27, 27.1)}, 16 * time.Second},
		// Slow before the fault too: only lags past 3x that median count.
		{"slow all along", []postgres.Decision{d(1, 4), d(2, 5), d(3, 6), d(11, 14), d(12, 24)}, 14 * time.Second},
		{"before the surge began", []postgres.Decision{d(-5, 30)}, 0},
	} {
		if got := recoveredAfter(c.ds, t0, injected); got != c.want {
			t.Errorf("%s: recoveredAfter = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestRows_OneDayWithAPlacePerPersonAcrossEveryState(t *testing.T) {
	rs := rows(960)
	states, places := map[string]bool{}, 0
	for _, r := range rs {
		states[r.State] = true
		places += r.Capacity
		if r.Date != rs[0].Date {
			t.Fatalf("rows span %s and %s, want one day", rs[0].Date, r.Date)
		}
	}
	if len(states) != 16 || places < 960 || places > 960+len(rs) {
		t.Errorf("%d states, %d places in %d slots; want 16 states and about 960 places", len(states), places, len(rs))
	}
}
