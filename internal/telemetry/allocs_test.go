//go:build !race

// The race detector's sync.Pool drops items on purpose, so allocation
// counts are only meaningful without it.

package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// TestRoutes_CountAllocatesNothing: counting a request that was counted
// before (its route and code seen) costs no allocation, which is what keeps
// the /listppv cache hit at 0 allocs/op with telemetry on.
func TestRoutes_CountAllocatesNothing(t *testing.T) {
	tel := telemetry.NewForTest(sdkmetric.NewManualReader(), tracetest.NewInMemoryExporter())
	rs := telemetry.NewRoutes("api", "/listppv")
	h := rs.Count(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }), "")
	r := httptest.NewRequest(http.MethodGet, "/listppv?state=selangor", nil).WithContext(telemetry.NewContext(context.Background(), tel))
	w := discard{}
	h.ServeHTTP(w, r)
	if n := testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, r) }); n != 0 {
		t.Errorf("Count: %v allocations per request, want 0", n)
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
