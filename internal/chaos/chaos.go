// Package chaos is `vaxbook chaos`: vaxbook run as separate processes on one
// machine (PostgreSQL, Redis, the local Pub/Sub, the worker, the cache-fill
// loop and the API, each its own process on a port it keeps), a bounded
// surge of people (internal/loadtest) for each fault in turn, the fault
// injected on a printed schedule in the middle of it, and one row per
// fault saying whether vaxbook kept its promises: nothing accepted lost,
// no slot over capacity, every accepted booking's status shown.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/loadtest"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/seed"
)

// Options shape a run.
type Options struct {
	Exe      string        // the vaxbook binary, which runs every role
	Rate     float64       // people arriving per second during each fault's surge
	Arrivals time.Duration // how long people arrive, per fault
	// PGStop and PublishFailure are how long PostgreSQL stays stopped and
	// how long the local Pub/Sub refuses publishes.
	PGStop, PublishFailure time.Duration
	// Recover is how long each fault's people keep following their status
	// after the last arrival before they count as never shown it.
	Recover time.Duration
	// CacheFillInterval is the cache-fill loop's CACHEFILL_INTERVAL.
	CacheFillInterval time.Duration
	Seed              uint64
	Faults            []string // names to inject, in the usual order; empty: all
	Out               io.Writer
	Progress          io.Writer // the surges' progress lines; nil: none
}

// Short is the CI-sized run: every fault, a few seconds each.
func Short() Options {
	return Options{Rate: 20, Arrivals: 3 * time.Second, PGStop: 3 * time.Second, PublishFailure: 3 * time.Second,
		Recover: 30 * time.Second, CacheFillInterval: time.Second}
}

// Full is the default run, a few minutes: the 15-second PostgreSQL
// stop, and a publish outage longer than the API's publish timeout (10 s)
// so that some submissions are refused 503 and retried.
func Full() Options {
	return Options{Rate: 40, Arrivals: 20 * time.Second, PGStop: 15 * time.Second, PublishFailure: 20 * time.Second,
		Recover: 60 * time.Second, CacheFillInterval: time.Second}
}

// FaultNames lists the faults in the order a run injects them.
func FaultNames() []string {
	var names []string
	for _, f := range faults {
		names = append(names, f.name)
	}
	return names
}

// Row is what became of one fault's surge.
type Row struct {
	Fault    string
	What     string        // what was done, as injected
	At       time.Duration // when, from the start of the fault's surge
	Accepted int           // distinct references answered 202
	Decided  int           // of those, decided in Postgres
	// Must be 0.
	Lost          int // accepted, no booking in Postgres at the end
	OverCapacity  int // slots booked past capacity (whole database)
	Broken        int // counters unlike bookings, people booked twice (whole database)
	NeverShown    int // accepted, /status not final at the end
	RetriedNewRef int // a retry with the same Idempotency-Key got another reference
	// What people met on the way.
	FiveXX     map[string]int // 5xx answers by route
	ConnErrors int            // requests that got no answer at all
	GaveUp     int            // people who gave up after five tries of a step
	NoRoom     int            // people who found their state full, in the listing or at submit
	// Recovered is how long after the fault began decisions lagged the
	// crowd by more than they did before it (0: they never did).
	Recovered time.Duration
}

// Pass reports whether every must-be-zero figure is 0 and the surge
// booked anything at all.
func (r Row) Pass() bool {
	return r.Accepted > 0 && r.Lost == 0 && r.OverCapacity == 0 && r.Broken == 0 && r.NeverShown == 0 && r.RetriedNewRef == 0
}

