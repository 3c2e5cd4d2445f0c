package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/tsenart/vegeta/v12/lib/plot"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/postgres"
)

// SurgeOptions shape the day of the incident, compressed.
type SurgeOptions struct {
	Base     string
	People   int           // how many people arrive
	Rate     float64       // arrivals per second; 0 = all at once, Workers at a time
	Duration time.Duration // stop arrivals after this; 0 = when People have arrived
	Workers  int           // most people in flight at once
	// Drain is how long, after the last arrival, people keep following
	// their status before the run gives up and counts them still pending.
	Drain time.Duration
	Mix   SubmitMix
	// CancelShare of the people whose booking is confirmed cancel it
	// through the manage link (POST /manage/cancel), so later arrivals
	// can take the places they give back. Needs Manage.
	CancelShare float64
	// Manage signs the manage tokens the worker put in the confirmations,
	// with the system's MANAGE_SECRET.
	Manage   *booking.ManageSigner
	Seed     uint64
	Client   *http.Client
	DB       *pgxpool.Pool // read-only checks; nil skips them
	Progress io.Writer
	Plot     *plot.Plot
}

// Tallies are the surge's outcome, counted from the system's own answers
// and, when the database is reachable, from Postgres.
type Tallies struct {
	People         int `json:"people"`
	SawNoRoom      int `json:"saw_no_room"`   // listing showed nothing open: did not submit
	Rejected       int `json:"rejected_full"` // 409 slots_full at submit
	GaveUp         int `json:"gave_up"`       // errors past every retry
	Accepted       int `json:"accepted"`      // distinct references answered 202
	Confirmed      int `json:"confirmed"`
	Full           int `json:"full"`
	Duplicate      int `json:"duplicate"`
	StillPending   int `json:"still_pending"`
	RetriedSameRef int `json:"retries_same_reference"`
	RetriedNewRef  int `json:"retries_new_reference"` // must be 0: a retry got another reference
	// What GET /status answered while people followed their booking: 404
	// says Redis forgot a reference it was given; 503 status_restoring says
	// the status records are being written back from Postgres.
	StatusNotFound  int `json:"status_404s"`
	StatusRestoring int `json:"status_restoring_503s"`
	// Cancellations: bookings whose cancel request /status showed
	// cancelled, and those asked for that never got there (refused, given
	// up on, or still pending when the drain ended).
	Cancelled    int `json:"cancelled"`
	CancelFailed int `json:"cancel_failed"` // must be 0

	// From Postgres; nil when the run had no database to ask.
	SlotsOverCapacity      *int `json:"slots_over_capacity,omitempty"`            // must be 0
	CountersUnlikeBookings *int `json:"counters_unlike_bookings,omitempty"`       // must be 0
	PeopleBookedTwice      *int `json:"people_booked_twice,omitempty"`            // must be 0
	MissingFromPostgres    *int `json:"accepted_missing_from_postgres,omitempty"` // must be 0
	// StatusesNeverShown counts people whose booking Postgres decided but
	// whose final status /status never showed them before the drain ended.
	StatusesNeverShown *int `json:"statuses_never_shown,omitempty"` // must be 0
	// PlacesFreed are the run's bookings Postgres holds cancelled;
	// PlacesReused how many of those places were booked again
	// (postgres.CancelReuse says how that is counted).
	PlacesFreed  *int `json:"places_freed,omitempty"`
	PlacesReused *int `json:"places_reused,omitempty"`

	WorstStalenessMS float64  `json:"worst_cache_staleness_ms"`
	DecidedPerSecond float64  `json:"decided_per_second"` // accepted bookings decided / time from first accept to last decision
	ArrivalSeconds   float64  `json:"arrival_seconds"`
	LateArrivals     int      `json:"late_arrivals"` // arrivals that waited for a free worker
	AcceptedRefs     []string `json:"-"`
}

// Clean reports whether nothing was overbooked or lost.
func (t *Tallies) Clean() bool {
	zero := func(p *int) bool { return p == nil || *p == 0 }
	return t.StillPending == 0 && t.RetriedNewRef == 0 && t.CancelFailed == 0 && zero(t.SlotsOverCapacity) &&
		zero(t.CountersUnlikeBookings) && zero(t.PeopleBookedTwice) && zero(t.MissingFromPostgres) && zero(t.StatusesNeverShown)
}

