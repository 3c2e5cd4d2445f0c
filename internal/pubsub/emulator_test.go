package pubsub_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pubsub"
)

func TestEmulator_PushesToTheWorkerAndRefusesPublishesOnRequest(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e, err := pubsub.NewEmulator("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	pushed := make(chan string, 10)
	worker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		env, err := pubsub.DecodePush(raw)
		var req booking.Request
		if err == nil {
			err = json.Unmarshal(env.Message.Data, &req)
		}
		if err != nil || r.URL.Path != "/push/appointments" || env.Subscription != "projects/p/subscriptions/appointments-push" {
			t.Errorf("push to %s: %s (%v)", r.URL.Path, raw, err)
		}
		w.WriteHeader(http.StatusNoContent)
		pushed <- req.Reference
	}))
	defer worker.Close()

	rctx, cancel := context.WithCancel(ctx)
	relayed := make(chan error, 1)
	go func() {
		relayed <- e.RelayPushes(rctx, slog.New(slog.NewTextHandler(io.Discard, nil)), "p",
			[]pubsub.Push{{Topic: "appointments-topic", Subscription: "appointments-push", URL: worker.URL + "/push/appointments"}})
	}()
	defer func() {
		cancel()
		if err := <-relayed; err != nil {
			t.Errorf("RelayPushes: %v", err)
		}
	}()

	// A client of another process reaches it as PUBSUB_EMULATOR_HOST.
	c, err := pubsub.NewClient(ctx, "p", e.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, err := pubsub.SubscriptionExists(ctx, c, "appointments-push")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the push subscription was never created")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pub := pubsub.NewPublisher(c, "appointments-topic")
	defer pub.Stop()
	publishAndSeePushed := func(ref string) {
		t.Helper()
		if err := pub.Publish(ctx, booking.Request{Reference: ref}); err != nil {
			t.Fatalf("publish %s: %v", ref, err)
		}
		for {
			select {
			case got := <-pushed:
				// The client library keeps retrying a refused publish
				// past its caller's deadline, so it may arrive too.
				if got == ref {
					return
				}
				if got != "refused" {
					t.Errorf("pushed %s, want %s", got, ref)
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("%s was never pushed", ref)
			}
		}
	}
	publishAndSeePushed("first")

	e.FailPublishes(time.Hour)
	short, cancelShort := context.WithTimeout(ctx, time.Second)
	defer cancelShort()
	if err := pub.Publish(short, booking.Request{Reference: "refused"}); err == nil {
		t.Fatal("a publish succeeded while publishes were refused")
	}
	e.FailPublishes(0)
	publishAndSeePushed("after")
}