// Run starts the system, injects each fault into its own surge, prints
// the schedule, a row per fault and the table, and returns the rows, with
// an error when any row failed.
func Run(ctx context.Context, o Options) ([]Row, error) {
	chosen, err := choose(o.Faults)
	if err != nil {
		return nil, err
	}
	perFault := int(math.Round(o.Rate * o.Arrivals.Seconds()))
	if perFault < 1 {
		return nil, errors.New("chaos: --rate x --arrivals brings nobody")
	}
	at := (o.Arrivals / 3).Round(100 * time.Millisecond)
	fmt.Fprintf(o.Out, "chaos: schedule: %d faults, each in its own surge of %d people at %g/s over %s, injected %s in; then up to %s for every status (--seed %d)\n",
		len(chosen), perFault, o.Rate, o.Arrivals, at, o.Recover, o.Seed)
	for i, f := range chosen {
		fmt.Fprintf(o.Out, "chaos:   %d. %s\n", i+1, f.name)
	}
	began := time.Now()
	s, err := startSystem(ctx, o.Exe, rows(perFault*len(chosen)), o.CacheFillInterval, o.PublishFailure, o.Out)
	if err != nil {
		return nil, err
	}
	defer s.stop()

	var out []Row
	for i, f := range chosen {
		if err := httpOKWithin(ctx, s.url("api")+"/readyz", startTimeout); err != nil {
			return out, fmt.Errorf("chaos: before %s: the API is not ready: %w", f.name, err)
		}
		r, err := runFault(ctx, s, o, f, at, o.Seed+uint64(i)*7919)
		if err != nil {
			return out, fmt.Errorf("chaos: %s: %w", f.name, err)
		}
		out = append(out, r)
		fmt.Fprintf(o.Out, "chaos: %s done: %s\n", f.name, r.summary())
	}
	fmt.Fprintf(o.Out, "\nchaos: %d people per fault at %g/s; the whole run took %s\n\n", perFault, o.Rate, time.Since(began).Round(time.Second))
	WriteTable(o.Out, out)
	var failed []string
	for _, r := range out {
		if !r.Pass() {
			failed = append(failed, r.Fault)
		}
	}
	if len(failed) > 0 {
		return out, fmt.Errorf("chaos: a must-be-zero figure is not 0 (or nothing was accepted) after: %s", strings.Join(failed, ", "))
	}
	return out, nil
}

func choose(names []string) ([]fault, error) {
	if len(names) == 0 {
		return faults, nil
	}
	var out []fault
	for _, f := range faults {
		if slices.Contains(names, f.name) {
			out = append(out, f)
		}
	}
	for _, n := range names {
		if !slices.Contains(FaultNames(), n) {
			return nil, fmt.Errorf("chaos: unknown fault %q (know %s)", n, strings.Join(FaultNames(), ", "))
		}
	}
	return out, nil
}

// rows is the demo data's first day with as many places as the whole run
// has people, spread evenly: the big states fill up mid-run (Selangor has
// a fifth of the people and a sixteenth of the places), so capacity is
// fought over, as on opening day, while the small ones keep room.
func rows(people int) []seed.Row {
	all := seed.Demo(time.Now())
	first := slices.MinFunc(all, func(a, b seed.Row) int { return strings.Compare(a.Date, b.Date) }).Date
	var out []seed.Row
	for _, r := range all {
		if r.Date == first {
			out = append(out, r)
		}
	}
	per := max(1, int(math.Ceil(float64(people)/float64(len(out)))))
	for i := range out {
		out[i].Capacity = per
		out[i].Line = 0
	}
	return out
}

