// Package capacity turns what one instance was measured to take into what a
// deployment needs at a target peak: Cloud Run instances and concurrency,
// the Redis and Cloud SQL load that implies, and which limit binds first.
// It is arithmetic only; the figures come from `vaxbook loadtest` results.
package capacity

import (
	"fmt"
	"io"
	"math"
	"slices"
)

// Measured is what one instance took in a load test.
type Measured struct {
	ListPerInstance   float64 // /listppv successful requests/s at the maximum rate
	ListLatencyMS     float64 // /listppv p99 at the planned load (half the maximum rate if measured)
	SubmitPerInstance float64 // /submit accepted requests/s at the maximum rate
	WorkerPerInstance float64 // bookings/s one worker decided
	SQLTxPerSecond    float64 // the database's ceiling for the worker's transaction (pgbench)
}

// Target is the peak to plan for.
type Target struct {
	PeakRPS         float64 // /listppv requests/s reaching the API (after the CDN)
	PeakBookings    float64 // /submit requests/s
	Headroom        float64 // plan each instance at this share of its measured maximum (0.6)
	PollsPerBooking float64 // GET /status per booking
}

// Limits are the platform figures assumed; each has a Source to show.
type Limits struct {
	SQLMaxConnections   int     // Cloud SQL max_connections
	DBConnsPerWorker    int     // DATABASE_MAX_CONNS
	EmailConnsPerWorker int     // the worker's separate e-mail pool (cmd/vaxbook emailMaxConns)
	RedisOpsPerSecond   float64 // what one Memorystore primary is planned to serve
	RedisClients        int     // Memorystore connected clients per instance
	RedisConnsPerInst   int     // go-redis pool per Cloud Run instance
	PubSubKBPerSecond   float64 // publish/push throughput quota
	MaxConcurrency      int     // Cloud Run's most requests per instance
	States              int     // documents in the micro-cache
	MicroCacheTTL       float64 // seconds
	CacheFillInterval   float64 // seconds
}

// DefaultLimits are the assumptions `vaxbook capacity` prints; every one is
// a flag.
var DefaultLimits = Limits{
	SQLMaxConnections: 300, DBConnsPerWorker: 8, EmailConnsPerWorker: 4,
	RedisOpsPerSecond: 100_000, RedisClients: 65_000, RedisConnsPerInst: 20,
	PubSubKBPerSecond: 50_000, MaxConcurrency: 1000,
	States: 16, MicroCacheTTL: 1, CacheFillInterval: 5,
}

// Sources says where each assumed limit comes from.
var Sources = map[string]string{
	"Cloud SQL connections":    "deploy/bootstrap.sh declares max_connections=300 (its budget counts revision overlap, so plan below it); read yours with SHOW max_connections",
	"Cloud SQL transactions/s": "the worker's transaction under pgbench (bench/worker-ceiling.sh), scaled by you to the Cloud SQL tier",
	"Memorystore ops/s":        "planning figure for one Redis primary (single-threaded command execution); not a Google quota",
	"Memorystore clients":      "65,000 connected clients per instance (cloud.google.com/memorystore/docs/redis/quotas)",
	"Pub/Sub throughput":       "publisher throughput quota 3,000,000 kB/min (50 MB/s) in small regions such as asia-southeast1, each request counting at least 1 kB (cloud.google.com/pubsub/quotas); push delivery also ramps up with the endpoint's success rate (cloud.google.com/pubsub/docs/push)",
	"Cloud Run concurrency":    "Cloud Run allows at most 1000 concurrent requests per instance",
}

// Use is one limit's planned load.
type Use struct {
	Name  string
	Load  float64
	Limit float64
	Share float64 // Load / Limit
}

// Plan is the recommendation.
type Plan struct {
	APIInstances      int
	APIConcurrency    int
	WorkerInstances   int
	WorkerConcurrency int
	RedisOpsPerSecond float64
	SQLTxPerSecond    float64
	SQLConnections    int
	PubSubKBPerSecond float64
	Uses              []Use // sorted, the binding limit first
	// DrainSeconds is how long a backlog of one second of peak bookings
	// takes to clear when the database is the binding limit (0 otherwise).
	DrainFactor float64
}

// Binding is the limit closest to (or past) its ceiling.
func (p Plan) Binding() Use { return p.Uses[0] }

