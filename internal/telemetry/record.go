package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Inject writes the W3C trace context of ctx's span (traceparent, and
// tracestate when there is one) into a Pub/Sub message's attributes, so the
// worker's handling joins the trace of the request that published it.
func Inject(ctx context.Context, attrs map[string]string) {
	if trace.SpanContextFromContext(ctx).IsValid() {
		w3c.Inject(ctx, propagation.MapCarrier(attrs))
	}
}

// StartPush starts the span of a push's handling (name: its route), child
// of the trace in the message's attributes (Inject's). The caller ends it.
// Without a Telemetry in ctx the span is ctx's own, which records nothing.
func StartPush(ctx context.Context, name string, attrs map[string]string) (context.Context, trace.Span) {
	t := From(ctx)
	if t == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	ctx = w3c.Extract(ctx, propagation.MapCarrier(attrs))
	return t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindConsumer))
}

// Start starts an internal span (a transaction, a publish) under ctx's.
func Start(ctx context.Context, name string) (context.Context, trace.Span) {
	t := From(ctx)
	if t == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	return t.tracer.Start(ctx, name)
}

// EndSpan ends span, marking it failed when err is not nil.
func EndSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// Published records a publish to topic that started at start.
func Published(ctx context.Context, topic string, start time.Time, err error) {
	t := From(ctx)
	if t == nil {
		return
	}
	t.publishes.Add(ctx, 1, metric.WithAttributes(attribute.String("topic", topic), attribute.String("result", result(err))))
	t.publishDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("topic", topic)))
	if err != nil {
		t.storeErrors.Add(ctx, 1, metric.WithAttributes(attribute.String("store", "pubsub")))
	}
}

// Booked records a booking decided now: outcome confirmed, full, duplicate
// or rejected, and, when submitted is known, the time since it was.
func Booked(ctx context.Context, state, outcome string, submitted time.Time) {
	t := From(ctx)
	if t == nil {
		return
	}
	if state == "" {
		state = "unknown"
	}
	t.bookings.Add(ctx, 1, metric.WithAttributes(attribute.String("state", state), attribute.String("outcome", outcome)))
	if !submitted.IsZero() {
		t.decisionTime.Record(ctx, time.Since(submitted).Seconds(), metric.WithAttributes(attribute.String("state", state)))
	}
}

// Transaction records a push's transaction on route that started at start.
func Transaction(ctx context.Context, route string, start time.Time) {
	if t := From(ctx); t != nil {
		t.txDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("route", route)))
	}
}

// StoreError counts a failed call to store: redis, postgres or pubsub.
func StoreError(ctx context.Context, store string) {
	if t := From(ctx); t != nil {
		t.storeErrors.Add(ctx, 1, metric.WithAttributes(attribute.String("store", store)))
	}
}

// Sent records a send on channel (email, sms) ending in outcome.
func Sent(ctx context.Context, channel, outcome string) {
	if t := From(ctx); t != nil {
		t.messagesSent.Add(ctx, 1, metric.WithAttributes(attribute.String("channel", channel), attribute.String("outcome", outcome)))
	}
}

// Registered records a registration recorded with status.
func Registered(ctx context.Context, state, status string) {
	if t := From(ctx); t != nil {
		t.registrations.Add(ctx, 1, metric.WithAttributes(attribute.String("state", state), attribute.String("status", status)))
	}
}

// QueueRound records an invitation round of state: how many it invited
// and how many invitations it found expired.
func QueueRound(ctx context.Context, state string, invited, expired int) {
	t := From(ctx)
	if t == nil {
		return
	}
	attrs := metric.WithAttributes(attribute.String("state", state))
	if invited > 0 {
		t.invitations.Add(ctx, int64(invited), attrs)
	}
	if expired > 0 {
		t.expiries.Add(ctx, int64(expired), attrs)
	}
}

// CacheFilled records a cache-fill pass that started at start, and the
// states whose listings it wrote (at start), if it got that far: a pass may
// write them and fail after.
func CacheFilled(ctx context.Context, start time.Time, states []string, err error) {
	t := From(ctx)
	if t == nil {
		return
	}
	t.cacheFillPass.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("result", result(err))))
	t.listingsMu.Lock()
	defer t.listingsMu.Unlock()
	for _, s := range states {
		t.listings[s] = start
	}
}

// observeListingAge reports ListingAge. A loop that stops writing (lost its
// lease, stuck on Postgres) shows a growing age; one that is gone shows
// none, which the alert treats as a breach too.
func (t *Telemetry) observeListingAge(_ context.Context, o metric.Float64Observer) error {
	t.listingsMu.Lock()
	defer t.listingsMu.Unlock()
	now := time.Now()
	for s, at := range t.listings {
		o.Observe(now.Sub(at).Seconds(), metric.WithAttributes(attribute.String("state", s)))
	}
	return nil
}
