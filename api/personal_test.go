package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/redis"
)

// A CDN in front of the API keeps whatever it is not told to drop: a 404
// for a reference the worker has not written yet would be served for
// minutes after the booking is decided. Every answer of /status and
// /registration, errors included, says no-store.
func TestPersonalAnswers_AreNeverStoredErrorsIncluded(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t, registrationsTopic, func(o *api.Options) { o.Abuse = testAbuse(t, "1/m:1", false) })
	ref := booking.NewReference()
	if err := redis.NewStatuses(e.rdb, time.Hour).SetPending(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	reg := booking.NewReference()
	if err := e.records.Set(t.Context(), queue.Record{Reference: reg, State: "perlis", Status: queue.StatusReceived}); err != nil {
		t.Fatal(err)
	}

	// Redis unreachable: the reads fail and the answer is 503.
	down := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = down.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	broken := api.NewServer(log, redis.NewListings(down), nil, redis.NewStatuses(down, time.Hour),
		api.Options{Queue: api.Queue{Publisher: stubQueue{}, Records: redis.NewRegistrations(down, time.Hour)}})

	for _, tc := range []struct {
		name   string
		h      http.Handler
		target string
		xff    string
		code   int
	}{
		{"status found", e.handler, "/status/" + ref, "192.0.2.1", 200},
		{"status malformed", e.handler, "/status/nope", "192.0.2.2", 400},
		{"status unknown", e.handler, "/status/" + booking.NewReference(), "192.0.2.3", 404},
		{"status rate-limited", e.handler, "/status/" + ref, "192.0.2.1", 429},
		{"status with no reference", e.handler, "/status/", "192.0.2.4", 404},
		{"status redis down", broken, "/status/" + ref, "192.0.2.5", 503},
		{"registration found", e.handler, "/registration/" + reg, "192.0.2.1", 200},
		{"registration malformed", e.handler, "/registration/nope", "192.0.2.1", 400},
		{"registration unknown", e.handler, "/registration/" + booking.NewReference(), "192.0.2.1", 404},
		{"registration redis down", broken, "/registration/" + reg, "192.0.2.1", 503},
	} {
		w := get(tc.h, tc.target, tc.xff)
		if w.Code != tc.code || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: GET %s: got %d Cache-Control %q, want %d no-store: %s", tc.name, tc.target, w.Code, w.Header().Get("Cache-Control"), tc.code, w.Body)
		}
	}
	// The rest keep their own caching: the listing's short public one.
	if w := get(e.handler, "/listppv?state=selangor", "192.0.2.9"); w.Header().Get("Cache-Control") == "no-store" {
		t.Errorf("/listppv: got Cache-Control no-store, want its public caching")
	}
}
