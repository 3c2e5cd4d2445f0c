//lint:file-ignore SA1019 Google's Cloud Monitoring and Cloud Trace exporters are deprecated for OTLP to telemetry.googleapis.com and archived after 2027-01-01; they stay until that move (deploy/README.md, "Monitoring").

package telemetry

import (
	"context"
	"fmt"

	mexporter "github.com/GoogleCloudPlatform/opentelemetry-operations-go/exporter/metric"
	texporter "github.com/GoogleCloudPlatform/opentelemetry-operations-go/exporter/trace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/api/option"
)

// NewGoogle is New for exporter gcp with the project named and the Google
// API clients built with opts (tests point them at a local stand-in).
func NewGoogle(ctx context.Context, cfg Config, role, version, project string, opts ...option.ClientOption) (*Telemetry, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	return newGoogle(ctx, cfg, newResource(role, version), project, opts...)
}

// newGoogle exports to Cloud Monitoring and Cloud Trace; with project
// empty the exporters find it as the client libraries do (on Cloud Run,
// from the metadata server).
func newGoogle(ctx context.Context, cfg Config, res *resource.Resource, project string, opts ...option.ClientOption) (*Telemetry, error) {
	mopts := []mexporter.Option{mexporter.WithContext(context.WithoutCancel(ctx)), mexporter.WithMonitoringClientOptions(opts...)}
	topts := []texporter.Option{texporter.WithContext(context.WithoutCancel(ctx)), texporter.WithTraceClientOptions(opts)}
	if project != "" {
		mopts = append(mopts, mexporter.WithProjectID(project))
		topts = append(topts, texporter.WithProjectID(project))
	}
	mexp, err := mexporter.New(mopts...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: cloud monitoring exporter: %w", err)
	}
	texp, err := texporter.New(topts...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: cloud trace exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(cfg.Interval))))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(texp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.TraceRatio))))
	return build(mp, tp)
}
