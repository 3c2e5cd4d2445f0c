// Package logging builds the JSON slog logger Cloud Logging understands and
// the middleware that ties request logs to a request id and a Cloud Trace.
package logging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// New returns a JSON logger whose keys are the ones Cloud Logging lifts out
// of a structured log line: severity, message and time.
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.MessageKey:
				a.Key = "message"
			case slog.LevelKey:
				a.Key = "severity"
				a.Value = slog.StringValue(severity(a.Value.Any().(slog.Level)))
			}
			return a
		},
	}))
}

func severity(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	default:
		return "DEBUG"
	}
}

// ParseLevel reads LOG_LEVEL values: debug, info, warn, error.
func ParseLevel(s string) (slog.Level, bool) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, false
	}
	return l, true
}

type ctxKey struct{}

// scoped is what Middleware keeps in a request's context.
type scoped struct {
	log     *slog.Logger
	project string
}

// FromContext returns the request-scoped logger, or fallback.
func FromContext(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if s, ok := ctx.Value(ctxKey{}).(scoped); ok {
		return s.log
	}
	return fallback
}

// WithSpan is l with the trace fields of ctx's span, for a handler that
// starts its own span after Middleware ran (the worker's, whose parent
// rides in the Pub/Sub message). Without a span, or outside Middleware
// (no project), l is returned as it is.
func WithSpan(ctx context.Context, l *slog.Logger) *slog.Logger {
	s, ok := ctx.Value(ctxKey{}).(scoped)
	sc := trace.SpanContextFromContext(ctx)
	if !ok || !sc.IsValid() {
		return l
	}
	return withTrace(l, s.project, sc)
}

// withTrace adds the fields Cloud Logging links to Cloud Trace: the trace
// (which needs the project), the span, and whether it was sampled.
func withTrace(l *slog.Logger, project string, sc trace.SpanContext) *slog.Logger {
	if !sc.IsValid() || project == "" {
		return l
	}
	return l.With("logging.googleapis.com/trace", "projects/"+project+"/traces/"+sc.TraceID().String(),
		"logging.googleapis.com/spanId", sc.SpanID().String(),
		"logging.googleapis.com/trace_sampled", sc.IsSampled())
}

// Middleware gives each request a request id (kept from X-Request-Id when the
// caller sent a sane one, echoed back) and a logger carrying it and the
// trace: the span the request runs in (telemetry's), else the caller's
// traceparent or X-Cloud-Trace-Context, so one error line can be found
// from the user's report and its trace opened from it.
func Middleware(log *slog.Logger, project string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get("X-Request-Id")
			if len(id) == 0 || len(id) > 64 || strings.ContainsAny(id, " \t\r\n\"") {
				id = newID()
			}
			w.Header()["X-Request-Id"] = []string{id}
			sc := trace.SpanContextFromContext(r.Context())
			if !sc.IsValid() {
				sc = telemetry.HeaderSpan(r.Header)
			}
			l := withTrace(log.With("request_id", id), project, sc)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, scoped{log: l, project: project})))
		})
	}
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
