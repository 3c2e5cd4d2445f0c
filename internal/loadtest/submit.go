package loadtest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// People makes valid, distinct people for one run: Malaysian IC numbers with
// real birth dates, so the API's validation does its full work, and never
// the same number as another run's people (run picks a disjoint range).
type People struct{ run uint64 }

// NewPeople numbers this run's people apart from other runs'.
func NewPeople(seed uint64) People { return People{run: seed % 1024} }

// icEpoch is the earliest birth date handed out; 25,000 days later is 2008.
var icEpoch = time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC)

// IC is person i's IC number, YYMMDD-PB-###G: 10,000 serials a day over
// 25,000 days, 100 place-of-birth codes, so 2.5e10 distinct numbers and
// 2^24 people per run over 1024 runs.
func (p People) IC(i int) string {
	n := p.run<<24 | uint64(i)&(1<<24-1)
	serial := n % 10000
	day := (n / 10000) % 25000
	pb := (n / (10000 * 25000)) % 100
	return fmt.Sprintf("%s-%02d-%04d", icEpoch.AddDate(0, 0, int(day)).Format("060102"), pb, serial)
}

// Form is one submission as a person fills it in: the API's own request
// body, so the load test cannot drift from what /submit decodes.
type Form = booking.Submission

// Form fills in person i's form for state and preferences.
func (p People) Form(i int, state string, prefs []string) Form {
	lang := "ms"
	if i%3 == 0 {
		lang = "en"
	}
	return Form{
		State: state, Name: fmt.Sprintf("Orang Ujian %d", i), IDNumber: p.IC(i),
		Phone: fmt.Sprintf("+6012%07d", i%10_000_000), Email: fmt.Sprintf("p%d.r%d@loadtest.example", i, p.run),
		Preferences: prefs, Lang: lang,
	}
}

// pickPrefs chooses one to three distinct slots from open.
func pickPrefs(r *rand.Rand, open []string) []string {
	n := min(len(open), 1+r.IntN(3))
	out := make([]string, 0, n)
	for _, j := range r.Perm(len(open))[:n] {
		out = append(out, open[j])
	}
	return out
}

// SubmitMix is the share of submissions from a person who already submitted
// (a new form, a new key: the worker must answer duplicate) and the share
// that repeat an earlier request exactly, key and all (a retry after a lost
// answer: the API must give the same reference).
type SubmitMix struct {
	Repeat float64
	Retry  float64
}

// DefaultSubmitMix is what an impatient crowd does.
var DefaultSubmitMix = SubmitMix{Repeat: 0.05, Retry: 0.05}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// SubmitTargeter makes POST /submit requests drawn from the snapshot's open
// slots, states weighted by population.
func SubmitTargeter(base string, snap *Snapshot, people People, mix SubmitMix, seed uint64) vegeta.Targeter {
	var (
		mu     sync.Mutex
		r      = rand.New(rand.NewPCG(seed, seed+1))
		pick   = NewWeighted(snap.Open)
		open   = map[string][]string{}
		next   int
		recent []vegeta.Target // for exact retries
	)
	for code, st := range snap.ByState {
		open[code] = st.openSlots()
	}
	u := base + "/submit"
	return func(t *vegeta.Target) error {
		mu.Lock()
		defer mu.Unlock()
		x := r.Float64()
		if x < mix.Retry && len(recent) > 0 {
			*t = recent[r.IntN(len(recent))]
			return nil
		}
		person := next
		if x < mix.Retry+mix.Repeat && next > 0 {
			person = r.IntN(next)
		} else {
			next++
		}
		state := pick.Pick(r.Float64())
		if len(open[state]) == 0 {
			// Nothing open there: people go where there is room.
			for _, s := range snap.Open {
				if len(open[s]) > 0 {
					state = s
					break
				}
			}
		}
		body, err := json.Marshal(people.Form(person, state, pickPrefs(r, open[state])))
		if err != nil {
			return fmt.Errorf("encode submission: %w", err)
		}
		h := jsonHeader.Clone()
		h.Set("Idempotency-Key", fmt.Sprintf("lt-%d-%d-%d", people.run, person, r.Uint32()))
		*t = vegeta.Target{Method: http.MethodPost, URL: u, Body: body, Header: h}
		if len(recent) < 4096 {
			recent = append(recent, *t)
		} else {
			recent[r.IntN(len(recent))] = *t
		}
		return nil
	}
}