// Recommend computes the plan.
func Recommend(m Measured, t Target, l Limits) (Plan, error) {
	switch {
	case m.ListPerInstance <= 0:
		return Plan{}, fmt.Errorf("capacity: no /listppv figure per instance (run `vaxbook loadtest listppv --rate 0`)")
	case t.Headroom <= 0 || t.Headroom > 1:
		return Plan{}, fmt.Errorf("capacity: headroom must be in (0, 1], got %g", t.Headroom)
	case t.PeakRPS < 0 || t.PeakBookings < 0:
		return Plan{}, fmt.Errorf("capacity: peaks must not be negative")
	}
	var p Plan
	// API time is shared: list and submit load each take their share of an
	// instance planned at Headroom of its measured maximum.
	apiShare := t.PeakRPS / (m.ListPerInstance * t.Headroom)
	if t.PeakBookings > 0 {
		if m.SubmitPerInstance <= 0 {
			return Plan{}, fmt.Errorf("capacity: bookings planned but no /submit figure per instance (run `vaxbook loadtest submit --rate 0`)")
		}
		apiShare += t.PeakBookings / (m.SubmitPerInstance * t.Headroom)
	}
	p.APIInstances = max(1, int(math.Ceil(apiShare)))

	// Little's law: requests in flight = rate × time in system. Twice that
	// at p99, so a slow second does not make Cloud Run start instances the
	// CPU did not need; at least Cloud Run's default of 80. When that would
	// pass Cloud Run's cap, more instances share the requests in flight.
	latency := max(m.ListLatencyMS, 1) / 1000
	allInFlight := 2 * (t.PeakRPS + t.PeakBookings) * latency
	p.APIInstances = max(p.APIInstances, int(math.Ceil(allInFlight/float64(l.MaxConcurrency))))
	inFlight := allInFlight / 2 / float64(p.APIInstances)
	p.APIConcurrency = min(l.MaxConcurrency, max(80, int(math.Ceil(2*inFlight))))

	if t.PeakBookings > 0 {
		if m.WorkerPerInstance <= 0 {
			return Plan{}, fmt.Errorf("capacity: bookings planned but no worker figure (run `vaxbook loadtest surge`)")
		}
		p.WorkerInstances = max(1, int(math.Ceil(t.PeakBookings/(m.WorkerPerInstance*t.Headroom))))
	}
	// One push per pooled connection, as deploy/worker.yaml sets it: a push
	// never waits for a connection it would only queue behind.
	p.WorkerConcurrency = l.DBConnsPerWorker
	p.SQLConnections = p.WorkerInstances*(l.DBConnsPerWorker+l.EmailConnsPerWorker) + 2 // + cachefill's lease and spare
	p.SQLTxPerSecond = t.PeakBookings + 1/l.CacheFillInterval

	// Redis: the micro-cache reads each document once per TTL per
	// instance; a booking costs the idempotency lookup, the pending
	// record, the worker's final record and the polls; cachefill writes
	// every document and a heartbeat each interval.
	p.RedisOpsPerSecond = float64(p.APIInstances*(l.States+1))/l.MicroCacheTTL +
		t.PeakBookings*(3+t.PollsPerBooking) +
		float64(l.States+2)/l.CacheFillInterval
	p.PubSubKBPerSecond = t.PeakBookings * 2 // publish and push, each at least 1 kB of quota

	redisConns := (p.APIInstances + p.WorkerInstances + 1) * l.RedisConnsPerInst
	p.Uses = []Use{
		use("Cloud SQL connections", float64(p.SQLConnections), float64(l.SQLMaxConnections)),
		use("Memorystore ops/s", p.RedisOpsPerSecond, l.RedisOpsPerSecond),
		use("Memorystore clients", float64(redisConns), float64(l.RedisClients)),
		use("Pub/Sub throughput", p.PubSubKBPerSecond, l.PubSubKBPerSecond),
		use("Cloud Run concurrency", 2*inFlight, float64(l.MaxConcurrency)),
	}
	if m.SQLTxPerSecond > 0 {
		p.Uses = append(p.Uses, use("Cloud SQL transactions/s", p.SQLTxPerSecond, m.SQLTxPerSecond))
		if p.SQLTxPerSecond > m.SQLTxPerSecond {
			p.DrainFactor = t.PeakBookings / m.SQLTxPerSecond
		}
	}
	slices.SortStableFunc(p.Uses, func(a, b Use) int {
		switch {
		case a.Share > b.Share:
			return -1
		case a.Share < b.Share:
			return 1
		}
		return 0
	})
	return p, nil
}

func use(name string, load, limit float64) Use {
	u := Use{Name: name, Load: load, Limit: limit}
	if limit > 0 {
		u.Share = load / limit
	}
	return u
}

// Write prints the plan for an SRE.
func (p Plan) Write(w io.Writer, t Target) {
	fmt.Fprintf(w, "peak: %.0f /listppv req/s, %.0f bookings/s; instances planned at %.0f%% of measured maximum\n", t.PeakRPS, t.PeakBookings, 100*t.Headroom)
	fmt.Fprintf(w, "api:    min-instances %d, concurrency %d\n", p.APIInstances, p.APIConcurrency)
	fmt.Fprintf(w, "worker: min-instances %d, concurrency %d (DATABASE_MAX_CONNS=%d each)\n", p.WorkerInstances, p.WorkerConcurrency, p.WorkerConcurrency)
	fmt.Fprintf(w, "redis:  %.0f ops/s\n", p.RedisOpsPerSecond)
	fmt.Fprintf(w, "cloud sql: %.0f tx/s, %d connections\n", p.SQLTxPerSecond, p.SQLConnections)
	fmt.Fprintf(w, "pub/sub: %.0f kB/s of quota\n", p.PubSubKBPerSecond)
	fmt.Fprintln(w, "limits, closest first:")
	for _, u := range p.Uses {
		fmt.Fprintf(w, "  %-26s %10.0f of %10.0f  (%5.1f%%)  %s\n", u.Name, u.Load, u.Limit, 100*u.Share, Sources[u.Name])
	}
	b := p.Binding()
	verdict := "binds first"
	if b.Share > 1 {
		verdict = "is EXCEEDED"
	}
	fmt.Fprintf(w, "binding: %s %s at %.0f%% of its limit\n", b.Name, verdict, 100*b.Share)
	if p.DrainFactor > 0 {
		fmt.Fprintf(w, "the database cannot book at the peak rate: Pub/Sub holds the backlog, and each second of peak takes %.1f s to book\n", p.DrainFactor)
	}
}
