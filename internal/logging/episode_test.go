package logging_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/logging"
)

// TestEpisode_LogsTheFirstFailureAndTheRecoveryOnce: three failures and
// two successes in a row make one warning and one info line; the next
// failure begins a second episode.
func TestEpisode_LogsTheFirstFailureAndTheRecoveryOnce(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	e := logging.NewEpisode(logging.New(&buf, slog.LevelDebug), slog.LevelWarn, "cache gone", "cache back")
	down := errors.New("connection refused")
	e.OK()
	for range 3 {
		e.Fail(down, "cache", "unreachable")
	}
	if !e.Failing() {
		t.Error("Failing after three failures: false")
	}
	e.OK()
	e.OK()
	e.Fail(down)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{`"severity":"WARNING","message":"cache gone","cache":"unreachable","error":"connection refused"`,
		`"severity":"INFO","message":"cache back"`, `"failures":3`, `"severity":"WARNING","message":"cache gone"`}
	if len(lines) != 3 || !strings.Contains(lines[0], want[0]) || !strings.Contains(lines[1], want[1]) ||
		!strings.Contains(lines[1], want[2]) || !strings.Contains(lines[2], want[3]) {
		t.Errorf("log lines:\n%s\nwant three: %q", buf.String(), want)
	}
	if episodes, failures := e.Counts(); episodes != 2 || failures != 4 {
		t.Errorf("Counts: %d episodes, %d failures; want 2, 4", episodes, failures)
	}
}
