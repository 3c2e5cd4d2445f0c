package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pubsub/pubsubtest"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

// In `vaxbook dev` the API and the worker share one port: the API's cap on
// requests in flight must not stop the worker deciding.
func TestStart_PushesAreDecidedWhileTheAPIShedsLoad(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error", "API_MAX_IN_FLIGHT": "1"}, false)
	slot := firstSlot(t, s.URL(), "selangor")
	rdb, err := redis.Open(context.Background(), s.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	statuses := redis.NewStatuses(rdb, time.Hour)

	// A request whose body never arrives holds the API's one place until
	// the server's read timeout; a round whose hold ran out before the
	// push was checked proves nothing, so it is tried again.
	for round := 1; ; round++ {
		release := holdAPI(t, s.Addr())
		waitShed(t, s.URL())
		req := testenv.NewRequest(round, slot)
		data, _ := json.Marshal(req)
		resp, err := http.Post(s.URL()+worker.PushPath, "application/json",
			bytes.NewReader(pubsubtest.Envelope(t, pubsubtest.Message{ID: fmt.Sprint("m", round), Data: data})))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		stillShed := shed(t, s.URL())
		release()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("push while the API sheds: got %d, want 2xx", resp.StatusCode)
		}
		rec, err := statuses.Get(context.Background(), req.Reference)
		if err != nil || rec.Status != booking.StatusConfirmed {
			t.Fatalf("status of the pushed booking: got %+v (%v), want confirmed", rec, err)
		}
		if stillShed {
			return
		}
		if round == 3 {
			t.Fatal("three times the held request ran out before the push was checked")
		}
	}
}

func firstSlot(t *testing.T, base, state string) string {
	t.Helper()
	resp, err := http.Get(base + "/listppv?state=" + state)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Centers []struct {
			Slots []struct {
				ID   string `json:"id"`
				Open bool   `json:"open"`
			} `json:"slots"`
		} `json:"centers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Centers {
		for _, sl := range c.Slots {
			if sl.Open {
				return sl.ID
			}
		}
	}
	t.Fatalf("no open slot in %s", state)
	return ""
}

// holdAPI sends the headers of a submission and none of its body.
func holdAPI(t *testing.T, addr string) (release func()) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprint(conn, "POST /submit HTTP/1.1\r\nHost: dev\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	return func() { _ = conn.Close() }
}

// shed reports whether the API answers 503 overloaded.
func shed(t *testing.T, base string) bool {
	t.Helper()
	resp, err := http.Get(base + "/states")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(body.String(), `"overloaded"`)
}

func waitShed(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !shed(t, base) {
		if time.Now().After(deadline) {
			t.Fatal("the API never shed with its one place held")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
