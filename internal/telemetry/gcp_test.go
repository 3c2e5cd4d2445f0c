package telemetry_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/trace/apiv2/tracepb"
	"google.golang.org/api/option"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// google stands in for Cloud Monitoring's and Cloud Trace's gRPC APIs (a
// third party: what they receive is what the real ones would).
type google struct {
	monitoringpb.UnimplementedMetricServiceServer
	tracepb.UnimplementedTraceServiceServer
	mu     sync.Mutex
	series []*monitoringpb.TimeSeries
	spans  []*tracepb.Span
}

func (g *google) CreateMetricDescriptor(_ context.Context, r *monitoringpb.CreateMetricDescriptorRequest) (*metricpb.MetricDescriptor, error) {
	return r.GetMetricDescriptor(), nil
}

func (g *google) CreateTimeSeries(_ context.Context, r *monitoringpb.CreateTimeSeriesRequest) (*emptypb.Empty, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.series = append(g.series, r.GetTimeSeries()...)
	return &emptypb.Empty{}, nil
}

func (g *google) BatchWriteSpans(_ context.Context, r *tracepb.BatchWriteSpansRequest) (*emptypb.Empty, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.spans = append(g.spans, r.GetSpans()...)
	return &emptypb.Empty{}, nil
}

// TestGoogle_ExportsTheNamesDeployMonitoringReads records a counted, traced
// request and flushes it to the stand-in: the series are
// workload.googleapis.com/ plus the names deploy/monitoring selects, with
// the route, code and role labels its filters use, one series per
// instance (generic_task with a task id), and the span reaches Cloud Trace
// in the project.
func TestGoogle_ExportsTheNamesDeployMonitoringReads(t *testing.T) {
	t.Parallel()
	g := &google{}
	srv := grpc.NewServer()
	monitoringpb.RegisterMetricServiceServer(srv, g)
	tracepb.RegisterTraceServiceServer(srv, g)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	tel, err := telemetry.NewGoogle(context.Background(), telemetry.Config{Exporter: "gcp", TraceRatio: 1, Interval: time.Hour}, "api", "test", "test-project",
		option.WithEndpoint(ln.Addr().String()), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	routes := telemetry.NewRoutes("api", "/submit")
	h := routes.Count(routes.Trace(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})), "")
	r := httptest.NewRequest(http.MethodPost, "/submit", nil).WithContext(telemetry.NewContext(context.Background(), tel))
	h.ServeHTTP(httptest.NewRecorder(), r)

	// Shutdown exports what is left: the one collection the test needs.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	var requests *monitoringpb.TimeSeries
	for _, ts := range g.series {
		name, ok := strings.CutPrefix(ts.GetMetric().GetType(), "workload.googleapis.com/")
		if !ok || !slices.Contains(telemetry.Names(), name) {
			t.Errorf("exported %s: not workload.googleapis.com/ and a name of telemetry.Names()", ts.GetMetric().GetType())
		}
		if name == telemetry.Requests {
			requests = ts
		}
	}
	if requests == nil {
		t.Fatalf("no %s series among %d exported", telemetry.Requests, len(g.series))
	}
	if l := requests.GetMetric().GetLabels(); l["route"] != "/submit" || l["code"] != "202" || l["role"] != "api" {
		t.Errorf("%s labels %v, want route /submit, code 202, role api", telemetry.Requests, l)
	}
	if res := requests.GetResource(); res.GetType() != "generic_task" || res.GetLabels()["task_id"] == "" || res.GetLabels()["job"] != "api" {
		t.Errorf("monitored resource %v, want generic_task with job api and this instance's task_id", res)
	}
	if len(g.spans) != 1 || !strings.HasPrefix(g.spans[0].GetName(), "projects/test-project/traces/") || g.spans[0].GetDisplayName().GetValue() != "POST /submit" {
		t.Errorf("spans %v, want one POST /submit in projects/test-project", g.spans)
	}
}
