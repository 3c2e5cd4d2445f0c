package redis

import (
	"context"
	"strings"
	"testing"
)

// A malformed REDIS_URL stops the process with a line that ends up in logs:
// it must name the variable and not print the password (issue 11).
func TestNew_MalformedURLErrorHidesThePassword(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"redis://:s3cret-pw@ho st:6379/0",
		"redis://:s3cret-pw@host:port/0",
		"redis://:s3cret-pw%zz@host:6379/0",
		"redis://user:s3cret-pw@host:6379/db",
	} {
		_, err := New(url)
		if err == nil {
			t.Fatalf("New(%q): no error", url)
		}
		if strings.Contains(err.Error(), "s3cret") || !strings.HasPrefix(err.Error(), "REDIS_URL: ") {
			t.Errorf("New(%q): got %q, want REDIS_URL: without the password", url, err)
		}
		if _, err := Open(context.Background(), url); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q): got %v, want an error without the password", url, err)
		}
	}
}
