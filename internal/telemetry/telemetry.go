// Package telemetry is vaxbook's OpenTelemetry: the meter and tracer of a
// role, their exporters (Cloud Monitoring and Cloud Trace on Google Cloud,
// a Prometheus /metrics in `vaxbook dev`, in-memory readers in tests), the
// instruments every role records into, and the W3C trace context carried
// from a request into Pub/Sub messages and out again in the worker.
//
// A role's Telemetry rides in the context its server is built on (the
// BaseContext every request inherits), not in constructors: that costs a
// request nothing (no per-request context value, which would allocate on
// the surge path), leaves every handler maker's signature as it was, and
// a nil Telemetry, what any context without one gives, records nothing.
package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	promexporter "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Config chooses where a role's telemetry goes.
type Config struct {
	// Exporter is gcp (Cloud Monitoring and Cloud Trace, the deployment's),
	// prometheus (a /metrics page; `vaxbook dev`'s) or none.
	Exporter string `env:"TELEMETRY_EXPORTER, default=none"`
	// TraceRatio is the share of new traces sampled; a request that
	// arrives sampled (Cloud Run's front end decides for most) stays so.
	TraceRatio float64 `env:"TRACE_SAMPLE_RATIO, default=0.01"`
	// Interval is how often metrics are exported to Cloud Monitoring,
	// which accepts a point per series every 5 s at most.
	Interval time.Duration `env:"METRICS_INTERVAL, default=60s"`
}

// Check reports a setting out of range, naming its variable.
func (c Config) Check() error {
	switch c.Exporter {
	case "gcp", "prometheus", "none":
	default:
		return fmt.Errorf("configuration: TELEMETRY_EXPORTER: want gcp, prometheus or none, got %q", c.Exporter)
	}
	if c.TraceRatio < 0 || c.TraceRatio > 1 {
		return fmt.Errorf("configuration: TRACE_SAMPLE_RATIO: want a number from 0 to 1, got %v", c.TraceRatio)
	}
	if c.Interval < 5*time.Second {
		return fmt.Errorf("configuration: METRICS_INTERVAL: want 5s or more, got %s", c.Interval)
	}
	return nil
}

// Telemetry is one role's meter, tracer and instruments. A nil *Telemetry
// is valid and records nothing.
type Telemetry struct {
	tracer trace.Tracer
	// MetricsHandler serves the Prometheus text format (exporter
	// prometheus only; nil otherwise).
	MetricsHandler http.Handler
	shutdown       []func(context.Context) error

	requests        metric.Int64Counter
	requestDuration metric.Float64Histogram
	publishes       metric.Int64Counter
	publishDuration metric.Float64Histogram
	bookings        metric.Int64Counter
	decisionTime    metric.Float64Histogram
	txDuration      metric.Float64Histogram
	pushRetries     metric.Int64Counter
	cacheFillPass   metric.Float64Histogram
	storeErrors     metric.Int64Counter
	messagesSent    metric.Int64Counter
	registrations   metric.Int64Counter
	invitations     metric.Int64Counter
	expiries        metric.Int64Counter

	listingsMu sync.Mutex
	listings   map[string]time.Time // state → last write, for ListingAge
}

// New builds a role's telemetry as cfg says; nil for exporter none. The
// caller defers Shutdown, which flushes what is buffered.
func New(ctx context.Context, cfg Config, role, version string) (*Telemetry, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	res := newResource(role, version)
	switch cfg.Exporter {
	case "prometheus":
		reg := prometheus.NewRegistry()
		exp, err := promexporter.New(promexporter.WithRegisterer(reg), promexporter.WithoutScopeInfo())
		if err != nil {
			return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(exp))
		// Spans are made (logs carry their ids) but sent nowhere; sampled
		// as deployed, so a load test through `vaxbook dev` pays what a
		// deployment would, not the cost of recording every request.
		tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res),
			sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.TraceRatio))))
		t, err := build(mp, tp)
		if err != nil {
			return nil, err
		}
		t.MetricsHandler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
		return t, nil
	case "gcp":
		return newGoogle(ctx, cfg, res, "")
	}
	return nil, nil
}

