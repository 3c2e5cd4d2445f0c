package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const topic = "appointments-topic"

// slotRows is a small listing: selangor with one open and one full slot at
// centre sel-001 on 2026-12-01, and perlis with no centres.
func slotRows() []listing.SlotRow {
	return append([]listing.SlotRow{{StateCode: "perlis", StateName: "Perlis"}}, testenv.SeedRows(
		listing.SlotRow{CenterName: "Dewan A", CenterAddress: "Jalan 1", SlotID: "sel-001-2026-12-01-am", Capacity: 10, Booked: 3},
		listing.SlotRow{CenterName: "Dewan A", CenterAddress: "Jalan 1", SlotID: "sel-001-2026-12-01-pm", Time: "14:00-18:00", Capacity: 5, Booked: 5},
	)...)
}

type env struct {
	logs     *logLines // what the API logged, JSON
	rdb      *goredis.Client
	commands *atomic.Int64 // Redis commands the API sent
	srv      *pstest.Server
	handler  http.Handler
	docs     listing.Documents
}

type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

func fill(t *testing.T, rdb *goredis.Client, rows []listing.SlotRow) listing.Documents {
	t.Helper()
	docs, err := listing.RenderAll(rows, time.Now(), listing.Documents{})
	if err != nil {
		t.Fatal(err)
	}
	if err := redis.NewListings(rdb).Write(context.Background(), docs, time.Now()); err != nil {
		t.Fatal(err)
	}
	return docs
}

type option func(*api.Options)

func newEnv(t *testing.T, filled bool, opts ...option) *env {
	t.Helper()
	rdb := testenv.NewRedis(t)
	e := &env{rdb: rdb, commands: new(atomic.Int64), logs: &logLines{}}
	if filled {
		e.docs = fill(t, rdb, slotRows())
	}
	rdb.AddHook(countHook{e.commands})
	srv, psc := testenv.NewPubSub(t, "test")
	e.srv = srv
	if err := pubsub.EnsureTopic(context.Background(), psc, topic); err != nil {
		t.Fatal(err)
	}
	pub := pubsub.NewPublisher(psc, topic)
	t.Cleanup(pub.Stop)
	o := api.Options{Project: "test"}
	for _, f := range opts {
		f(&o)
	}
	log := slog.New(slog.NewJSONHandler(e.logs, nil))
	e.handler = api.NewServer(log, redis.NewListings(rdb), pub, redis.NewStatuses(rdb, time.Hour), o)
	return e
}

// logLines keeps log output for a test to count lines in.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// count is how many lines at level say message.
func (l *logLines) count(level slog.Level, message string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range strings.Split(l.buf.String(), "\n") {
		var e struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Level == level.String() && e.Msg == message {
			n++
		}
	}
	return n
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (e *env) do(t *testing.T, method, target string, body string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

type errorBody struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
}

func decodeError(t *testing.T, w *httptest.ResponseRecorder) errorBody {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	if b.Error.Code == "" || b.Error.Message == "" {
		t.Errorf("error body %q lacks code or message", w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type: got %q", ct)
	}
	return b
}

// wantRefused checks an error answer: its status, its field ("" for none)
// and, unless code is "", its code.
func wantRefused(t *testing.T, w *httptest.ResponseRecorder, status int, field, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status: got %d, want %d: %s", w.Code, status, w.Body)
	}
	got := decodeError(t, w)
	if got.Error.Field != field {
		t.Errorf("field: got %q, want %q (%s)", got.Error.Field, field, got.Error.Message)
	}
	if code != "" && got.Error.Code != code {
		t.Errorf("code: got %q, want %q", got.Error.Code, code)
	}
}

// wantUnqueued checks the answer to a request that could not be queued: 503
// with Retry-After, and an error body.
func wantUnqueued(t *testing.T, w *httptest.ResponseRecorder) errorBody {
	t.Helper()
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d Retry-After %q, want 503 with Retry-After: %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	return decodeError(t, w)
}

func TestListPPV_ServesTheRenderedBytes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	w := e.do(t, http.MethodGet, "/listppv?state=selangor", "", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200: %s", w.Code, w.Body)
	}
	want := e.docs.ByState["selangor"]
	if !bytes.Equal(w.Body.Bytes(), want.Body) {
		t.Errorf("body: got %s, want the rendered document", w.Body)
	}
	if got := w.Header().Get("ETag"); got != want.ETag {
		t.Errorf("ETag: got %q, want %q", got, want.ETag)
	}
	if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "s-maxage=") || !strings.Contains(cc, "public") {
		t.Errorf("Cache-Control: got %q, want public with s-maxage", cc)
	}
	var doc listing.Document
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	slots := doc.Centers[0].Slots
	if doc.State != "selangor" || len(slots) != 2 || slots[0].Available != 7 || !slots[0].Open || slots[1].Available != 0 || slots[1].Open {
		t.Errorf("document: got %+v", doc)
	}
}

