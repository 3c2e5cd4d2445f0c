package devstack_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// TestStart_StatusesComeBackAfterARedisWipe: bookings decided before Redis
// lost everything show their status again without anyone resubmitting, and
// meanwhile GET /status says 503 status_restoring, never 404.
func TestStart_StatusesComeBackAfterARedisWipe(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error"}
	s := start(t, env, false)
	var doc struct {
		Centers []struct {
			Slots []struct {
				ID        string
				Available int
			}
		}
	}
	call(t, "GET", s.URL()+"/listppv?state=selangor", "", &doc)
	slot := doc.Centers[0].Slots[0].ID
	refs := map[string]string{} // reference → final status
	for i := range 4 {
		body := fmt.Sprintf(`{"state":"selangor","name":"Siti","id_number":"90010114567%d","phone":"0123456789","email":"siti@example.com","preferences":[%q]}`, i, slot)
		var a struct{ Reference string }
		if code := call(t, "POST", s.URL()+"/submit", body, &a); code != http.StatusAccepted {
			t.Fatalf("submit %d: %d", i, code)
		}
		refs[a.Reference] = ""
	}
	for ref := range refs {
		eventually(t, "booking "+ref+" decided", func() (bool, any) {
			var st struct{ Status string }
			call(t, "GET", s.URL()+"/status/"+ref, "", &st)
			refs[ref] = st.Status
			return st.Status != "" && st.Status != "pending", st
		})
	}

	opts, err := goredis.ParseURL(env["REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	for ref, want := range refs {
		eventually(t, "the status of "+ref+" back after the wipe", func() (bool, any) {
			var st struct {
				Status string
				Error  struct{ Code string }
			}
			code := call(t, "GET", s.URL()+"/status/"+ref, "", &st)
			if code != http.StatusOK && (code != http.StatusServiceUnavailable || st.Error.Code != "status_restoring") {
				t.Fatalf("GET /status/%s after the wipe: %d %+v, want 200 or 503 status_restoring", ref, code, st)
			}
			return code == http.StatusOK && st.Status == want, st
		})
	}
	var e struct{ Error struct{ Code string } }
	eventually(t, "an unknown reference unknown again", func() (bool, any) {
		return call(t, "GET", s.URL()+"/status/AAAAAAAAAAAAAAAA", "", &e) == http.StatusNotFound, e
	})
}
