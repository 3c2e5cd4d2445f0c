package devstack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/queue"
)

func TestStart_RegistrationIsRelayedToTheWorkerAndQueued(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error"}, false)
	pool, err := postgres.Open(context.Background(), postgres.Config{URL: s.DatabaseURL(), MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := postgres.SetStateMode(t.Context(), pool, "perlis", queue.ModeQueue, postgres.OpensAtChange{}); err != nil {
		t.Fatal(err)
	}
	body := `{"state":"perlis","name":"Siti","id_number":"900101-14-5678","phone":"0123456789","email":"siti@example.com"}`
	var ref string
	deadline := time.Now().Add(60 * time.Second)
	// The mode reaches the API with the next cache-fill pass.
	for ref == "" {
		resp, err := http.Post(s.URL()+"/register", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var ans struct{ Reference, Status string }
		_ = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			ref = ans.Reference
		case resp.StatusCode != http.StatusConflict || time.Now().After(deadline):
			t.Fatalf("POST /register: got %d", resp.StatusCode)
		default:
			time.Sleep(100 * time.Millisecond)
		}
	}
	for {
		resp, err := http.Get(s.URL() + "/registration/" + ref)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if got["status"] == "queued" {
			if got["ahead"] != float64(0) || got["state"] != "perlis" {
				t.Errorf("GET /registration: got %v, want queued in perlis with 0 ahead", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /registration: still %v after 10s, want queued", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
