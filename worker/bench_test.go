package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub/pubsubtest"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

// benchSlots is how many slots the benchmark centres have; each can take
// more bookings than any run makes, so every push confirms.
const benchSlots = 8

// benchPeople numbers the people across every run of every benchmark, so a
// person is never a duplicate of one from an earlier round.
var benchPeople atomic.Int64

type benchFixture struct {
	pool    *pgxpool.Pool
	handler http.Handler
}

// newBenchFixture gives a benchmark its own database, sized like production
// (DATABASE_MAX_CONNS defaults to 8), and its own Redis db.
func newBenchFixture(b *testing.B, opts ...worker.Option) benchFixture {
	b.Helper()
	ctx := context.Background()
	pool, err := postgres.Open(ctx, postgres.Config{URL: testenv.DatabaseURL(b), MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	rows := make([]listing.SlotRow, benchSlots)
	for i := range rows {
		// Capacity past what a seed file may hold, so no run, however
		// long, fills a slot.
		rows[i] = listing.SlotRow{CenterID: fmt.Sprintf("sel-%03d", 1+i/2), SlotID: fmt.Sprintf("slot-%d", i),
			Time: []string{"08:00-13:00", "14:00-18:00"}[i%2], Capacity: 1 << 30}
	}
	testenv.MustSeed(b, pool, rows...)
	statuses := redis.NewStatuses(testenv.NewRedis(b), time.Hour)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return benchFixture{pool: pool, handler: worker.NewHandler(log, "bench", postgres.NewBookings(pool, pii.Dev()), statuses, append(opts, worker.WithoutPushAuth())...)}
}

// bodies makes n push bodies ahead of the timer, each for a new person
// whose first preference is picked by first(i); the JSON and base64 work is
// the API's and Pub/Sub's, not the worker's.
func bodies(b *testing.B, n int, first func(i int) int) [][]byte {
	b.Helper()
	out := make([][]byte, n)
	for i := range out {
		p := int(benchPeople.Add(1))
		s := first(i)
		req := testenv.NewRequest(p, fmt.Sprintf("slot-%d", s), fmt.Sprintf("slot-%d", (s+1)%benchSlots))
		// Without attributes, as this benchmark always pushed, so its
		// figures compare with earlier runs.
		out[i] = pubsubtest.Envelope(b, pubsubtest.Message{ID: fmt.Sprintf("bench-%d", p), Data: pubsubtest.JSON(b, req)})
	}
	return out
}

// statusWriter keeps only the status; the worker's answers have no body
// worth keeping.
type statusWriter struct {
	h      http.Header
	status int
}

func (w *statusWriter) Header() http.Header         { return w.h }
func (w *statusWriter) WriteHeader(code int)        { w.status = code }
func (w *statusWriter) Write(p []byte) (int, error) { return len(p), nil }

func (f benchFixture) push(b *testing.B, body []byte) {
	w := &statusWriter{h: http.Header{}}
	f.handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, worker.PushPath, bytes.NewReader(body)))
	if w.status != http.StatusNoContent {
		b.Errorf("push: got %d, want 204", w.status)
	}
}

// confirmedAll checks the run did what it timed: every push a confirmed
// booking, not a fast failure.
func (f benchFixture) confirmedAll(b *testing.B, n int) {
	b.Helper()
	var got int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM bookings WHERE status = 'confirmed'`).Scan(&got); err != nil {
		b.Fatal(err)
	}
	if got != n {
		b.Fatalf("confirmed bookings: got %d, want %d", got, n)
	}
}

// pushAllConcurrently times msgs pushed by about the given number of
// goroutines, reports bookings/s, and checks every one was confirmed.
func (f benchFixture) pushAllConcurrently(b *testing.B, msgs [][]byte, goroutines int) {
	var next atomic.Int64
	b.SetParallelism(max(1, (goroutines+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f.push(b, msgs[next.Add(1)-1])
		}
	})
	b.StopTimer()
	reportRate(b)
	f.confirmedAll(b, b.N)
}

func reportRate(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "bookings/s")
	}
}

// BenchmarkWorker_Book is one push after another: the latency of one
// booking transaction plus its status write.
func BenchmarkWorker_Book(b *testing.B) {
	f := newBenchFixture(b)
	msgs := bodies(b, b.N, func(i int) int { return i % benchSlots })
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		f.push(b, msgs[i])
	}
	b.StopTimer()
	reportRate(b)
	f.confirmedAll(b, b.N)
}

// BenchmarkWorker_BookParallel is about sixteen concurrent pushes, as Pub/Sub
// delivers them to one worker instance: "hot-slot" has everyone wanting the
// same slot, so bookings queue on its row lock; "spread" spreads them over
// every slot.
func BenchmarkWorker_BookParallel(b *testing.B) {
	const goroutines = 16
	cases := []struct {
		name  string
		first func(i int) int
	}{
		{"hot-slot", func(int) int { return 0 }},
		{"spread", func(i int) int { return i % benchSlots }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			f := newBenchFixture(b)
			msgs := bodies(b, b.N, tc.first)
			f.pushAllConcurrently(b, msgs, goroutines)
		})
	}
}
