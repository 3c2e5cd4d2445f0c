package devstack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/devstack"
)

// call sends body (nil: a GET) to the stack and decodes the answer into out.
func call(t *testing.T, method, u, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// eventually polls f every 100ms until it says done, or fails after 60s
// saying what was last seen.
func eventually(t *testing.T, what string, f func() (done bool, seen any)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		done, seen := f()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v after 60s", what, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var inviteLink = regexp.MustCompile(`/\?invite=([A-Za-z0-9_%-]+)`)

// TestStart_DemoQueueStateRegisterInviteBookAndSurviveARedisWipe: a fresh
// `vaxbook dev` has Putrajaya in queue mode, opened already; a person who
// registers there finds the invitation in /dev/mail, its link's token
// books with /submit, and the registration says booked; when Redis then
// loses everything, the invitation loop writes it back and the used token
// is refused again without the worker.
func TestStart_DemoQueueStateRegisterInviteBookAndSurviveARedisWipe(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CACHEFILL_INTERVAL": "200ms", "INVITE_INTERVAL": "200ms", "LOG_LEVEL": "error"}
	s := start(t, env, false)
	state := devstack.DemoQueueState

	var states struct {
		States []struct {
			Code, Mode string
			OpensAt    *time.Time `json:"opens_at"`
		}
	}
	call(t, "GET", s.URL()+"/states", "", &states)
	queueStates := 0
	for _, st := range states.States {
		if st.Mode == "queue" {
			queueStates++
			if st.Code != state || st.OpensAt == nil || !st.OpensAt.Before(time.Now()) {
				t.Errorf("queue state %s opening %v: want only %s, opened already", st.Code, st.OpensAt, state)
			}
		}
	}
	if queueStates != 1 {
		t.Fatalf("%d queue states in the demo data, want 1 (%s): %+v", queueStates, state, states)
	}

	const ic = "900101-14-5678"
	var reg struct{ Reference, Status string }
	body := `{"state":"` + state + `","name":"Siti Aminah","id_number":"` + ic + `","phone":"0123456789","email":"siti.demo@example.com","lang":"en"}`
	if code := call(t, "POST", s.URL()+"/register", body, &reg); code != http.StatusAccepted {
		t.Fatalf("POST /register in %s: got %d", state, code)
	}

	var token string
	eventually(t, "the invitation in /dev/mail", func() (bool, any) {
		var box struct {
			Messages []struct {
				Message map[string]any `json:"message"`
			}
		}
		call(t, "GET", s.URL()+"/dev/mail.json", "", &box)
		for _, m := range box.Messages {
			b, _ := json.Marshal(m.Message)
			text := string(b)
			if strings.Contains(text, "siti.demo@example.com") && strings.Contains(text, s.URL()+"/?invite=") {
				if sub := inviteLink.FindStringSubmatch(text); sub != nil {
					token, _ = url.QueryUnescape(sub[1])
					return true, nil
				}
			}
		}
		return false, box
	})

	var listing struct {
		Centers []struct {
			Slots []struct {
				ID        string
				Available int
			}
		}
	}
	call(t, "GET", s.URL()+"/listppv?state="+state, "", &listing)
	var slot string
	for _, c := range listing.Centers {
		for _, sl := range c.Slots {
			if slot == "" && sl.Available > 0 {
				slot = sl.ID
			}
		}
	}
	if slot == "" {
		t.Fatalf("no slot with room in %s: %+v", state, listing)
	}
	book := `{"state":"` + state + `","id_number":"` + ic + `","preferences":["` + slot + `"],"invitation":"` + token + `"}`
	var sub struct{ Reference, Status string }
	if code := call(t, "POST", s.URL()+"/submit", book, &sub); code != http.StatusAccepted {
		t.Fatalf("POST /submit with the invitation: got %d", code)
	}
	eventually(t, "the booking confirmed", func() (bool, any) {
		var st struct{ Status string }
		call(t, "GET", s.URL()+"/status/"+sub.Reference, "", &st)
		return st.Status == "confirmed", st
	})
	booked := func() (bool, any) {
		var got struct {
			Status           string
			BookingReference string `json:"booking_reference"`
		}
		call(t, "GET", s.URL()+"/registration/"+reg.Reference, "", &got)
		return got.Status == "booked" && got.BookingReference == sub.Reference, got
	}
	eventually(t, "the registration booked", booked)

	opts, err := goredis.ParseURL(env["REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the registration booked after a Redis wipe", booked)
	eventually(t, "the used link refused after the wipe", func() (bool, any) {
		var e struct{ Error struct{ Code string } }
		code := call(t, "POST", s.URL()+"/submit", book, &e)
		return code == http.StatusConflict && e.Error.Code == "invitation_used", e
	})
}
