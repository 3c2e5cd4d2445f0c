package retention_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/retention"
)

func TestConfig_DefaultsAndNamesTheVariableAtFault(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) retention.Config {
		var c retention.Config
		if err := config.Load(context.Background(), func(k string) string { return env[k] }, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	p, err := load(nil).Policy()
	if err != nil || p.After.Hours() != 720 || p.Rejected.Hours() != 336 {
		t.Errorf("defaults: %+v %v, want 30 days and 14 days", p, err)
	}
	for name, env := range map[string]map[string]string{
		"RETENTION_AFTER":    {"RETENTION_AFTER": "1h"},
		"REJECTED_RETENTION": {"REJECTED_RETENTION": "1s"},
	} {
		if _, err := load(env).Policy(); err == nil || !strings.HasPrefix(err.Error(), "configuration: "+name) {
			t.Errorf("%v: got %v, want an error naming %s", env, err, name)
		}
	}
}
