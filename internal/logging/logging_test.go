package logging_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vaxbook/vaxbook/internal/logging"
)

func TestNew_WritesCloudLoggingKeys(t *testing.T) {
	t.Parallel()
	cases := []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug, "DEBUG"}, {slog.LevelInfo, "INFO"}, {slog.LevelWarn, "WARNING"}, {slog.LevelError, "ERROR"},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		logging.New(&buf, slog.LevelDebug).Log(t.Context(), tc.level, "hello", "k", "v")
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", buf.String(), err)
		}
		if line["severity"] != tc.want || line["message"] != "hello" || line["k"] != "v" {
			t.Errorf("level %v: got %v, want severity %s and message hello", tc.level, line, tc.want)
		}
	}
}

func TestMiddleware_TiesLogsToRequestAndTrace(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	base := logging.New(&buf, slog.LevelInfo)
	h := logging.Middleware(base, "proj")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logging.FromContext(r.Context(), nil).Info("inside")
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/1;o=1")
	r.Header.Set("X-Request-Id", "abc123")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if got := line["logging.googleapis.com/trace"]; got != "projects/proj/traces/105445aa7843bc8bf206b12000100000" {
		t.Errorf("trace: got %v", got)
	}
	if line["request_id"] != "abc123" || w.Header().Get("X-Request-Id") != "abc123" {
		t.Errorf("request id: logged %v, echoed %q, want abc123", line["request_id"], w.Header().Get("X-Request-Id"))
	}

	// A request without one gets a fresh id.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if len(w.Header().Get("X-Request-Id")) != 24 {
		t.Errorf("generated request id: got %q", w.Header().Get("X-Request-Id"))
	}
}

func TestMiddleware_AcceptsTraceparentAndLogsTheSpan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, header, value, span string
		sampled                   bool
	}{
		{"traceparent", "Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00f067aa0ba902b7", true},
		{"traceparent not sampled", "Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "00f067aa0ba902b7", false},
		// X-Cloud-Trace-Context's span id is decimal.
		{"x-cloud-trace-context", "X-Cloud-Trace-Context", "4bf92f3577b34da6a3ce929d0e0e4736/67667974448284343;o=1", "00f067aa0ba902b7", true},
	} {
		var buf bytes.Buffer
		h := logging.Middleware(logging.New(&buf, slog.LevelInfo), "proj")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			logging.FromContext(r.Context(), nil).Info("inside")
		}))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set(tc.header, tc.value)
		h.ServeHTTP(httptest.NewRecorder(), r)
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if line["logging.googleapis.com/trace"] != "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736" ||
			line["logging.googleapis.com/spanId"] != tc.span || line["logging.googleapis.com/trace_sampled"] != tc.sampled {
			t.Errorf("%s: got trace %v span %v sampled %v, want the caller's trace, span %s, sampled %t", tc.name,
				line["logging.googleapis.com/trace"], line["logging.googleapis.com/spanId"], line["logging.googleapis.com/trace_sampled"], tc.span, tc.sampled)
		}
	}
}
