package devstack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vaxbook/vaxbook/internal/devstack"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// TestTelemetry_OneBookingIsCountedTimedAndTracedFromSubmitToTheWorker
// books once through the whole system with in-memory readers and finds the
// answer counted by route and code, the publish, the decision with its
// time from submit, the transaction, and one trace from POST /submit (whose
// caller's traceparent it continues) through Pub/Sub to the worker's
// transaction.
func TestTelemetry_OneBookingIsCountedTimedAndTracedFromSubmitToTheWorker(t *testing.T) {
	t.Parallel()
	reader, spans := sdkmetric.NewManualReader(), tracetest.NewInMemoryExporter()
	tel := telemetry.NewForTest(reader, spans)
	s := startIn(t, telemetry.NewContext(context.Background(), tel), map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error"}, false)

	var doc listing.Document
	getInto(t, s.URL()+"/listppv?state=selangor", &doc)
	body := `{"state":"selangor","name":"Siti Aminah","id_number":"900101-14-5678","phone":"+60123456789","email":"siti@example.com","preferences":["` + doc.Centers[0].Slots[0].ID + `"]}`
	const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/submit", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Traceparent", "00-"+callerTrace+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ans struct{ Reference string }
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(raw, &ans) != nil {
		t.Fatalf("POST /submit: %d %s, want 202", resp.StatusCode, raw)
	}

	// The worker counts its answer after writing it: poll until the whole
	// booking shows, with a deadline a busy machine meets.
	var got map[string]metricdata.Metrics
	deadline := time.Now().Add(60 * time.Second)
	for {
		got = collect(t, reader)
		if sum(got[telemetry.Requests], "route", "/push/appointments") >= 1 && sum(got[telemetry.Bookings], "outcome", "confirmed") >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decided booking in the metrics within 60 s; got %v", names(got))
		}
		time.Sleep(100 * time.Millisecond)
	}

	for _, c := range []struct {
		metric, key, value string
		want               int64
	}{
		{telemetry.Requests, "route", "/submit", 1},
		{telemetry.Bookings, "state", "selangor", 1},
		{telemetry.Publishes, "topic", "appointments-topic", 1},
	} {
		if n := sum(got[c.metric], c.key, c.value); n != c.want {
			t.Errorf("%s{%s=%s}: got %d, want %d", c.metric, c.key, c.value, n, c.want)
		}
	}
	if n := sum(got[telemetry.Requests], "code", "202"); n != 1 {
		t.Errorf("%s{code=202}: got %d, want 1 (the submit)", telemetry.Requests, n)
	}
	for _, h := range []string{telemetry.RequestDuration, telemetry.DecisionTime, telemetry.TxDuration, telemetry.PublishDuration, telemetry.CacheFillPass} {
		if n := histCount(got[h]); n < 1 {
			t.Errorf("%s: %d observations, want at least 1", h, n)
		}
	}
	if _, ok := got[telemetry.ListingAge]; !ok {
		t.Errorf("%s: not reported after cache-fill passes", telemetry.ListingAge)
	}

	// One trace: the caller's, through the submit, the publish, the push
	// and the booking transaction, each the child of the one before.
	byName := map[string]tracetest.SpanStub{}
	for _, sp := range spans.GetSpans() {
		if sp.SpanContext.TraceID().String() == callerTrace {
			byName[sp.Name] = sp
		}
	}
	chain := []string{"POST /submit", "publish appointments-topic", "push /push/appointments", "book"}
	for i, name := range chain {
		sp, ok := byName[name]
		if !ok {
			t.Fatalf("no span %q in the caller's trace; spans there: %v", name, keys(byName))
		}
		if i == 0 {
			if sp.Parent.SpanID().String() != "00f067aa0ba902b7" {
				t.Errorf("%q: parent %s, want the caller's span", name, sp.Parent.SpanID())
			}
			continue
		}
		if parent := byName[chain[i-1]]; sp.Parent.SpanID() != parent.SpanContext.SpanID() {
			t.Errorf("%q: parent %s, want %q's %s", name, sp.Parent.SpanID(), chain[i-1], parent.SpanContext.SpanID())
		}
	}
	if byName["push /push/appointments"].SpanKind != trace.SpanKindConsumer {
		t.Errorf("push span kind %v, want consumer", byName["push /push/appointments"].SpanKind)
	}
}

func collect(t *testing.T, r sdkmetric.Reader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// sum adds a counter's points whose attribute key has value.
func sum(m metricdata.Metrics, key, value string) int64 {
	s, _ := m.Data.(metricdata.Sum[int64])
	var n int64
	for _, p := range s.DataPoints {
		if v, ok := p.Attributes.Value(attribute.Key(key)); ok && v.String() == value {
			n += p.Value
		}
	}
	return n
}

func histCount(m metricdata.Metrics) uint64 {
	h, _ := m.Data.(metricdata.Histogram[float64])
	var n uint64
	for _, p := range h.DataPoints {
		n += p.Count
	}
	return n
}

func names(m map[string]metricdata.Metrics) []string { return keys(m) }

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestTelemetry_DevServesPrometheusMetrics: `vaxbook dev`'s default
// exporter shows a booking, and a registration in the demo's queue state
// and its invitation, on GET /metrics, in Prometheus's text format.
func TestTelemetry_DevServesPrometheusMetrics(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "INVITE_INTERVAL": "500ms", "LOG_LEVEL": "error"}, false)
	var doc listing.Document
	getInto(t, s.URL()+"/listppv?state=johor", &doc)
	body := `{"state":"johor","name":"Siti Aminah","id_number":"900101-14-5678","phone":"+60123456789","email":"siti@example.com","preferences":["` + doc.Centers[0].Slots[0].ID + `"]}`
	if status, b := postJSON(t, s.URL()+"/submit", body); status != http.StatusAccepted {
		t.Fatalf("POST /submit: %d %s", status, b)
	}
	reg := `{"state":"` + devstack.DemoQueueState + `","name":"Siti Aminah","id_number":"900101-14-5678","phone":"0123456789","email":"siti@example.com","lang":"en"}`
	if status, b := postJSON(t, s.URL()+"/register", reg); status != http.StatusAccepted {
		t.Fatalf("POST /register: %d %s", status, b)
	}
	want := []string{
		`vaxbook_booking_outcomes_total{outcome="confirmed",state="johor"} 1`,
		`vaxbook_http_requests_total{code="202",role="api",route="/submit"} 1`,
		`vaxbook_booking_decision_time_seconds_count{state="johor"} 1`,
		`vaxbook_cachefill_listing_age_seconds{state="johor"}`,
		`vaxbook_queue_registrations_total{state="` + devstack.DemoQueueState + `",status="queued"} 1`,
		`vaxbook_queue_invitations_total{state="` + devstack.DemoQueueState + `"} 1`,
	}
	var text string
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := http.Get(s.URL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		text = string(b)
		missing := 0
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("GET /metrics has no %q", w)
		}
	}
}