// NewForTest is telemetry that records into reader and spans, sampling
// every trace and exporting each span as it ends.
func NewForTest(reader sdkmetric.Reader, spans sdktrace.SpanExporter) *Telemetry {
	res := newResource("test", "test")
	t, err := build(sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader)),
		sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(spans), sdktrace.WithSampler(sdktrace.AlwaysSample())))
	if err != nil {
		panic(err) // instruments of fixed names and kinds: a bug, not a condition
	}
	return t
}

// newResource names the process. Every Cloud Run instance writes its own
// time series (service.instance.id becomes the generic_task's task_id):
// two instances writing one series would be refused as too frequent.
func newResource(role, version string) *resource.Resource {
	var id [8]byte
	_, _ = rand.Read(id[:])
	return resource.NewSchemaless(
		attribute.String("service.namespace", "vaxbook"),
		attribute.String("service.name", role),
		attribute.String("service.version", version),
		attribute.String("service.instance.id", hex.EncodeToString(id[:])),
	)
}

// seconds are the latency buckets: a cached read in a millisecond, a
// publish in tens, a decision in a surge backlog in minutes.
var seconds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

func build(mp *sdkmetric.MeterProvider, tp *sdktrace.TracerProvider) (*Telemetry, error) {
	m := mp.Meter("github.com/vaxbook/vaxbook")
	t := &Telemetry{
		tracer:   tp.Tracer("github.com/vaxbook/vaxbook"),
		shutdown: []func(context.Context) error{tp.Shutdown, mp.Shutdown},
		listings: map[string]time.Time{},
	}
	var errs []error
	counter := func(name, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit("1"))
		errs = append(errs, err)
		return c
	}
	hist := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithDescription(desc), metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(seconds...))
		errs = append(errs, err)
		return h
	}
	t.requests = counter(Requests, "HTTP answers by role, route and code.")
	t.requestDuration = hist(RequestDuration, "Time to answer an HTTP request.")
	t.publishes = counter(Publishes, "Pub/Sub publishes by topic and result.")
	t.publishDuration = hist(PublishDuration, "Time from publish to Pub/Sub's acknowledgement.")
	t.bookings = counter(Bookings, "Booking decisions by state and outcome.")
	t.decisionTime = hist(DecisionTime, "Time from the API accepting a booking to the worker deciding it.")
	t.txDuration = hist(TxDuration, "A push's Postgres transaction.")
	t.pushRetries = counter(PushRetries, "Pushes answered non-2xx, each a redelivery.")
	t.cacheFillPass = hist(CacheFillPass, "One cache-fill pass.")
	t.storeErrors = counter(StoreErrors, "Failed calls to Redis and Postgres.")
	t.messagesSent = counter(MessagesSent, "E-mail and SMS sends by channel and outcome.")
	t.registrations = counter(Registrations, "Registrations recorded by state and status.")
	t.invitations = counter(Invitations, "Invitations made by state.")
	t.expiries = counter(Expiries, "Invitations expired unused by state.")
	_, err := m.Float64ObservableGauge(ListingAge, metric.WithUnit("s"),
		metric.WithDescription("Seconds since this cache-fill loop last wrote each state's listing."),
		metric.WithFloat64Callback(t.observeListingAge))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("telemetry: instruments: %w", err)
	}
	return t, nil
}

// Shutdown flushes and stops the exporters, within ctx.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("telemetry shutdown: %w", err)
	}
	return nil
}

type ctxKey struct{}

// NewContext returns ctx carrying t: a role's server and loops are built on
// it so that every request and pass finds t.
func NewContext(ctx context.Context, t *Telemetry) context.Context {
	if t == nil {
		return ctx
	}
	return context.WithValue(ctx, ctxKey{}, t)
}

// From returns the Telemetry ctx carries, or nil.
func From(ctx context.Context) *Telemetry {
	t, _ := ctx.Value(ctxKey{}).(*Telemetry)
	return t
}
