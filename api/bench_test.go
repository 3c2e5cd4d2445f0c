package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/telemetry"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// benchStates are Malaysia's sixteen states and territories, so the /states
// document and its lookup are the size they are in production.
var benchStates = []string{
	"johor", "kedah", "kelantan", "kuala-lumpur", "labuan", "melaka", "negeri-sembilan", "pahang",
	"perak", "perlis", "pulau-pinang", "putrajaya", "sabah", "sarawak", "selangor", "terengganu",
}

// benchRows is a listing like the surge's: every state with three centres
// of 28 slots (two weeks, morning and afternoon), some of them full.
func benchRows() []listing.SlotRow {
	var rows []listing.SlotRow
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, st := range benchStates {
		for c := 1; c <= 3; c++ {
			center := fmt.Sprintf("%s-%03d", st, c)
			for s := range 28 {
				date := day.AddDate(0, 0, s/2).Format(time.DateOnly)
				half, hours := "am", "08:00-13:00"
				if s%2 == 1 {
					half, hours = "pm", "14:00-18:00"
				}
				rows = append(rows, listing.SlotRow{
					StateCode: st, StateName: st,
					CenterID: center, CenterName: "Dewan Serbaguna " + center, CenterAddress: "Jalan Besar, 40000 " + st,
					SlotID: center + "-" + date + "-" + half, Date: date, Time: hours,
					Capacity: 300, Booked: (s * 37) % 301,
				})
			}
		}
	}
	return rows
}

// benchRedis puts the rendered documents where the cache-fill loop would and
// returns the reader the API uses.
func benchRedis(b *testing.B) (*redis.Listings, listing.Documents) {
	b.Helper()
	docs, err := listing.RenderAll(benchRows(), time.Now(), listing.Documents{})
	if err != nil {
		b.Fatal(err)
	}
	listings := redis.NewListings(testenv.NewRedis(b))
	if err := listings.Write(context.Background(), docs, time.Now()); err != nil {
		b.Fatal(err)
	}
	return listings, docs
}

// sinkWriter is the cheapest ResponseWriter that still behaves like one: it
// keeps one header map across requests, so what the benchmark counts is the
// handler's allocations and not the recorder's.
type sinkWriter struct {
	h      http.Header
	status int
	n      int
}

func newSinkWriter() *sinkWriter { return &sinkWriter{h: make(http.Header, 8)} }

func (w *sinkWriter) Header() http.Header { return w.h }
func (w *sinkWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *sinkWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

// reset readies the writer for the next request; clear keeps the map's
// buckets, so it does not allocate.
func (w *sinkWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

type hitCase struct {
	name   string
	header map[string]string
	status int
	body   func(listing.Rendered) int
}

func hitCases(etag string) []hitCase {
	return []hitCase{
		{"plain", nil, http.StatusOK, func(r listing.Rendered) int { return len(r.Body) }},
		{"gzip", map[string]string{"Accept-Encoding": "gzip, deflate, br"}, http.StatusOK, func(r listing.Rendered) int { return len(r.Gzip) }},
		{"not-modified", map[string]string{"If-None-Match": etag}, http.StatusNotModified, func(listing.Rendered) int { return 0 }},
	}
}

func newBenchRequest(target string, header map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

func serveOnce(b *testing.B, h http.Handler, w *sinkWriter, r *http.Request, status, n int) {
	b.Helper()
	w.reset()
	h.ServeHTTP(w, r)
	if w.status != status || w.n != n {
		b.Fatalf("got status %d and %d bytes, want %d and %d bytes", w.status, w.n, status, n)
	}
}

// BenchmarkListPPV_CachedHit is the request that takes the surge: a state's
// listing already in the micro-cache. It should allocate nothing.
func BenchmarkListPPV_CachedHit(b *testing.B) {
	listings, docs := benchRedis(b)
	doc := docs.ByState["selangor"]
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A TTL far beyond the run keeps every iteration a hit; refills are
	// what BenchmarkListPPV_Router shows.
	benchHits(b, handleListPPV(log, newMicroCache(log, listings, time.Hour)), doc)
}

// benchHits times h answering each of hitCases' requests for doc, one
// sub-benchmark per case, and checks the last answer.
func benchHits(b *testing.B, h http.Handler, doc listing.Rendered) {
	for _, tc := range hitCases(doc.ETag) {
		b.Run(tc.name, func(b *testing.B) {
			w, r := newSinkWriter(), newBenchRequest("/listppv?state=selangor", tc.header)
			want := tc.body(doc)
			serveOnce(b, h, w, r, tc.status, want) // warm

			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, r)
			}
			if w.status != tc.status || w.n != want {
				b.Fatalf("last response: got status %d and %d bytes, want %d and %d bytes", w.status, w.n, tc.status, want)
			}
		})
	}
}

// BenchmarkListPPV_Parallel is the cached hit from many goroutines at once,
// where the micro-cache's read lock is shared by every request.
func BenchmarkListPPV_Parallel(b *testing.B) {
	listings, docs := benchRedis(b)
	doc := docs.ByState["selangor"]
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := handleListPPV(log, newMicroCache(log, listings, time.Hour))
	serveOnce(b, h, newSinkWriter(), newBenchRequest("/listppv?state=selangor", nil), http.StatusOK, len(doc.Body))

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w, r := newSinkWriter(), newBenchRequest("/listppv?state=selangor", map[string]string{"Accept-Encoding": "gzip"})
		served := false
		for pb.Next() {
			w.reset()
			h.ServeHTTP(w, r)
			served = true
		}
		// A goroutine may get no iterations at all when b.N is small.
		if served && (w.status != http.StatusOK || w.n != len(doc.Gzip)) {
			b.Errorf("last response: got status %d and %d bytes, want 200 and %d bytes", w.status, w.n, len(doc.Gzip))
		}
	})
}

// BenchmarkListPPV_Router is the same hit through everything NewServer puts
// in front of the handler, with the production micro-cache TTL (1s), so
// refills from Redis are part of the cost.
func BenchmarkListPPV_Router(b *testing.B) {
	rdb := testenv.NewRedis(b)
	listings, docs := benchRedis(b)
	doc := docs.ByState["selangor"]
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	benchHits(b, NewServer(log, listings, nil, redis.NewStatuses(rdb, time.Hour), Options{}), doc)
}

// BenchmarkListPPV_RouterTelemetry is BenchmarkListPPV_Router without
// (off, the baseline) and with telemetry in the request's context (on: the
// SDK with a Prometheus reader, what every request pays whichever exporter
// reads it), side by side in one run: the instrumentation's cost on the
// surge path.
func BenchmarkListPPV_RouterTelemetry(b *testing.B) {
	rdb := testenv.NewRedis(b)
	listings, docs := benchRedis(b)
	doc := docs.ByState["selangor"]
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := NewServer(log, listings, nil, redis.NewStatuses(rdb, time.Hour), Options{})
	tel, err := telemetry.New(context.Background(), telemetry.Config{Exporter: "prometheus", TraceRatio: 0.01, Interval: time.Minute}, "api", "bench")
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		ctx  context.Context
	}{{"off", context.Background()}, {"on", telemetry.NewContext(context.Background(), tel)}} {
		b.Run(mode.name, func(b *testing.B) {
			w := newSinkWriter()
			r := newBenchRequest("/listppv?state=selangor", map[string]string{"Accept-Encoding": "gzip"}).WithContext(mode.ctx)
			serveOnce(b, h, w, r, http.StatusOK, len(doc.Gzip))
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, r)
			}
		})
	}
}
