package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

// `vaxbook worker` with nothing said about PUSH_AUTH checks tokens: a push
// without one is refused on every push route, and the probes still answer.
func TestRun_WorkerRefusesPushesWithoutAToken(t *testing.T) {
	t.Parallel()
	configured := map[string]string{"PORT": freePort(t), "DATABASE_URL": testenv.DatabaseURL(t), "REDIS_URL": testenv.RedisURL(t),
		"PUSH_AUDIENCE": "https://worker-1.asia-southeast1.run.app", "PUSH_SERVICE_ACCOUNT": "vaxbook-push@p.iam.gserviceaccount.com",
		"ID_PEPPER": strings.Repeat("p", 32)}
	// With only what the contract says a worker needs, it starts and its
	// probes answer, but it takes no push: authentication is on and knows
	// no push identity.
	bare := map[string]string{"PORT": freePort(t), "DATABASE_URL": testenv.DatabaseURL(t), "REDIS_URL": testenv.RedisURL(t)}
	for _, env := range []map[string]string{configured, bare} {
		refusesEveryPush(t, startRole(t, env, "/readyz", "worker"))
	}
}

func refusesEveryPush(t *testing.T, base string) {
	t.Helper()
	for _, path := range []string{worker.PushPath, worker.EmailPushPath, "/push/registrations"} {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(`{"message":{"data":"e30=","messageId":"1"}}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s without a token: got %d, want 401", path, resp.StatusCode)
		}
	}
}
