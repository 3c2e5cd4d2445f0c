package telemetry

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Routes is a role's fixed set of route labels. Every path is counted
// under one of them, or "other", so a scan of random paths cannot grow the
// number of time series; the attribute sets for each (route, code) are
// built once and reused, which keeps a counted request allocation-free.
type Routes struct {
	role     string
	exact    map[string]int
	prefixes []prefix
	names    []string
	// opts[route][code-100] is built the first time that pair is seen.
	opts [][]atomic.Pointer[recordOpts]
}

type prefix struct {
	path  string
	route int
}

type recordOpts struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

const firstCode, lastCode = 100, 599

// NewRoutes lists role's routes: an exact path ("/submit"), or a pattern
// whose last segment is a parameter ("/status/{reference}"), matched by
// its prefix.
func NewRoutes(role string, patterns ...string) *Routes {
	rs := &Routes{role: role, exact: map[string]int{}}
	for _, p := range append(patterns, "other") {
		i := len(rs.names)
		rs.names = append(rs.names, p)
		if j := strings.Index(p, "{"); j >= 0 {
			rs.prefixes = append(rs.prefixes, prefix{path: p[:j], route: i})
		} else {
			rs.exact[p] = i
		}
	}
	rs.opts = make([][]atomic.Pointer[recordOpts], len(rs.names))
	for i := range rs.opts {
		rs.opts[i] = make([]atomic.Pointer[recordOpts], lastCode-firstCode+1)
	}
	return rs
}

// Names are the route labels, "other" last.
func (rs *Routes) Names() []string { return slices.Clone(rs.names) }

// Of is the route label of path.
func (rs *Routes) Of(path string) string { return rs.names[rs.index(path)] }

func (rs *Routes) index(path string) int {
	if i, ok := rs.exact[path]; ok {
		return i
	}
	for _, p := range rs.prefixes {
		if len(path) > len(p.path) && strings.HasPrefix(path, p.path) && !strings.Contains(path[len(p.path):], "/") {
			return p.route
		}
	}
	return len(rs.names) - 1
}

func (rs *Routes) optsFor(route, code int) *recordOpts {
	if code < firstCode || code > lastCode {
		code = 500 // a handler bug; counted as the failure it is
	}
	slot := &rs.opts[route][code-firstCode]
	if o := slot.Load(); o != nil {
		return o
	}
	set := attribute.NewSet(attribute.String("role", rs.role), attribute.String("route", rs.names[route]), attribute.String("code", strconv.Itoa(code)))
	o := &recordOpts{add: []metric.AddOption{metric.WithAttributeSet(set)}, record: []metric.RecordOption{metric.WithAttributeSet(set)}}
	slot.Store(o)
	return o
}

// recorder notes the status code a handler answers.
type recorder struct {
	http.ResponseWriter
	code int
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

var recorders = sync.Pool{New: func() any { return new(recorder) }}

// Count wraps next to count every answer and time it, by route and code,
// in the Telemetry of the request's context (none: next alone). Under
// retries (a path prefix; "" for none) every non-2xx answer is also a
// PushRetries: the worker's push routes, where one is a redelivery.
func (rs *Routes) Count(next http.Handler, retries string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := From(r.Context())
		if t == nil {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := recorders.Get().(*recorder)
		rec.ResponseWriter, rec.code = w, 0
		next.ServeHTTP(rec, r)
		code := rec.code
		rec.ResponseWriter = nil
		recorders.Put(rec)
		if code == 0 {
			code = http.StatusOK
		}
		o := rs.optsFor(rs.index(r.URL.Path), code)
		ctx := r.Context()
		t.requests.Add(ctx, 1, o.add...)
		t.requestDuration.Record(ctx, time.Since(start).Seconds(), o.record...)
		if retries != "" && (code < 200 || code > 299) && strings.HasPrefix(r.URL.Path, retries) {
			t.pushRetries.Add(ctx, 1, o.add...)
		}
	})
}

// Trace wraps next in a server span named by the route, whose parent is
// the caller's trace (traceparent, else X-Cloud-Trace-Context, which Cloud
// Run's front end sends). Not for the surge path: a span allocates.
func (rs *Routes) Trace(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := From(r.Context())
		if t == nil {
			next.ServeHTTP(w, r)
			return
		}
		route := rs.Of(r.URL.Path)
		ctx := extractHeaders(r.Context(), r.Header)
		ctx, span := t.tracer.Start(ctx, r.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("http.route", route)))
		defer span.End()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.response.status_code", rec.code))
		if rec.code >= 500 {
			span.SetStatus(codes.Error, strconv.Itoa(rec.code))
		}
	})
}

var w3c = propagation.TraceContext{}

// extractHeaders is ctx with the caller's span as remote parent.
func extractHeaders(ctx context.Context, h http.Header) context.Context {
	if sc := HeaderSpan(h); sc.IsValid() {
		return trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	return ctx
}

// HeaderSpan is the caller's span a request names: its W3C traceparent,
// else Cloud Run's X-Cloud-Trace-Context; invalid when neither parses.
func HeaderSpan(h http.Header) trace.SpanContext {
	if h.Get("Traceparent") != "" {
		if sc := trace.SpanContextFromContext(w3c.Extract(context.Background(), propagation.HeaderCarrier(h))); sc.IsValid() {
			return sc
		}
	}
	sc, _ := ParseCloudTrace(h.Get("X-Cloud-Trace-Context"))
	return sc
}

// ParseCloudTrace reads X-Cloud-Trace-Context, "TRACE_ID/SPAN_ID;o=1",
// whose span id is decimal.
func ParseCloudTrace(h string) (trace.SpanContext, bool) {
	id, rest, _ := strings.Cut(h, "/")
	tid, err := trace.TraceIDFromHex(id)
	if err != nil {
		return trace.SpanContext{}, false
	}
	spanPart, opts, _ := strings.Cut(rest, ";")
	n, err := strconv.ParseUint(spanPart, 10, 64)
	if err != nil || n == 0 {
		return trace.SpanContext{}, false
	}
	var sid trace.SpanID
	for i := 7; i >= 0; i-- {
		sid[i] = byte(n)
		n >>= 8
	}
	var flags trace.TraceFlags
	if opts == "o=1" {
		flags = trace.FlagsSampled
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true}), true
}
