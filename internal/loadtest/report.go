// Package loadtest drives open-model load against vaxbook and reports what a
// reader needs to size it: throughput, latency quantiles, status counts,
// same-run ceilings (bare bytes, bare publish) and, for the surge, the
// system's own tallies of what became of every accepted booking.
package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Report is everything one `vaxbook loadtest` run measured; it is written as
// JSON by --out and read back by `vaxbook capacity`.
type Report struct {
	Scenario string           `json:"scenario"`
	Target   string           `json:"target"`
	Started  time.Time        `json:"started"`
	Settings Settings         `json:"settings"`
	Machine  Machine          `json:"machine"`
	Phases   []Phase          `json:"phases"`
	Ratios   []Ratio          `json:"ratios,omitempty"`
	Surge    *Tallies         `json:"surge,omitempty"`
	Register *RegisterTallies `json:"register,omitempty"`
}

// Settings are the knobs the run used, so a figure can be reproduced.
type Settings struct {
	Rate        float64       `json:"rate"` // per second; 0 = as fast as the workers go
	Duration    time.Duration `json:"duration_ns"`
	MaxRequests uint64        `json:"max_requests,omitempty"`
	Workers     uint64        `json:"workers"`
	People      int           `json:"people,omitempty"`
	Baseline    bool          `json:"baseline"`
	Dev         bool          `json:"dev"`
}

// Machine says where the figures come from; only ratios within one run
// survive a change of machine.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go"`
	OS        string `json:"os"`
	LoadAvg   string `json:"loadavg,omitempty"` // at the start, from /proc/loadavg
}

// ThisMachine describes the machine the run is on.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return m
}

// Phase is one attack: its name says what was attacked ("listppv",
// "bare-bytes", "listppv@half", "surge:submit", …).
type Phase struct {
	Name       string         `json:"name"`
	Requests   uint64         `json:"requests"`
	Seconds    float64        `json:"seconds"`
	Rate       float64        `json:"rate"`       // requests sent per second
	Throughput float64        `json:"throughput"` // successful requests per second
	Success    float64        `json:"success"`    // share of 2xx/3xx answers
	Latency    Latency        `json:"latency"`
	Codes      map[string]int `json:"codes"` // "0" counts transport errors
	// CPUPerRequestUS is this process's CPU time per request (generator
	// included; with --dev the system too). Unlike throughput it hardly
	// moves when neighbours take the cores, so it compares runs on a
	// shared machine.
	CPUPerRequestUS float64  `json:"cpu_us_per_request,omitempty"`
	Errors          []string `json:"errors,omitempty"`
}

// Latency holds the quantiles in milliseconds, the unit SREs read.
type Latency struct {
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
}

// Summarise closes m and turns it into a Phase.
func Summarise(name string, m *vegeta.Metrics) Phase {
	m.Close()
	l := m.Latencies
	p := Phase{
		Name: name, Requests: m.Requests, Seconds: m.Duration.Seconds() + m.Wait.Seconds(),
		Rate: m.Rate, Throughput: m.Throughput, Success: m.Success,
		Latency: Latency{Mean: ms(l.Mean), P50: ms(l.P50), P90: ms(l.P90), P99: ms(l.P99), P999: ms(l.Quantile(0.999)), Max: ms(l.Max)},
		Codes:   map[string]int{},
	}
	for code, n := range m.StatusCodes {
		p.Codes[code] = n
	}
	// Bounded: a broken target can produce one distinct error per request.
	p.Errors = m.Errors[:min(len(m.Errors), 10)]
	return p
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Ratio compares the system to its ceiling measured in the same run.
type Ratio struct {
	Name    string  `json:"name"`
	System  float64 `json:"system"`  // successful requests per second
	Ceiling float64 `json:"ceiling"` // the bare baseline's
	Ratio   float64 `json:"ratio"`
	Goal    float64 `json:"goal"`
	Met     bool    `json:"met"`
}

// NewRatio computes system/ceiling against goal; a zero ceiling gives a zero
// ratio rather than infinity, so a broken baseline never reads as success.
func NewRatio(name string, system, ceiling, goal float64) Ratio {
	r := Ratio{Name: name, System: system, Ceiling: ceiling, Goal: goal}
	if ceiling > 0 {
		r.Ratio = system / ceiling
	}
	r.Met = r.Ratio >= goal
	return r
}

// Phase returns the named phase, if the report has it.
func (r *Report) Phase(name string) (Phase, bool) {
	for _, p := range r.Phases {
		if p.Name == name {
			return p, true
		}
	}
	return Phase{}, false
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	return &r, nil
}

// WriteText prints the report as a table a person reads in a terminal.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "vaxbook loadtest %s → %s (%d CPUs, load %s, %s)\n", r.Scenario, r.Target, r.Machine.CPUs, r.Machine.LoadAvg, r.Machine.GoVersion)
	fmt.Fprintf(w, "%-16s %9s %9s %10s %7s %8s %8s %8s %8s %8s %8s  %s\n",
		"phase", "requests", "rate/s", "ok/s", "ok%", "p50ms", "p90ms", "p99ms", "p99.9ms", "maxms", "cpuµs/req", "codes")
	for _, p := range r.Phases {
		fmt.Fprintf(w, "%-16s %9d %9.0f %10.1f %7.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.0f  %s\n",
			p.Name, p.Requests, p.Rate, p.Throughput, 100*p.Success,
			p.Latency.P50, p.Latency.P90, p.Latency.P99, p.Latency.P999, p.Latency.Max, p.CPUPerRequestUS, codes(p.Codes))
		for _, e := range p.Errors {
			fmt.Fprintf(w, "%16s error: %s\n", "", e)
		}
	}
	for _, ra := range r.Ratios {
		verdict := "met"
		if !ra.Met {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "ratio %-28s %10.1f / %10.1f = %.3f (goal ≥ %.2f: %s)\n", ra.Name, ra.System, ra.Ceiling, ra.Ratio, ra.Goal, verdict)
	}
	if t := r.Surge; t != nil {
		t.writeText(w)
	}
	if t := r.Register; t != nil {
		t.writeText(w)
	}
}

// codes renders status counts sorted by code: "200:9000 304:1000".
func codes(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + strconv.Itoa(m[k])
	}
	return strings.Join(parts, " ")
}