func (t *Tallies) writeText(w io.Writer) {
	fmt.Fprintf(w, "surge: %d people in %.1fs (%d waited for a free worker); %d saw no room, %d refused full at submit, %d gave up\n",
		t.People, t.ArrivalSeconds, t.LateArrivals, t.SawNoRoom, t.Rejected, t.GaveUp)
	fmt.Fprintf(w, "surge: accepted %d → confirmed %d, full %d, duplicate %d, still pending %d; decided %.1f/s\n",
		t.Accepted, t.Confirmed, t.Full, t.Duplicate, t.StillPending, t.DecidedPerSecond)
	fmt.Fprintf(w, "surge: retries with the same key: %d same reference, %d another (must be 0)\n", t.RetriedSameRef, t.RetriedNewRef)
	show := func(p *int) string {
		if p == nil {
			return "not checked (no DATABASE_URL)"
		}
		return fmt.Sprint(*p)
	}
	fmt.Fprintf(w, "surge: slots over capacity %s, counters unlike bookings %s, people booked twice %s, accepted missing from Postgres %s, statuses never shown %s (all must be 0)\n",
		show(t.SlotsOverCapacity), show(t.CountersUnlikeBookings), show(t.PeopleBookedTwice), show(t.MissingFromPostgres), show(t.StatusesNeverShown))
	if t.Cancelled > 0 || t.CancelFailed > 0 {
		fmt.Fprintf(w, "surge: cancelled %d (failed %d, must be 0); places freed %s, booked again %s\n",
			t.Cancelled, t.CancelFailed, show(t.PlacesFreed), show(t.PlacesReused))
	}
	fmt.Fprintf(w, "surge: /status answered 404 %d times, 503 status_restoring %d times\n", t.StatusNotFound, t.StatusRestoring)
	// cachefill keeps a state's rendered document, generated_at included,
	// while its availability is unchanged: a full state's listing ages
	// without being wrong.
	fmt.Fprintf(w, "surge: worst cache staleness seen (now - generated_at) %.0f ms; a listing whose availability has not changed keeps its generated_at\n", t.WorstStalenessMS)
}

// surge is one run's shared state.
type surge struct {
	o      SurgeOptions
	people People
	states Weighted

	mu        sync.Mutex
	metrics   map[string]*vegeta.Metrics
	t         Tallies
	final     map[string]booking.Status
	firstOK   time.Time
	lastFinal time.Time
	stale     time.Duration
}

