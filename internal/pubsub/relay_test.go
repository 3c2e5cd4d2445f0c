package pubsub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"

	vaxpubsub "cloud.google.com/go/pubsub/v2"

	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// backlog is a topic with a relay subscription and n messages waiting on
// it, each data a distinct "m<i>".
func backlog(tb testing.TB, n int) (*pstest.Server, *vaxpubsub.Client, string) {
	tb.Helper()
	ctx := context.Background()
	srv, psc := testenv.NewPubSub(tb, "p")
	if err := pubsub.EnsureTopic(ctx, psc, "t"); err != nil {
		tb.Fatal(err)
	}
	sub, err := pubsub.EnsurePullSubscription(ctx, psc, "t", "s", 60*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	publish(tb, psc, n)
	return srv, psc, sub
}

// publish puts n messages on the topic, each data a distinct "m<i>".
func publish(tb testing.TB, psc *vaxpubsub.Client, n int) {
	tb.Helper()
	for i := 0; i < n; i += 1000 {
		var batch []*pubsubpb.PubsubMessage
		for j := i; j < min(n, i+1000); j++ {
			batch = append(batch, &pubsubpb.PubsubMessage{Data: fmt.Appendf(nil, `"m%d"`, j)})
		}
		if _, err := psc.TopicAdminClient.Publish(context.Background(), &pubsubpb.PublishRequest{Topic: "projects/p/topics/t", Messages: batch}); err != nil {
			tb.Fatal(err)
		}
	}
}

// sink is a push endpoint that refuses everything until opened, then
// counts the distinct messages it takes.
type sink struct {
	open     atomic.Bool
	attempts atomic.Int64
	// gate, when set, holds every push until it is closed, as a worker
	// that has stalled would.
	gate chan struct{}
	mu   sync.Mutex
	seen map[string]bool
	all  chan struct{}
	want int
}

func newSink(want int) *sink {
	return &sink{seen: map[string]bool{}, all: make(chan struct{}), want: want}
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.attempts.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	if !s.open.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	env, err := pubsub.DecodePush(raw)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var data string
	_ = json.Unmarshal(env.Message.Data, &data)
	s.mu.Lock()
	s.seen[data] = true
	if len(s.seen) == s.want {
		close(s.all)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func startRelay(tb testing.TB, psc *vaxpubsub.Client, sub, url string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = pubsub.Relay(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), psc, sub, url, pubsub.NewRelayClient())
	}()
	stop = func() { cancel(); <-done }
	tb.Cleanup(stop)
	return stop
}

// acked waits until pstest has every message acknowledged once.
func acked(t testing.TB, srv *pstest.Server) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		all := true
		for _, m := range srv.Messages() {
			all = all && m.Acks > 0
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the relay did not take the messages out of pstest within 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pstest drops a message nobody holds a lease on once it is ten minutes
// old. A backlog the worker cannot take for longer than that must still be
// delivered, every message of it.
func TestRelay_BacklogOutlivesPstestsTenMinuteRetention(t *testing.T) {
	t.Parallel()
	const n = 500
	srv, psc, sub := backlog(t, n)
	s := newSink(n)
	worker := httptest.NewServer(s)
	defer worker.Close()
	startRelay(t, psc, sub, worker.URL)

	acked(t, srv)
	// The worker has been refusing for eleven minutes, as pstest sees it.
	srv.SetTimeNowFunc(func() time.Time { return time.Now().Add(11 * time.Minute) })
	s.open.Store(true)
	select {
	case <-s.all:
	case <-time.After(60 * time.Second):
		s.mu.Lock()
		defer s.mu.Unlock()
		t.Fatalf("delivered %d of %d messages once the worker took them", len(s.seen), n)
	}
}

// A relay that stops with messages undelivered gives them back to the
// topic, where a Pub/Sub that outlives it keeps them for the next relay.
func TestRelay_StoppingPublishesTheUndeliveredAgain(t *testing.T) {
	t.Parallel()
	const n = 300
	srv, psc, sub := backlog(t, n)
	refusing := httptest.NewServer(newSink(n))
	defer refusing.Close()
	stop := startRelay(t, psc, sub, refusing.URL)
	acked(t, srv)
	stop()
	if got := len(srv.Messages()); got != 2*n {
		t.Fatalf("pstest holds %d messages after the relay stopped, want the %d published and %d again", got, n, n)
	}

	s := newSink(n)
	s.open.Store(true)
	worker := httptest.NewServer(s)
	defer worker.Close()
	startRelay(t, psc, sub, worker.URL)
	select {
	case <-s.all:
	case <-time.After(60 * time.Second):
		s.mu.Lock()
		defer s.mu.Unlock()
		t.Fatalf("the next relay delivered %d of %d messages", len(s.seen), n)
	}
}

// BenchmarkRelay_Backlog is the cost of delivering each message of a
// backlog, at 1,000 and at 100,000 messages, side by side: it must not grow
// with the backlog. The backlog builds up as it does in a surge, published
// while the relay runs and the worker has stalled; once every message is in
// the relay's custody the worker takes pushes again, and the clock runs
// until the last one is delivered. CPU is the process's (relay, pstest and
// the push endpoint), so other load on the machine counts less than in the
// wall figures.
//
//	go test -run x -bench Relay_Backlog -benchtime 1x ./internal/pubsub/
func BenchmarkRelay_Backlog(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("backlog=%d", n), func(b *testing.B) {
			var wall, cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				srv, psc, sub := backlog(b, 0)
				s := newSink(n)
				s.open.Store(true)
				s.gate = make(chan struct{})
				worker := httptest.NewServer(s)
				stop := startRelay(b, psc, sub, worker.URL)
				publish(b, psc, n)
				acked(b, srv)
				b.StartTimer()
				start, cpu0 := time.Now(), cpuTime()
				close(s.gate)
				select {
				case <-s.all:
				case <-time.After(10 * time.Minute):
					b.Fatalf("delivered %d of %d", len(s.seen), n)
				}
				wall += time.Since(start)
				cpu += cpuTime() - cpu0
				b.StopTimer()
				stop()
				worker.Close()
				b.StartTimer()
			}
			msgs := float64(b.N * n)
			b.ReportMetric(float64(wall.Microseconds())/msgs, "wall-µs/msg")
			b.ReportMetric(float64(cpu.Microseconds())/msgs, "cpu-µs/msg")
			b.ReportMetric(msgs/wall.Seconds(), "msgs/s")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
