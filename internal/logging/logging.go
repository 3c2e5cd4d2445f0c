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

// FromContext returns the request-scoped logger, or fallback.
func FromContext(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return fallback
}

// Middleware gives each request a request id (kept from X-Request-Id when the
// caller sent a sane one, echoed back) and a logger carrying it and the Cloud
// Trace id, so one error line can be found from the user's report.
func Middleware(log *slog.Logger, project string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get("X-Request-Id")
			if len(id) == 0 || len(id) > 64 || strings.ContainsAny(id, " \t\r\n\"") {
				id = newID()
			}
			w.Header()["X-Request-Id"] = []string{id}
			l := log.With("request_id", id)
			if trace := traceID(r.Header.Get("X-Cloud-Trace-Context")); trace != "" && project != "" {
				l = l.With("logging.googleapis.com/trace", "projects/"+project+"/traces/"+trace)
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, l)))
		})
	}
}

// X-Cloud-Trace-Context is "TRACE_ID/SPAN_ID;o=TRACE_TRUE".
func traceID(h string) string {
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	if len(h) != 32 {
		return ""
	}
	return h
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