// Surge runs N people through list → choose → submit → follow status.
func Surge(ctx context.Context, o SurgeOptions) (*Tallies, []Phase, error) {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.Workers <= 0 {
		o.Workers = 10_000
	}
	if o.Drain <= 0 {
		o.Drain = 2 * time.Minute
	}
	if o.CancelShare > 0 && o.Manage == nil {
		return nil, nil, errors.New("surge: cancellations need the manage secret's signer")
	}
	o.Base = trimBase(o.Base)
	snap, err := FetchSnapshot(ctx, o.Client, o.Base)
	if err != nil {
		return nil, nil, err
	}
	s := &surge{o: o, people: NewPeople(o.Seed), states: NewWeighted(snap.Open),
		metrics: map[string]*vegeta.Metrics{}, final: map[string]booking.Status{}}

	// Arrivals follow vegeta's constant pacer: the open model, so a slow
	// system meets the same crowd rather than a politely waiting one.
	pacer := vegeta.ConstantPacer{Freq: int(o.Rate), Per: time.Second}
	if o.Rate <= 0 {
		pacer = vegeta.ConstantPacer{}
	}
	drainCtx, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	stopDrain := context.AfterFunc(ctx, cancelDrain)
	defer stopDrain()
	slots := make(chan struct{}, o.Workers)
	var wg sync.WaitGroup
	var arrived atomic.Int64
	began := time.Now()
	progressDone := make(chan struct{})
	go s.progress(began, &arrived, progressDone)
	paceArrivals(ctx, arrivalPlan{pacer: pacer, began: began, n: o.People, until: o.Duration, slots: slots, wg: &wg, arrived: &arrived,
		late: func() {
			s.mu.Lock()
			s.t.LateArrivals++
			s.mu.Unlock()
		}}, func(i int) { s.person(drainCtx, i) })
	s.t.ArrivalSeconds = time.Since(began).Seconds()
	s.t.People = int(arrived.Load())
	// People follow their status for at most Drain after the last arrival.
	timer := time.AfterFunc(o.Drain, cancelDrain)
	wg.Wait()
	timer.Stop()
	close(progressDone)

	t := s.t
	for ref, st := range s.final {
		t.AcceptedRefs = append(t.AcceptedRefs, ref)
		switch st {
		case booking.StatusConfirmed:
			t.Confirmed++
		case booking.StatusFull:
			t.Full++
		case booking.StatusDuplicate:
			t.Duplicate++
		case booking.StatusCancelled:
			// Counted in t.Cancelled when its request ended cancelled.
		default:
			t.StillPending++
		}
	}
	t.Accepted = len(s.final)
	t.WorstStalenessMS = ms(s.stale)
	if d := s.lastFinal.Sub(s.firstOK).Seconds(); d > 0 {
		t.DecidedPerSecond = float64(t.Confirmed+t.Full+t.Duplicate) / d
	}
	if o.DB != nil {
		if err := checkPostgres(context.WithoutCancel(ctx), o.DB, &t); err != nil {
			return &t, s.phases(), err
		}
	}
	return &t, s.phases(), nil
}

func (s *surge) phases() []Phase {
	return s.summarise("surge:listppv", "surge:submit", "surge:status", "surge:cancel")
}

// summarise gives the phases among names that had requests, in that order.
func (s *surge) summarise(names ...string) []Phase {
	var out []Phase
	for _, name := range names {
		if m := s.metrics[name]; m != nil {
			out = append(out, Summarise(name, m))
		}
	}
	return out
}

func (s *surge) progress(began time.Time, arrived *atomic.Int64, done <-chan struct{}) {
	if s.o.Progress == nil {
		return
	}
	everySecond(done, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		decided := 0
		for _, st := range s.final {
			if st.Final() {
				decided++
			}
		}
		fmt.Fprintf(s.o.Progress, "surge %6.1fs  arrived %d/%d  accepted %d  decided %d  refused full %d  no room %d  errors %d\n",
			time.Since(began).Seconds(), arrived.Load(), s.o.People, len(s.final), decided, s.t.Rejected, s.t.SawNoRoom, s.t.GaveUp)
	})
}

// everySecond calls f once a second until done is closed.
func everySecond(done <-chan struct{}, f func()) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		f()
	}
}

