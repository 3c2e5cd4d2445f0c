package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/postgres"
)

// A malformed DATABASE_URL stops the process with a line that ends up in
// logs: it must name the variable and not print the password (issue 11).
func TestNew_MalformedURLErrorHidesThePassword(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"postgres://u:s3cret-pw@ho st:5432/x",
		"postgres://u:s3cret-pw@host:port/x",
		"postgres://u:s3cret-pw%zz@host/x",
		"postgres://u:s3cret-pw@host/x?sslmode=bogus",
		"host=x password=s3cret-pw port=abc",
	} {
		_, err := postgres.New(context.Background(), postgres.Config{URL: url})
		if err == nil {
			t.Fatalf("New(%q): no error", url)
		}
		if strings.Contains(err.Error(), "s3cret") || !strings.HasPrefix(err.Error(), "DATABASE_URL: ") {
			t.Errorf("New(%q): got %q, want DATABASE_URL: without the password", url, err)
		}
	}
}
