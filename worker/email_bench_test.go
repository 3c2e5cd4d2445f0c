package worker_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

// BenchmarkWorker_BookWithEmailRequest is BookParallel's "spread" with an
// e-mail request published (to pstest) and acknowledged before each push is
// answered: the price of at-least-once e-mail on the booking path.
func BenchmarkWorker_BookWithEmailRequest(b *testing.B) {
	_, psc := testenv.NewPubSub(b, "bench")
	if err := pubsub.EnsureTopic(b.Context(), psc, "email-topic"); err != nil {
		b.Fatal(err)
	}
	pub := pubsub.NewRequestPublisher[email.Request](psc, "email-topic")
	b.Cleanup(pub.Stop)
	f := newBenchFixture(b, worker.WithEmailRequests(pub))
	msgs := bodies(b, b.N, func(i int) int { return i % benchSlots })
	f.pushAllConcurrently(b, msgs, 16)
}

// BenchmarkEmailPush_Send is /push/email end to end against the SendGrid
// stand-in on loopback: render, lock, send, record. SendGrid's own latency
// (typically 100-300 ms) is not in it.
func BenchmarkEmailPush_Send(b *testing.B) {
	pool := testenv.NewPool(b)
	h, srv := emailHandler(b, pool)
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = envelope(b, fmt.Sprintf("e%d", i), emailRequest(notify.KindConfirmed))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if got := push(b, h, worker.EmailPushPath, bodies[i]); got != http.StatusNoContent {
			b.Fatalf("push: got %d", got)
		}
	}
	b.StopTimer()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "emails/s")
	}
	if srv.Calls() != b.N {
		b.Fatalf("SendGrid calls: got %d, want %d", srv.Calls(), b.N)
	}
}