// record adds one request's outcome to its step's metrics.
func (s *surge) record(name string, start time.Time, code int, err error) {
	r := &vegeta.Result{Attack: name, Timestamp: start, Latency: time.Since(start), Code: uint16(code)}
	if err != nil {
		r.Error = err.Error()
	} else if code < 200 || code >= 400 {
		r.Error = http.StatusText(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.metrics[name]
	if m == nil {
		m = &vegeta.Metrics{}
		s.metrics[name] = m
	}
	m.Add(r)
	if s.o.Plot != nil {
		_ = s.o.Plot.Add(r)
	}
}

// person is one person's morning.
func (s *surge) person(ctx context.Context, i int) {
	r := rand.New(rand.NewPCG(s.o.Seed, uint64(i)))
	state := s.states.Pick(r.Float64())
	doc, ok := s.list(ctx, state)
	if !ok {
		return
	}
	var open []string
	for _, c := range doc.Centers {
		for _, sl := range c.Slots {
			if sl.Open && sl.Available > 0 {
				open = append(open, sl.ID)
			}
		}
	}
	if len(open) == 0 {
		s.mu.Lock()
		s.t.SawNoRoom++
		s.mu.Unlock()
		return
	}
	form := s.people.Form(i, state, pickPrefs(r, open))
	key := fmt.Sprintf("surge-%d-%d-%d", s.people.run, i, r.Uint32())
	ref, ok := s.submit(ctx, form, key)
	if !ok {
		return
	}
	refs := []string{ref}
	x := r.Float64()
	switch {
	case x < s.o.Mix.Retry:
		// The answer was "lost": the same request again, same key.
		if again, ok := s.submit(ctx, form, key); ok {
			s.mu.Lock()
			if again == ref {
				s.t.RetriedSameRef++
			} else {
				s.t.RetriedNewRef++
			}
			s.mu.Unlock()
		}
	case x < s.o.Mix.Retry+s.o.Mix.Repeat:
		// Impatient: a second form with other choices and a new key.
		second := s.people.Form(i, state, pickPrefs(r, open))
		if ref2, ok := s.submit(ctx, second, key+"-again"); ok && ref2 != ref {
			refs = append(refs, ref2)
		}
	}
	for _, ref := range refs {
		s.follow(ctx, ref)
	}
	// Drawn last, so a run without cancellations draws what it always did.
	if s.o.CancelShare > 0 && r.Float64() < s.o.CancelShare && s.finalOf(ref) == booking.StatusConfirmed {
		s.cancel(ctx, ref, state)
	}
}

func (s *surge) finalOf(ref string) booking.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.final[ref]
}

// cancel gives a confirmed booking back as its person would from the
// link in the confirmation, and follows the request until it is decided.
func (s *surge) cancel(ctx context.Context, ref, state string) {
	body, err := json.Marshal(booking.ManageForm{Token: s.o.Manage.Sign(ref, state)})
	if err != nil {
		return
	}
	h := http.Header{"Content-Type": {"application/json"}}
	var ans struct {
		Request string `json:"request"`
	}
	for attempt := 0; attempt < 5; attempt++ {
		start := time.Now()
		code, err := s.do(ctx, http.MethodPost, s.o.Base+"/manage/cancel", body, h, &ans)
		s.record("surge:cancel", start, code, err)
		if (err == nil && code == http.StatusAccepted) || !retryable(code, err) || !backoff(ctx, attempt) {
			break
		}
	}
	done := ans.Request != "" && s.poll(ctx, ans.Request) == booking.StatusCancelled
	s.mu.Lock()
	defer s.mu.Unlock()
	if !done {
		s.t.CancelFailed++
		return
	}
	s.t.Cancelled++
	s.final[ref] = booking.StatusCancelled
}

// backoff retries a step on 429, 503 and transport errors, as a patient
// browser would, up to five times.
func backoff(ctx context.Context, attempt int) bool {
	d := time.Duration(100<<attempt) * time.Millisecond
	select {
	case <-time.After(min(d, 3*time.Second)):
		return true
	case <-ctx.Done():
		return false
	}
}

func retryable(code int, err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable
	}
	return err != nil
}

func (s *surge) list(ctx context.Context, state string) (listing.Document, bool) {
	u := s.o.Base + "/listppv?state=" + url.QueryEscape(state)
	for attempt := 0; attempt < 5; attempt++ {
		start := time.Now()
		var doc listing.Document
		code, err := s.do(ctx, http.MethodGet, u, nil, nil, &doc)
		s.record("surge:listppv", start, code, err)
		if err == nil && code == http.StatusOK {
			s.mu.Lock()
			s.stale = max(s.stale, staleness(doc, time.Now()))
			s.mu.Unlock()
			return doc, true
		}
		if !retryable(code, err) || !backoff(ctx, attempt) {
			break
		}
	}
	s.mu.Lock()
	s.t.GaveUp++
	s.mu.Unlock()
	return listing.Document{}, false
}

