package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/seed"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// freePort finds a port nothing listens on, below Linux's ephemeral range
// (32768 and up): a port from ":0" is in that range, and between this check
// and the role's own listen, any outgoing connection on the machine (the
// browser tests make many) may take it as its local port.
func freePort(t *testing.T) string {
	t.Helper()
	for range 100 {
		port := strconv.Itoa(20000 + rand.IntN(12000))
		ln, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port found in 20000-31999")
	return ""
}

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// startRole runs `vaxbook <args>` in the background and waits until path
// answers 200. The role is stopped, and must have returned cleanly, when the
// test ends.
func startRole(t *testing.T, env map[string]string, path string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	// done is closed once runErr holds run's result, so both the start-up
	// loop and the cleanup can observe the exit.
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = run(ctx, append([]string{"vaxbook"}, args...), envFunc(env), io.Discard)
	}()
	exitedEarly := false
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
			if runErr != nil && !exitedEarly {
				t.Errorf("vaxbook %v returned %v after SIGTERM", args, runErr)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("vaxbook %v did not stop within Cloud Run's 10 s", args)
		}
	})
	base := "http://127.0.0.1:" + env["PORT"]
	deadline := time.Now().Add(120 * time.Second)
	for {
		select {
		case <-done:
			exitedEarly = true
			t.Fatalf("vaxbook %v exited early: %v", args, runErr)
		default:
		}
		resp, err := http.Get(base + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("vaxbook %v: %s never answered 200 (last error %v)", args, path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type e2eSlot struct {
	id       string
	capacity int
}

// TestEndToEnd_SurgeNeverOverbooksOrLoses drives the real wiring: API →
// Pub/Sub (pstest) → push relay → worker → Postgres → cache fill → Redis →
// API. Every message is pushed twice (a second subscription relays to the
// same worker, as a redelivery would), people submit twice, and some
// retries repeat their Idempotency-Key.
func TestEndToEnd_SurgeNeverOverbooksOrLoses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const interval = time.Second

	dbURL := testenv.DatabaseURL(t)
	slots := []e2eSlot{{"sel-001-am", 3}, {"sel-001-pm", 2}, {"sel-002-am", 4}, {"sel-002-pm", 1}}
	var rows []seed.Row
	for _, s := range slots {
		center := s.id[:7]
		rows = append(rows, seed.Row{State: "selangor", StateName: "Selangor", CenterID: center, CenterName: "Dewan " + center,
			Address: "Jalan " + center, SlotID: s.id, Date: "2026-12-01", Time: map[bool]string{true: "08:00-13:00", false: "14:00-18:00"}[s.id[8:] == "am"], Capacity: s.capacity})
	}
	pool, err := postgres.Open(ctx, postgres.Config{URL: dbURL, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := seed.Load(ctx, pool, rows); err != nil {
		t.Fatal(err)
	}

	srv, psc := testenv.NewPubSub(t, "e2e")
	if err := pubsub.EnsureTopic(ctx, psc, "appointments-topic"); err != nil {
		t.Fatal(err)
	}
	dupName, err := pubsub.EnsurePullSubscription(ctx, psc, "appointments-topic", "redeliveries", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"PORT": freePort(t), "DATABASE_URL": dbURL, "REDIS_URL": testenv.RedisURL(t),
		"PUBSUB_EMULATOR_HOST": srv.Addr, "GOOGLE_CLOUD_PROJECT": "e2e",
		"CACHEFILL_INTERVAL": interval.String(), "LISTPPV_MICROCACHE_TTL": "100ms",
		"LOG_LEVEL":  "warn",
		"RATE_LIMIT": "off", // one host plays every client
	}
	base := startRole(t, env, "/readyz", "dev")

	relayCtx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		_ = pubsub.Relay(relayCtx, log, psc, dupName, base+worker.PushPath, pubsub.NewRelayClient())
	}()
	t.Cleanup(func() { stopRelay(); <-relayDone })

	// 40 people want 10 places; 10 of them submit a second time with a new
	// form, and every fourth submission is retried with its own key.
	type result struct {
		person int
		code   int
		ref    string
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	submit := func(person int, key string) {
		rng := rand.New(rand.NewPCG(uint64(person), uint64(len(key))))
		perm := rng.Perm(len(slots))
		prefs := []string{}
		for _, i := range perm[:1+rng.IntN(3)] {
			prefs = append(prefs, slots[i].id)
		}
		body, _ := json.Marshal(map[string]any{
			"state": "selangor", "name": fmt.Sprintf("Orang %d", person),
			"id_number": fmt.Sprintf("8501011%05d", person), "phone": "+60123456789",
			"email": fmt.Sprintf("p%d@example.com", person), "preferences": prefs,
		})
		req, _ := http.NewRequest(http.MethodPost, base+"/submit", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("submit: %v", err)
			return
		}
		defer resp.Body.Close()
		var ans struct{ Reference string }
		_ = json.NewDecoder(resp.Body).Decode(&ans)
		mu.Lock()
		results = append(results, result{person, resp.StatusCode, ans.Reference})
		mu.Unlock()
	}
	for p := range 40 {
		for form := range 1 + btoi(p < 10) {
			key := fmt.Sprintf("p%d-form%d", p, form)
			tries := 1 + btoi(p%4 == 0)
			for range tries {
				wg.Go(func() { submit(p, key) })
			}
		}
	}
	wg.Wait()

	accepted := map[string]int{} // reference → person
	for _, r := range results {
		switch r.code {
		case http.StatusAccepted:
			if prev, ok := accepted[r.ref]; ok && prev != r.person {
				t.Errorf("reference %s given to persons %d and %d", r.ref, prev, r.person)
			}
			accepted[r.ref] = r.person
		case http.StatusConflict: // every choice already showed full: fine
		default:
			t.Errorf("submit for person %d: status %d", r.person, r.code)
		}
	}
	if len(accepted) < 10 {
		t.Fatalf("only %d submissions accepted; the test needs more than the 10 places", len(accepted))
	}

	// Every accepted reference reaches exactly one final status.
	final := map[string]booking.Status{}
	deadline := time.Now().Add(60 * time.Second)
	for ref := range accepted {
		for {
			var rec booking.StatusRecord
			resp, err := http.Get(base + "/status/" + ref)
			if err == nil {
				_ = json.NewDecoder(resp.Body).Decode(&rec)
				resp.Body.Close()
			}
			if rec.Status.Final() {
				final[ref] = rec.Status
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("reference %s still %q after 30 s", ref, rec.Status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	doneAt := time.Now()

	// Both subscriptions delivered every message: the worker saw each twice.
	// (Concurrent retries with one key may each publish; the worker makes
	// them one booking.)
	msgs := srv.Messages()
	published := map[string]bool{}
	for _, m := range msgs {
		published[m.Attributes["reference"]] = true
	}
	if len(published) != len(accepted) {
		t.Errorf("published references: got %d, want one per accepted reference (%d)", len(published), len(accepted))
	}
	twiceDelivered := 0
	for _, m := range msgs {
		if m.Deliveries >= 2 {
			twiceDelivered++
		}
	}
	if twiceDelivered == 0 {
		t.Errorf("no message was delivered twice; the redelivery path went untested")
	}

	// Postgres agrees: one row per accepted reference, no slot past
	// capacity, counters equal to confirmed bookings, one place per person.
	inv, err := postgres.CheckInvariants(ctx, pool, keys(accepted))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Bookings != len(accepted) || inv.Unknown != 0 {
		t.Errorf("bookings rows: got %d (%d not accepted), want exactly the %d accepted references", inv.Bookings, inv.Unknown, len(accepted))
	}
	dbStatus := map[string]booking.Status{}
	statusRows, err := pool.Query(ctx, `SELECT reference, status FROM bookings`)
	if err != nil {
		t.Fatal(err)
	}
	for statusRows.Next() {
		var ref string
		var st booking.Status
		if err := statusRows.Scan(&ref, &st); err != nil {
			t.Fatal(err)
		}
		dbStatus[ref] = st
	}
	statusRows.Close()
	for ref, st := range final {
		if dbStatus[ref] != st {
			t.Errorf("reference %s: API says %s, Postgres %s", ref, st, dbStatus[ref])
		}
	}
	if inv.Broken() {
		t.Errorf("slots over capacity %d, counters unlike confirmed bookings %d, people booked twice %d; want 0, 0, 0",
			inv.SlotsOverCapacity, inv.CountersUnlikeBookings, inv.PeopleBookedTwice)
	}
	var confirmed int
	for _, st := range final {
		if st == booking.StatusConfirmed {
			confirmed++
		}
	}
	if confirmed != 10 {
		t.Errorf("confirmed: got %d, want all 10 places taken by %d accepted submissions", confirmed, len(accepted))
	}

	// Every final booking gets exactly one e-mail of its kind, though every
	// booking message was delivered twice.
	mailed := map[string]booking.Status{}
	told := map[string]bool{}
	for {
		var box struct {
			Messages []struct {
				Message email.Message `json:"message"`
			} `json:"messages"`
		}
		getJSON(t, base+"/dev/mail.json", &box)
		clear(mailed)
		clear(told)
		for _, m := range box.Messages {
			// A duplicate also tells the holder of the booking it hit,
			// under the holder's reference, at most once a day.
			if m.Message.Kind == notify.KindAttempt {
				if told[m.Message.Reference] {
					t.Fatalf("two attempt e-mails for %s", m.Message.Reference)
				}
				told[m.Message.Reference] = true
				continue
			}
			if _, twice := mailed[m.Message.Reference]; twice {
				t.Fatalf("two e-mails for %s", m.Message.Reference)
			}
			mailed[m.Message.Reference] = booking.Status(m.Message.Kind)
		}
		if len(mailed) >= len(final) {
			break
		}
		if time.Since(doneAt) > 30*time.Second {
			t.Fatalf("e-mails: %d after 30 s, want one per final booking (%d)", len(mailed), len(final))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for ref, st := range final {
		if mailed[ref] != st {
			t.Errorf("e-mail for %s: got kind %q, want %q", ref, mailed[ref], st)
		}
	}
	for ref := range told {
		if final[ref] != booking.StatusConfirmed {
			t.Errorf("attempt e-mail about %s, which is %q, not a booking held", ref, final[ref])
		}
	}

	// /listppv shows the new availability within two cache-fill intervals.
	for {
		resp, err := http.Get(base + "/listppv?state=selangor")
		if err != nil {
			t.Fatal(err)
		}
		var doc listing.Document
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		allFull := len(doc.Centers) == 2
		for _, c := range doc.Centers {
			for _, s := range c.Slots {
				allFull = allFull && s.Available == 0 && !s.Open
			}
		}
		if allFull {
			break
		}
		if time.Since(doneAt) > 2*interval {
			t.Fatalf("/listppv still shows room %s after the last booking: %+v", time.Since(doneAt), doc.Centers)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
