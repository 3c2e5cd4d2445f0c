package pubsub_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/pubsub/pubsubtest"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestRelay_PostsPushEnvelopesAndRetriesUntil2xx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, psc := testenv.NewPubSub(t, "p")
	if err := pubsub.EnsureTopic(ctx, psc, "t"); err != nil {
		t.Fatal(err)
	}
	sub, err := pubsub.EnsurePullSubscription(ctx, psc, "t", "s", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu        sync.Mutex
		envelopes []pubsub.PushEnvelope
		answered  = make(chan struct{})
	)
	worker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		env, err := pubsub.DecodePush(raw)
		if err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("push body %s: %v", raw, err)
		}
		mu.Lock()
		envelopes = append(envelopes, env)
		n := len(envelopes)
		mu.Unlock()
		if n < 3 { // the first two attempts fail, as a busy worker would
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		close(answered)
	}))
	defer worker.Close()

	pub := pubsub.NewPublisher(psc, "t")
	defer pub.Stop()
	req := booking.Request{Reference: booking.NewReference(), State: "selangor", Preferences: []string{"a"}}
	if err := pub.Publish(ctx, req); err != nil {
		t.Fatal(err)
	}

	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- pubsub.Relay(rctx, slog.New(slog.NewTextHandler(io.Discard, nil)), psc, sub, worker.URL, http.DefaultClient)
	}()
	select {
	case <-answered:
	case <-time.After(60 * time.Second):
		t.Fatal("the relay never got a 2xx")
	}
	// Let the ack reach the server, then stop the relay.
	deadline := time.Now().Add(30 * time.Second)
	for srv.Messages()[0].Acks == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("relay: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(envelopes) != 3 {
		t.Fatalf("push attempts: got %d, want 3", len(envelopes))
	}
	env := envelopes[2]
	var got booking.Request
	if err := json.Unmarshal(env.Message.Data, &got); err != nil || got.Reference != req.Reference {
		t.Errorf("data: got %s (%v), want the published request", env.Message.Data, err)
	}
	if env.Subscription != sub || env.Message.ID() == "" || env.Message.Attributes["reference"] != req.Reference {
		t.Errorf("envelope: got %+v", env)
	}
	if m := srv.Messages()[0]; m.Acks != 1 {
		t.Errorf("acks: got %d, want 1", m.Acks)
	}
}

func TestDecodePush_ReadsWhatPushSubscriptionsSend(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 7, 0, 0, 123456789, time.UTC)
	data := []byte(`{"reference":"ABCDEFGHJK234567"}`)
	env, err := pubsub.DecodePush(pubsubtest.Envelope(t, pubsubtest.Message{
		ID: "m1", Data: data, Attributes: map[string]string{"reference": "ABCDEFGHJK234567"},
		PublishTime: at, DeliveryAttempt: 3,
	}))
	if err != nil {
		t.Fatal(err)
	}
	m := env.Message
	if m.ID() != "m1" || string(m.Data) != string(data) || m.Attributes["reference"] != "ABCDEFGHJK234567" {
		t.Errorf("message: got id %q data %s attributes %v", m.ID(), m.Data, m.Attributes)
	}
	if got, err := time.Parse(time.RFC3339Nano, m.PublishTime); err != nil || !got.Equal(at) {
		t.Errorf("publish time: got %q (%v), want %s", m.PublishTime, err, at)
	}
	if env.Subscription != pubsubtest.Subscription || env.DeliveryAttempt != 3 {
		t.Errorf("envelope: got subscription %q attempt %d", env.Subscription, env.DeliveryAttempt)
	}
}

// Messages the worker refuses every time go back to Pub/Sub after a few
// tries: RelayConcurrency of them must not hold every slot for ever while a
// message the worker would take waits behind them.
func TestRelay_MessagesThatKeepFailingDoNotStopTheOthers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, psc := testenv.NewPubSub(t, "p")
	if err := pubsub.EnsureTopic(ctx, psc, "t"); err != nil {
		t.Fatal(err)
	}
	sub, err := pubsub.EnsurePullSubscription(ctx, psc, "t", "s", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pub := pubsub.NewPublisher(psc, "t")
	defer pub.Stop()
	poison := map[string]bool{}
	for range pubsub.RelayConcurrency {
		req := booking.Request{Reference: booking.NewReference(), State: "selangor", Preferences: []string{"a"}}
		poison[req.Reference] = true
		if err := pub.Publish(ctx, req); err != nil {
			t.Fatal(err)
		}
	}

	var (
		mu        sync.Mutex
		refused   = map[string]bool{}
		slotsFull = make(chan struct{})
		delivered = make(chan struct{})
		fullOnce  sync.Once
		goodOnce  sync.Once
	)
	worker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		env, _ := pubsub.DecodePush(raw)
		var req booking.Request
		_ = json.Unmarshal(env.Message.Data, &req)
		if poison[req.Reference] {
			mu.Lock()
			refused[req.Reference] = true
			if len(refused) == len(poison) {
				fullOnce.Do(func() { close(slotsFull) })
			}
			mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		goodOnce.Do(func() { close(delivered) })
	}))
	defer worker.Close()

	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- pubsub.Relay(rctx, slog.New(slog.NewTextHandler(io.Discard, nil)), psc, sub, worker.URL, http.DefaultClient)
	}()
	// Every slot now holds a message the worker refuses; only then does
	// the one it would take arrive.
	select {
	case <-slotsFull:
	case <-time.After(60 * time.Second):
		t.Fatal("the relay never pushed every refused message")
	}
	good := booking.Request{Reference: booking.NewReference(), State: "selangor", Preferences: []string{"a"}}
	if err := pub.Publish(ctx, good); err != nil {
		t.Fatal(err)
	}
	select {
	case <-delivered:
	case <-time.After(60 * time.Second):
		t.Error("the message the worker takes was never delivered behind the ones it refuses")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("relay: %v", err)
	}
}
