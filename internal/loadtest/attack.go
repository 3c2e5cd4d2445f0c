package loadtest

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/tsenart/vegeta/v12/lib/plot"
)

// Options bound and shape one attack. Every attack is bounded: by Duration,
// by MaxRequests, or by both.
type Options struct {
	Rate        float64       // requests per second; 0 = as fast as Workers go (closed loop, for ceilings)
	Duration    time.Duration // 0 = until MaxRequests
	MaxRequests uint64        // 0 = until Duration
	Workers     uint64        // at rate 0 the fixed worker count; else the most vegeta may start
	Timeout     time.Duration // per request
	Progress    io.Writer     // a line a second while attacking; nil for none
	Plot        *plot.Plot    // every result is added when set
}

// pacer is the constant-arrival-rate schedule: an open model, so a slow
// answer does not delay the next request and queueing shows in the
// latencies instead of hiding (coordinated omission). It stops after max.
func (o Options) pacer() vegeta.Pacer {
	p := vegeta.ConstantPacer{Freq: int(math.Round(o.Rate)), Per: time.Second}
	if o.Rate <= 0 {
		p = vegeta.ConstantPacer{} // vegeta's "infinite rate"
	}
	return boundedPacer{ConstantPacer: p, max: o.MaxRequests}
}

// boundedPacer is a constant pacer that stops after max hits (0: never).
type boundedPacer struct {
	vegeta.ConstantPacer
	max uint64
}

func (b boundedPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if b.max > 0 && hits >= b.max {
		return 0, true
	}
	return b.ConstantPacer.Pace(elapsed, hits)
}

func (o Options) attacker(extra ...func(*vegeta.Attacker)) *vegeta.Attacker {
	opts := []func(*vegeta.Attacker){vegeta.Timeout(o.Timeout), vegeta.Redirects(vegeta.NoFollow), vegeta.KeepAlive(true)}
	if o.Rate <= 0 {
		// A fixed pool: at infinite rate vegeta would otherwise start
		// workers without end.
		opts = append(opts, vegeta.Workers(o.Workers), vegeta.MaxWorkers(o.Workers), vegeta.Connections(int(o.Workers)))
	} else {
		opts = append(opts, vegeta.Workers(min(o.Workers, 10)), vegeta.MaxWorkers(o.Workers))
	}
	return vegeta.NewAttacker(append(opts, extra...)...)
}

// Attack runs one bounded attack and returns its summary. Cancelling ctx
// stops it early; what was measured so far is still reported.
func Attack(ctx context.Context, name string, tr vegeta.Targeter, o Options, extra ...func(*vegeta.Attacker)) Phase {
	var acc Accumulated
	acc.Attack(ctx, name, tr, o, extra...)
	return acc.Phase(name)
}

// Accumulated gathers several rounds of one side of a comparison. Rounds of
// the system and of its ceiling are interleaved, so both meet the same
// noise from a shared machine; the throughput is the successes over the
// seconds actually spent attacking that side.
type Accumulated struct {
	all     vegeta.Metrics
	ok      float64
	seconds float64
	cpu     time.Duration
}

// Attack runs one round and adds it.
func (a *Accumulated) Attack(ctx context.Context, name string, tr vegeta.Targeter, o Options, extra ...func(*vegeta.Attacker)) {
	if o.Duration <= 0 && o.MaxRequests == 0 {
		o.Duration = 10 * time.Second // never unbounded
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	atk := o.attacker(extra...)
	results := atk.Attack(tr, o.pacer(), o.Duration, name)
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()

	var round vegeta.Metrics
	cpuStart := processCPU()
	prog := newProgress(o.Progress, name)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-results:
			if !ok {
				prog.line(&round)
				round.Close()
				a.cpu += processCPU() - cpuStart
				a.seconds += round.Duration.Seconds() + round.Wait.Seconds()
				a.ok += round.Success * float64(round.Requests)
				return
			}
			r.Body = nil // not kept: a 16 KB body per result adds up
			round.Add(r)
			a.all.Add(r)
			if o.Plot != nil {
				_ = o.Plot.Add(r)
			}
		case <-tick.C:
			prog.line(&round)
		}
	}
}

// Phase summarises every round so far.
func (a *Accumulated) Phase(name string) Phase {
	p := Summarise(name, &a.all)
	p.Seconds = a.seconds
	if a.seconds > 0 {
		p.Rate = float64(p.Requests) / a.seconds
		p.Throughput = a.ok / a.seconds
	}
	if p.Requests > 0 {
		p.CPUPerRequestUS = float64(a.cpu.Microseconds()) / float64(p.Requests)
	}
	return p
}

// progress prints one line a second on the terminal while an attack runs.
type progress struct {
	w     io.Writer
	name  string
	start time.Time
	last  uint64
}

func newProgress(w io.Writer, name string) *progress {
	return &progress{w: w, name: name, start: time.Now()}
}

func (p *progress) line(m *vegeta.Metrics) {
	if p.w == nil {
		return
	}
	errs := 0
	for code, n := range m.StatusCodes {
		if code == "0" || code >= "400" {
			errs += n
		}
	}
	fmt.Fprintf(p.w, "%-14s %5.1fs %9d requests %8d/s last second  p99 %7.2fms  errors %d\n",
		p.name, time.Since(p.start).Seconds(), m.Requests, m.Requests-p.last, ms(m.Latencies.Quantile(0.99)), errs)
	p.last = m.Requests
}
