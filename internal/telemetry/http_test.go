package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vaxbook/vaxbook/internal/telemetry"
)

func TestRoutes_LabelEveryPathWithABoundedSet(t *testing.T) {
	t.Parallel()
	rs := telemetry.NewRoutes("api", "/listppv", "/status/{reference}")
	for path, want := range map[string]string{
		"/listppv": "/listppv", "/status/ABC123": "/status/{reference}",
		"/status/": "other", "/status/a/b": "other", "/wp-login.php": "other", "/listppv/x": "other",
	} {
		if got := rs.Of(path); got != want {
			t.Errorf("Of(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestRoutes_CountRecordsCodeAndRetriesAndPassesThroughWithout(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	tel := telemetry.NewForTest(reader, tracetest.NewInMemoryExporter())
	rs := telemetry.NewRoutes("worker", "/push/appointments", "/readyz")
	h := rs.Count(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}), "/push/")

	// Without telemetry in the context: served, nothing recorded.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/push/appointments", nil))
	ctx := telemetry.NewContext(context.Background(), tel)
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/push/appointments", nil).WithContext(ctx))
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil).WithContext(ctx)) // not a push: no retry
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("answer %d, want the handler's 503", w.Code)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, p := range s.DataPoints {
					code, _ := p.Attributes.Value("code")
					route, _ := p.Attributes.Value("route")
					got[m.Name+" "+route.AsString()+" "+code.AsString()] += p.Value
				}
			}
		}
	}
	if got[telemetry.PushRetries+" /readyz 503"] != 0 {
		t.Errorf("a 503 from /readyz counted as a push retry: %v", got)
	}
	for _, k := range []string{telemetry.Requests + " /push/appointments 503", telemetry.PushRetries + " /push/appointments 503", telemetry.Requests + " /readyz 503"} {
		if got[k] != 1 {
			t.Errorf("%s: %d, want 1 (the request with telemetry only); all: %v", k, got[k], got)
		}
	}
}

// BenchmarkCount is the instrumentation alone on a request: off (no
// telemetry in the context, the baseline) and on (a counter add and a
// histogram record with prebuilt attributes, two clock reads, a pooled
// status recorder).
func BenchmarkCount(b *testing.B) {
	tel := telemetry.NewForTest(sdkmetric.NewManualReader(), tracetest.NewInMemoryExporter())
	rs := telemetry.NewRoutes("api", "/listppv")
	h := rs.Count(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }), "")
	for _, mode := range []struct {
		name string
		ctx  context.Context
	}{{"off", context.Background()}, {"on", telemetry.NewContext(context.Background(), tel)}} {
		b.Run(mode.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/listppv?state=selangor", nil).WithContext(mode.ctx)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkCountParallel is BenchmarkCount from every core at once: the
// SDK's series for one route and code are shared, as on a busy instance.
func BenchmarkCountParallel(b *testing.B) {
	tel := telemetry.NewForTest(sdkmetric.NewManualReader(), tracetest.NewInMemoryExporter())
	rs := telemetry.NewRoutes("api", "/listppv")
	h := rs.Count(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }), "")
	for _, mode := range []struct {
		name string
		ctx  context.Context
	}{{"off", context.Background()}, {"on", telemetry.NewContext(context.Background(), tel)}} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest(http.MethodGet, "/listppv?state=selangor", nil).WithContext(mode.ctx)
				w := httptest.NewRecorder()
				for pb.Next() {
					h.ServeHTTP(w, r)
				}
			})
		})
	}
}
