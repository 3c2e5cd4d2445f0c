package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vaxbook/vaxbook/internal/capacity"
	"github.com/vaxbook/vaxbook/internal/loadtest"
)

// resultFiles lets --result be given once per loadtest report.
type resultFiles []string

func (r *resultFiles) String() string     { return strings.Join(*r, ",") }
func (r *resultFiles) Set(v string) error { *r = append(*r, v); return nil }

func runCapacity(_ context.Context, args []string, _ func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("capacity", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var results resultFiles
	fs.Var(&results, "result", "a `vaxbook loadtest --out` file (repeat for listppv, submit and surge)")
	var t capacity.Target
	fs.Float64Var(&t.PeakRPS, "peak-rps", 0, "peak /listppv requests/s reaching the API (after the CDN)")
	fs.Float64Var(&t.PeakBookings, "peak-bookings", 0, "peak /submit requests/s")
	fs.Float64Var(&t.Headroom, "headroom", 0.6, "plan each instance at this share of its measured maximum")
	fs.Float64Var(&t.PollsPerBooking, "polls-per-booking", 3, "GET /status requests per booking")
	l := capacity.DefaultLimits
	l.EmailConnsPerWorker = emailMaxConns
	fs.IntVar(&l.SQLMaxConnections, "sql-max-connections", l.SQLMaxConnections, "Cloud SQL max_connections of the tier")
	fs.IntVar(&l.DBConnsPerWorker, "db-conns-per-worker", l.DBConnsPerWorker, "DATABASE_MAX_CONNS of the worker")
	fs.Float64Var(&l.RedisOpsPerSecond, "redis-ops", l.RedisOpsPerSecond, "ops/s one Memorystore primary is planned to serve")
	fs.Float64Var(&l.PubSubKBPerSecond, "pubsub-kbps", l.PubSubKBPerSecond, "Pub/Sub throughput quota in kB/s")
	var m capacity.Measured
	fs.Float64Var(&m.SQLTxPerSecond, "sql-tps", 0, "the database's ceiling for the worker's transaction (bench/worker-ceiling.sh)")
	fs.Float64Var(&m.WorkerPerInstance, "worker-rate", 0, "bookings/s one worker instance decides (default: from a surge result)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(results) == 0 {
		return errors.New("usage: vaxbook capacity --result FILE [--result FILE ...] --peak-rps N --peak-bookings N [--headroom 0.6]")
	}
	for _, path := range results {
		rep, err := loadtest.ReadReport(path)
		if err != nil {
			return err
		}
		measuredFrom(rep, &m)
	}
	plan, err := capacity.Recommend(m, t, l)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "measured per instance: /listppv %.0f req/s (p99 %.2f ms), /submit %.0f req/s, worker %.0f bookings/s\n",
		m.ListPerInstance, m.ListLatencyMS, m.SubmitPerInstance, m.WorkerPerInstance)
	plan.Write(stdout, t)
	return nil
}

// measuredFrom takes the per-instance figures a report carries.
func measuredFrom(rep *loadtest.Report, m *capacity.Measured) {
	if p, ok := rep.Phase("listppv"); ok {
		m.ListPerInstance, m.ListLatencyMS = p.Throughput, p.Latency.P99
	}
	if p, ok := rep.Phase("listppv@half"); ok {
		m.ListLatencyMS = p.Latency.P99
	}
	if p, ok := rep.Phase("submit"); ok {
		m.SubmitPerInstance = p.Throughput
	}
	if rep.Surge != nil && m.WorkerPerInstance == 0 {
		m.WorkerPerInstance = rep.Surge.DecidedPerSecond
	}
}