func TestListPPV_AnswersByContract(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	etag := e.docs.ByState["selangor"].ETag
	cases := []struct {
		name, target string
		header       map[string]string
		want         int
		code         string
	}{
		{"missing state", "/listppv", nil, 400, "required"},
		{"empty state", "/listppv?state=", nil, 400, "required"},
		{"unknown state", "/listppv?state=atlantis", nil, 404, "unknown_state"},
		{"upper case state", "/listppv?state=SELANGOR", nil, 200, ""},
		{"encoded state", "/listppv?x=1&state=%73elangor", nil, 200, ""},
		{"state without centres", "/listppv?state=perlis", nil, 200, ""},
		{"matching If-None-Match", "/listppv?state=selangor", map[string]string{"If-None-Match": etag}, 304, ""},
		{"weak matching If-None-Match", "/listppv?state=selangor", map[string]string{"If-None-Match": `"x", W/` + etag}, 304, ""},
		{"stale If-None-Match", "/listppv?state=selangor", map[string]string{"If-None-Match": `"old"`}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, http.MethodGet, tc.target, "", tc.header)
			if w.Code != tc.want {
				t.Fatalf("status: got %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if tc.code != "" {
				if got := decodeError(t, w); got.Error.Code != tc.code || got.Error.Field != "state" {
					t.Errorf("error: got %+v, want code %s on field state", got.Error, tc.code)
				}
			}
			if w.Code == 304 && (w.Body.Len() != 0 || w.Header().Get("ETag") != etag) {
				t.Errorf("304: body %q, ETag %q", w.Body, w.Header().Get("ETag"))
			}
		})
	}
}

func TestListPPV_GzipWhenAccepted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	w := e.do(t, http.MethodGet, "/listppv?state=selangor", "", map[string]string{"Accept-Encoding": "br, gzip"})
	if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("headers: got %v, want gzip with Vary", w.Header())
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, e.docs.ByState["selangor"].Body) {
		t.Errorf("gunzipped body differs from the document")
	}
	for header, want := range map[string]string{
		"gzip;q=0": "", "identity": "", "": "", "br, GZIP": "gzip", "*;q=0, gzip": "gzip", "*": "gzip", "gzip;q=0, *": "",
	} {
		w := e.do(t, http.MethodGet, "/listppv?state=selangor", "", map[string]string{"Accept-Encoding": header})
		if got := w.Header().Get("Content-Encoding"); got != want {
			t.Errorf("Accept-Encoding %q: got Content-Encoding %q, want %q", header, got, want)
		}
	}
}

func TestListPPV_CacheNotFilledIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	for _, target := range []string{"/listppv?state=selangor", "/states", "/readyz"} {
		w := e.do(t, http.MethodGet, target, "", nil)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: got %d Retry-After %q, want 503 with Retry-After", target, w.Code, w.Header().Get("Retry-After"))
		}
		decodeError(t, w)
	}
}

func TestListPPV_RedisUnreachableIs503(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.rdb.Close()
	w := e.do(t, http.MethodGet, "/listppv?state=selangor", "", nil)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("got %d, want 503 with Retry-After", w.Code)
	}
}