func (s *surge) submit(ctx context.Context, f Form, key string) (string, bool) {
	body, err := json.Marshal(f)
	if err != nil {
		return "", false
	}
	h := http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {key}}
	for attempt := 0; attempt < 5; attempt++ {
		start := time.Now()
		var ans struct {
			Reference string `json:"reference"`
		}
		code, err := s.do(ctx, http.MethodPost, s.o.Base+"/submit", body, h, &ans)
		s.record("surge:submit", start, code, err)
		switch {
		case err == nil && code == http.StatusAccepted && ans.Reference != "":
			s.mu.Lock()
			if _, seen := s.final[ans.Reference]; !seen {
				s.final[ans.Reference] = booking.StatusPending
			}
			if s.firstOK.IsZero() {
				s.firstOK = time.Now()
			}
			s.mu.Unlock()
			return ans.Reference, true
		case code == http.StatusConflict:
			s.mu.Lock()
			s.t.Rejected++
			s.mu.Unlock()
			return "", false
		}
		if !retryable(code, err) || !backoff(ctx, attempt) {
			break
		}
	}
	s.mu.Lock()
	s.t.GaveUp++
	s.mu.Unlock()
	return "", false
}

// follow polls a booking's status until it is final or the drain ends,
// and keeps what it ended as.
func (s *surge) follow(ctx context.Context, ref string) {
	if st := s.poll(ctx, ref); st != "" {
		s.mu.Lock()
		s.final[ref] = st
		s.lastFinal = time.Now()
		s.mu.Unlock()
	}
}

// poll asks GET /status/{ref} with backoff until it is past pending (a
// booking's or a manage request's), and returns it; empty when the drain
// ended first.
func (s *surge) poll(ctx context.Context, ref string) booking.Status {
	wait := 250 * time.Millisecond
	for {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ""
		}
		wait = min(wait*3/2, 2*time.Second)
		start := time.Now()
		var rec booking.StatusRecord
		code, err := s.do(ctx, http.MethodGet, s.o.Base+"/status/"+url.PathEscape(ref), nil, nil, &rec)
		if ctx.Err() != nil {
			return "" // the run ended mid-request; not the system's error
		}
		s.record("surge:status", start, code, err)
		var se *statusError
		if errors.As(err, &se) && (se.code == http.StatusNotFound || se.reason == "status_restoring") {
			s.mu.Lock()
			if se.code == http.StatusNotFound {
				s.t.StatusNotFound++
			} else {
				s.t.StatusRestoring++
			}
			s.mu.Unlock()
		}
		if err == nil && code == http.StatusOK && rec.Status != booking.StatusPending && rec.Status != "" {
			return rec.Status
		}
	}
}

// do sends one request and decodes a 2xx JSON answer into out.
func (s *surge) do(ctx context.Context, method, u string, body []byte, h http.Header, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s answer: %w", u, err)
		}
	}
	if resp.StatusCode >= 400 {
		// The contract's error code says why, where the status alone
		// cannot (400 has a dozen reasons).
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		return resp.StatusCode, &statusError{code: resp.StatusCode, reason: e.Error.Code}
	}
	return resp.StatusCode, nil
}

// statusError is an error answer, kept apart from transport errors.
type statusError struct {
	code   int
	reason string
}

func (e *statusError) Error() string { return fmt.Sprintf("%d %s", e.code, e.reason) }

// checkPostgres asks the database what became of every accepted reference
// and whether any slot went past its capacity. Read-only.
func checkPostgres(ctx context.Context, db *pgxpool.Pool, t *Tallies) error {
	inv, err := postgres.CheckInvariants(ctx, db, t.AcceptedRefs)
	if err != nil {
		return err
	}
	t.SlotsOverCapacity, t.CountersUnlikeBookings, t.PeopleBookedTwice, t.MissingFromPostgres =
		&inv.SlotsOverCapacity, &inv.CountersUnlikeBookings, &inv.PeopleBookedTwice, &inv.Missing
	// A reference whose final status was seen is in Postgres, so every
	// accepted one missing there is among those still pending; the rest of
	// those were decided and never shown.
	never := t.StillPending - inv.Missing
	t.StatusesNeverShown = &never
	if t.Cancelled+t.CancelFailed == 0 {
		return nil
	}
	freed, reused, err := postgres.CancelReuse(ctx, db, t.AcceptedRefs)
	if err != nil {
		return err
	}
	t.PlacesFreed, t.PlacesReused = &freed, &reused
	return nil
}