// runFault runs one surge with f injected at after its start, then checks
// what became of everyone accepted.
func runFault(ctx context.Context, s *system, o Options, f fault, at time.Duration, seed uint64) (Row, error) {
	r := Row{Fault: f.name, At: at}
	var (
		wg        sync.WaitGroup
		injectErr error
		injected  time.Time
	)
	start := time.Now()
	wg.Go(func() {
		if sleep(ctx, at) != nil {
			return
		}
		injected = time.Now()
		fmt.Fprintf(o.Out, "chaos: %s: injecting at +%s\n", f.name, at)
		r.What, injectErr = f.inject(ctx, s, o)
	})
	t, phases, err := loadtest.Surge(ctx, loadtest.SurgeOptions{
		Base: s.url("api"), People: int(math.Round(o.Rate * o.Arrivals.Seconds())), Rate: o.Rate, Workers: 2000,
		Drain: o.Recover, Mix: loadtest.DefaultSubmitMix, Seed: seed, Progress: o.Progress,
	})
	wg.Wait()
	if f.undo != nil {
		f.undo(s)
	}
	if err != nil {
		return r, err
	}
	if injectErr != nil {
		return r, fmt.Errorf("inject: %w", injectErr)
	}
	r.Accepted, r.RetriedNewRef, r.GaveUp, r.NoRoom = t.Accepted, t.RetriedNewRef, t.GaveUp, t.SawNoRoom+t.Rejected
	r.FiveXX = map[string]int{}
	for _, p := range phases {
		route := strings.TrimPrefix(p.Name, "surge:")
		for code, n := range p.Codes {
			switch {
			case strings.HasPrefix(code, "5"):
				r.FiveXX[route] += n
			case code == "0":
				r.ConnErrors += n
			}
		}
	}
	if err := check(ctx, s, t.AcceptedRefs, &r); err != nil {
		return r, err
	}
	if r.Recovered, err = recovery(ctx, s, t.AcceptedRefs, start, injected); err != nil {
		return r, err
	}
	return r, nil
}

// settle is how long the checks after a surge wait for the system to catch
// up with what the surge's people already waited for.
const settle = 10 * time.Second

// check counts, from Postgres and from /status, what became of every
// accepted reference, giving the system settle more to get there.
func check(ctx context.Context, s *system, refs []string, r *Row) error {
	deadline := time.Now().Add(settle)
	for {
		inv, err := postgres.CheckInvariants(ctx, s.pool, refs)
		if err != nil {
			return err
		}
		r.Lost, r.OverCapacity, r.Broken = inv.Missing, inv.SlotsOverCapacity, inv.CountersUnlikeBookings+inv.PeopleBookedTwice
		r.Decided = len(refs) - inv.Missing
		if inv.Missing == 0 || time.Now().After(deadline) {
			break
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	pending := slices.Clone(refs)
	for {
		var still []string
		for _, ref := range pending {
			if !statusFinal(ctx, s.url("api"), ref) {
				still = append(still, ref)
			}
		}
		pending = still
		if len(pending) == 0 || time.Now().After(deadline) {
			break
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
	r.NeverShown = len(pending)
	return nil
}

func statusFinal(ctx context.Context, base, ref string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/status/"+url.PathEscape(ref), nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var rec booking.StatusRecord
	return resp.StatusCode == http.StatusOK && decodeJSON(resp.Body, &rec) == nil && rec.Status.Final()
}

// recovery reads the decisions of refs and gives recoveredAfter's figure.
func recovery(ctx context.Context, s *system, refs []string, start, injected time.Time) (time.Duration, error) {
	if injected.IsZero() {
		return 0, nil
	}
	ds, err := postgres.DecisionTimes(ctx, s.pool, refs)
	return recoveredAfter(ds, start, injected), err
}

// recoveredAfter is how long after injected decisions kept lagging the
// crowd by more than max(2 s, 3x the median lag of decisions before it): from the fault
// to the last decision that slow, among those submitted since start.
// Decisions, not arrivals, so a fault that only slowed the API (whose
// people then arrived late) shows as none.
func recoveredAfter(ds []postgres.Decision, start, injected time.Time) time.Duration {
	var before []time.Duration
	for _, d := range ds {
		if d.Decided.Before(injected) {
			before = append(before, d.Decided.Sub(d.Submitted))
		}
	}
	threshold := 2 * time.Second
	if len(before) > 0 {
		slices.Sort(before)
		threshold = max(threshold, 3*before[len(before)/2])
	}
	var last time.Time
	for _, d := range ds {
		if d.Decided.After(injected) && !d.Submitted.Before(start) && d.Decided.Sub(d.Submitted) > threshold && d.Decided.After(last) {
			last = d.Decided
		}
	}
	if last.IsZero() {
		return 0
	}
	return last.Sub(injected)
}

func httpOKWithin(ctx context.Context, u string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	ok := httpOK(u)
	for {
		err := ok(ctx)
		if err == nil {
			return nil
		}
		if sleep(ctx, 200*time.Millisecond) != nil {
			return err
		}
	}
}