func TestListPPV_BurstCostsOneRedisReadPerDocument(t *testing.T) {
	t.Parallel()
	const burst = 500
	// Room for the whole burst: past API_MAX_IN_FLIGHT the API would shed
	// some of it (TestOverload_*), and this test is about the coalescing.
	e := newEnv(t, true, func(o *api.Options) { o.MaxInFlight = burst })
	var wg sync.WaitGroup
	start := make(chan struct{})
	var bad atomic.Int64
	for range burst {
		wg.Go(func() {
			<-start
			if w := e.do(t, http.MethodGet, "/listppv?state=selangor", "", nil); w.Code != 200 {
				bad.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d requests failed", bad.Load())
	}
	// One read for the states list and one for selangor, however many asked.
	if got := e.commands.Load(); got != 2 {
		t.Errorf("Redis commands for a burst of %d: got %d, want 2", burst, got)
	}
	// After the micro-cache's second, the next request reads again.
	time.Sleep(1100 * time.Millisecond)
	e.do(t, http.MethodGet, "/listppv?state=selangor", "", nil)
	if got := e.commands.Load(); got != 4 {
		t.Errorf("Redis commands after the micro-cache expired: got %d, want 4", got)
	}
}

func TestListPPV_SeesNewAvailabilityWithinOneSecond(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.do(t, http.MethodGet, "/listppv?state=selangor", "", nil)
	rows := slotRows()
	rows[1].Booked = 10
	fill(t, e.rdb, rows)
	time.Sleep(1100 * time.Millisecond)
	w := e.do(t, http.MethodGet, "/listppv?state=selangor", "", nil)
	var doc listing.Document
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if s := doc.Centers[0].Slots[0]; s.Available != 0 || s.Open {
		t.Errorf("slot after it filled: got %+v, want available 0, open false", s)
	}
}

func TestStates_ListsCodesAndNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	w := e.do(t, http.MethodGet, "/states", "", nil)
	var doc listing.StatesDocument
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || w.Code != 200 {
		t.Fatalf("got %d %s (%v)", w.Code, w.Body, err)
	}
	want := []listing.State{{Code: "perlis", Name: "Perlis", Mode: "open"}, {Code: "selangor", Name: "Selangor", Mode: "open"}}
	if len(doc.States) != 2 || doc.States[0] != want[0] || doc.States[1] != want[1] {
		t.Errorf("states: got %+v, want %+v", doc.States, want)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	if w := e.do(t, http.MethodGet, "/healthz", "", nil); w.Code != 200 {
		t.Errorf("healthz: got %d", w.Code)
	}
	if w := e.do(t, http.MethodGet, "/readyz", "", nil); w.Code != 200 {
		t.Errorf("readyz with a fresh cache: got %d %s", w.Code, w.Body)
	}
	if err := redis.NewListings(e.rdb).Write(context.Background(), e.docs, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if w := e.do(t, http.MethodGet, "/readyz", "", nil); w.Code != 503 || decodeError(t, w).Error.Code != "cache_stale" {
		t.Errorf("readyz with an hour-old cache: got %d %s, want 503 cache_stale", w.Code, w.Body)
	}
}

// A stalled cache writer must not keep new instances from starting in a
// surge: the startup probe asks only that Redis answers and the listing was
// filled once, whatever its age.
func TestStartupz_WantsAFilledCacheNotAFreshOne(t *testing.T) {
	t.Parallel()
	if w := newEnv(t, false).do(t, http.MethodGet, "/startupz", "", nil); w.Code != 503 || decodeError(t, w).Error.Code != "cache_not_ready" {
		t.Errorf("startupz before the first fill: got %d %s, want 503 cache_not_ready", w.Code, w.Body)
	}
	e := newEnv(t, true)
	if err := redis.NewListings(e.rdb).Write(context.Background(), e.docs, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if w := e.do(t, http.MethodGet, "/startupz", "", nil); w.Code != 200 {
		t.Errorf("startupz with an hour-old cache: got %d %s, want 200", w.Code, w.Body)
	}
	down := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = down.Close() })
	h := api.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), redis.NewListings(down), nil, redis.NewStatuses(down, time.Hour), api.Options{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/startupz", nil))
	if w.Code != 503 || decodeError(t, w).Error.Code != "redis_unreachable" {
		t.Errorf("startupz with Redis down: got %d %s, want 503 redis_unreachable", w.Code, w.Body)
	}
}

func httptestRequest(method, target, body string) *http.Request {
	return httptest.NewRequest(method, target, strings.NewReader(body))
}

func serve(e *env, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}
