package loadtest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/tsenart/vegeta/v12/lib/plot"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/queue"
)

// RegisterOptions shape a registration surge into one queue state and the
// invitation rounds after it (docs/queue.md), on a system the run owns: it
// rewrites the state's mode, opening time and capacity in Postgres.
type RegisterOptions struct {
	Base   string
	State  string  // the state made a queue state; it must have no registrations
	People int     // how many people register
	Rate   float64 // arrivals per second; 0 = all at once, Workers at a time
	// Workers bounds the people (and bookers) in flight at once.
	Workers int
	// Places is the state's free places for the run, fewer than People so
	// that rounds are limited by places, not by the queue.
	Places int
	// EarlyShare of the people arrive before opens_at: those are shuffled
	// at opening, the rest queue by arrival.
	EarlyShare float64
	BookShare  float64 // of the invited, who books; the rest let the link expire
	Repeat     float64 // of the people, who register a second time (must end duplicate)
	Reuse      float64 // of those who booked, who submit again with the used link
	// RoundEvery is the pause between invitation rounds.
	RoundEvery time.Duration
	// Drain bounds everything after the last arrival: recording, rounds,
	// bookings.
	Drain time.Duration
	Seed  uint64
	// Round runs one invitation round in every queue state (invite.Loop's
	// Pass); the run calls it, so it can time each round.
	Round    func(context.Context) error
	Signer   *queue.Signer // INVITATION_SECRET's: tokens are signed again from the invitations rows
	Client   *http.Client
	DB       *pgxpool.Pool
	Progress io.Writer
	Plot     *plot.Plot
}

// RoundFigure is one invitation round as the run saw it.
type RoundFigure struct {
	Invited int     `json:"invited"`
	Expired int     `json:"expired"`
	Seconds float64 `json:"seconds"`
}

// RegisterTallies are the registration run's outcome, from the system's
// answers and from Postgres.
type RegisterTallies struct {
	State      string  `json:"state"`
	Places     int     `json:"places"`
	People     int     `json:"people"`
	Accepted   int     `json:"accepted"` // distinct references answered 202, repeats included
	Repeats    int     `json:"repeats"`  // second registrations answered 202
	GaveUp     int     `json:"gave_up"`  // registrations that got no 202 past every retry
	Early      int     `json:"early"`    // recorded before opens_at
	Late       int     `json:"late"`
	ArrivalSec float64 `json:"arrival_seconds"`
	// AcceptedPerSecond is 202s over the time from the first request to
	// the last 202; RecordedPerSecond is the worker's: recorded
	// registrations over the time from the first to the last recorded.
	AcceptedPerSecond float64        `json:"accepted_per_second"`
	RecordedPerSecond float64        `json:"recorded_per_second"`
	RecordWaitSec     float64        `json:"record_wait_seconds"` // after the last arrival, until all were recorded
	Rounds            []RoundFigure  `json:"rounds"`
	Registrations     map[string]int `json:"registrations"` // by final status

	Invitations   int `json:"invitations"`
	Bookers       int `json:"bookers"`         // invited people who chose to book
	LetExpire     int `json:"let_expire"`      // invited people who did nothing
	Confirmed     int `json:"confirmed"`       // bookers confirmed
	ChoseAgain    int `json:"chose_again"`     // `full` answers: the invitation stays, the booker chooses again
	BookerNoPlace int `json:"booker_no_place"` // bookers who ended without a place (should be 0: invitations hold places)
	// BookerTooLate are bookers whose link had expired by the time they
	// sent it (410): on a machine slow enough they do not book in time,
	// and the contract holds places only for those who do.
	BookerTooLate int `json:"booker_too_late,omitempty"`
	ReuseTried    int `json:"reuse_tried"`
	ReuseRefused  int `json:"reuse_refused"` // 409 invitation_used, 410 invitation_expired or a duplicate outcome
	Used          int `json:"invitations_used"`
	BookedPlaces  int `json:"booked_places"`

	// Must be zero.
	PeopleInvitedTwice      int `json:"people_invited_twice"`
	InvitationsUsedTwice    int `json:"invitations_used_twice"` // Postgres, plus second uses that were confirmed
	BookedWithoutInvitation int `json:"bookings_without_valid_invitation"`
	SlotsOverCapacity       int `json:"slots_over_capacity"`
	CountersUnlikeBookings  int `json:"counters_unlike_bookings"`
	RegistrationsMissing    int `json:"registrations_accepted_missing"`
	BookingsMissing         int `json:"bookings_accepted_missing"`
	EarlyBehindLate         int `json:"early_behind_late"` // early registrations queued behind one that came after opening

	// Fairness. After opening: the share of pairs of registrations
	// invited (or queued, for those not invited yet) in the other order
	// than they arrived. Before: Spearman's rho between arrival and queue
	// order, and the share of pairs out of order (a fresh shuffle: near 0
	// and near 0.5).
	LateOutOfOrder  float64 `json:"late_pairs_out_of_order"`
	EarlySpearman   float64 `json:"early_spearman"`
	EarlyOutOfOrder float64 `json:"early_pairs_out_of_order"`

	TimedOut bool `json:"timed_out,omitempty"` // the drain ended before the rounds did
}

// Clean reports whether every must-be-zero tally is zero.
func (t *RegisterTallies) Clean() bool {
	return t.PeopleInvitedTwice == 0 && t.InvitationsUsedTwice == 0 && t.BookedWithoutInvitation == 0 &&
		t.SlotsOverCapacity == 0 && t.CountersUnlikeBookings == 0 && t.RegistrationsMissing == 0 &&
		t.BookingsMissing == 0 && t.EarlyBehindLate == 0
}

// TenThousandRound is the time of the first round that issued at least
// 10,000 invitations, 0 when none did.
func (t *RegisterTallies) TenThousandRound() float64 {
	for _, r := range t.Rounds {
		if r.Invited >= 10_000 {
			return r.Seconds
		}
	}
	return 0
}

func (t *RegisterTallies) writeText(w io.Writer) {
	fmt.Fprintf(w, "register: %d people into %s (%d places) in %.1fs: %d accepted (%d second registrations), %d gave up\n",
		t.People, t.State, t.Places, t.ArrivalSec, t.Accepted, t.Repeats, t.GaveUp)
	fmt.Fprintf(w, "register: accepted %.0f/s (API 202s), recorded %.0f/s (worker)", t.AcceptedPerSecond, t.RecordedPerSecond)
	if t.RecordWaitSec > 0 {
		fmt.Fprintf(w, "; all recorded %.1fs after the last arrival\n", t.RecordWaitSec)
	} else {
		fmt.Fprintln(w, "; NOT all recorded when the run stopped")
	}
	fmt.Fprintf(w, "register: %d early (shuffled at opening), %d after opening; registrations by status %v\n",
		t.Early, t.Late, t.Registrations)
	idle := 0
	for i, r := range t.Rounds {
		if r.Invited == 0 && r.Expired == 0 {
			idle++ // waiting for links to expire
			continue
		}
		fmt.Fprintf(w, "register: round %d invited %d, expired %d in %.3fs\n", i+1, r.Invited, r.Expired, r.Seconds)
	}
	fmt.Fprintf(w, "register: %d rounds, %d of them with nothing to do\n", len(t.Rounds), idle)
	if s := t.TenThousandRound(); s > 0 {
		fmt.Fprintf(w, "register: round time for 10,000 invitations %.2fs\n", s)
	}
	fmt.Fprintf(w, "register: %d invitations: %d booked (%d confirmed, %d chose again after full, %d without a place, %d too late for their link), %d let expire; %d used, %d places booked\n",
		t.Invitations, t.Bookers, t.Confirmed, t.ChoseAgain, t.BookerNoPlace, t.BookerTooLate, t.LetExpire, t.Used, t.BookedPlaces)
	fmt.Fprintf(w, "register: used links tried again %d, refused %d\n", t.ReuseTried, t.ReuseRefused)
	fmt.Fprintf(w, "register: people invited twice %d, invitations used twice %d, bookings without a valid invitation %d, slots over capacity %d, counters unlike bookings %d, registrations accepted but missing %d, bookings accepted but missing %d, early behind late %d (all must be 0)\n",
		t.PeopleInvitedTwice, t.InvitationsUsedTwice, t.BookedWithoutInvitation, t.SlotsOverCapacity, t.CountersUnlikeBookings,
		t.RegistrationsMissing, t.BookingsMissing, t.EarlyBehindLate)
	fmt.Fprintf(w, "register: fairness after opening: %.4f of pairs invited out of arrival order (0 is arrival order)\n", t.LateOutOfOrder)
	fmt.Fprintf(w, "register: fairness before opening: Spearman rho %.4f between arrival and queue order, %.4f of pairs out of order (a fresh shuffle: near 0 and near 0.5)\n",
		t.EarlySpearman, t.EarlyOutOfOrder)
	if t.TimedOut {
		fmt.Fprintln(w, "register: the drain ended before the rounds did: figures are partial")
	}
}

// registerRun is one run's shared state. calls is a surge used only for
// its HTTP helper and per-step metrics.
type registerRun struct {
	o       RegisterOptions
	people  People
	calls   *surge
	opensAt time.Time

	mu       sync.Mutex
	t        RegisterTallies
	person   map[string]int // accepted first registration → person
	accepted []string
	bookRefs []string
	firstOK  time.Time
	lastOK   time.Time
	bookers  sync.WaitGroup
	// booking bounds the bookers in flight to Workers, as arrivals are:
	// thousands invited at once must not become thousands of pollers.
	booking chan struct{}
}

// Register runs the registration surge and the rounds after it, and counts.
func Register(ctx context.Context, o RegisterOptions) (*RegisterTallies, []Phase, error) {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.Workers <= 0 {
		o.Workers = 1000
	}
	if o.Drain <= 0 {
		o.Drain = 2 * time.Minute
	}
	if o.RoundEvery <= 0 {
		o.RoundEvery = time.Second
	}
	if o.DB == nil || o.Round == nil || o.Signer == nil {
		return nil, nil, errors.New("register: needs the database, the round and the signer")
	}
	o.Base = trimBase(o.Base)
	r := &registerRun{o: o, people: NewPeople(o.Seed), person: map[string]int{}, booking: make(chan struct{}, o.Workers),
		calls: &surge{o: SurgeOptions{Client: o.Client, Plot: o.Plot}, metrics: map[string]*vegeta.Metrics{}}}
	r.t.State, r.t.Places = o.State, o.Places

	since := time.Now()
	// Queue mode first, opening in an hour, until the API shows it; the
	// real opening time is set when the arrivals begin.
	if _, err := postgres.PrepareLoadQueueState(ctx, o.DB, o.State, o.Places, since.Add(time.Hour), since); err != nil {
		return nil, nil, err
	}
	if err := r.waitQueueMode(ctx); err != nil {
		return nil, nil, err
	}
	// The early share arrives while opens_at is still an hour away, and the
	// state opens when the last of them has been answered: which batch a
	// person falls in then follows from the run, not from how fast a busy
	// machine keeps to the planned rate.
	began := time.Now()
	early := int(math.Round(o.EarlyShare * float64(o.People)))
	r.arrive(ctx, began, 0, early)
	r.opensAt = time.Now()
	if _, err := postgres.SetStateMode(ctx, o.DB, o.State, queue.ModeQueue, postgres.OpensAtChange{Change: true, At: r.opensAt}); err != nil {
		return nil, nil, err
	}
	r.arrive(ctx, r.opensAt, early, o.People)
	lastArrival := time.Now()
	r.t.ArrivalSec = lastArrival.Sub(began).Seconds()
	if d := r.lastOK.Sub(began).Seconds(); d > 0 {
		r.t.AcceptedPerSecond = float64(len(r.accepted)) / d
	}

	drainCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), lastArrival.Add(o.Drain))
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	all, err := r.waitRecorded(drainCtx)
	if err != nil {
		return &r.t, r.phases(), err
	}
	if all {
		r.t.RecordWaitSec = time.Since(lastArrival).Seconds()
	}
	if err := r.rounds(drainCtx); err != nil {
		return &r.t, r.phases(), err
	}
	r.bookers.Wait()
	check := context.WithoutCancel(ctx)
	r.waitBooked(check)
	if err := r.count(check, since); err != nil {
		return &r.t, r.phases(), err
	}
	if err := r.fairness(check); err != nil {
		return &r.t, r.phases(), err
	}
	return &r.t, r.phases(), nil
}

func (r *registerRun) phases() []Phase {
	return r.calls.summarise("register", "register:listppv", "register:submit", "register:status")
}

func (r *registerRun) say(format string, args ...any) {
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, format+"\n", args...)
	}
}

// waitQueueMode waits until /states shows the state in queue mode: the
// cache-fill loop publishes the change within its interval.
func (r *registerRun) waitQueueMode(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var doc listing.StatesDocument
		code, err := r.calls.do(ctx, http.MethodGet, r.o.Base+"/states", nil, nil, &doc)
		if err == nil && code == http.StatusOK {
			for _, s := range doc.States {
				if s.Code == r.o.State && s.Mode == string(queue.ModeQueue) {
					return nil
				}
			}
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("register: /states did not show %s in queue mode within a minute", r.o.State)
}

// arrive paces the people's registrations as the surge paces its people.
// arrive registers people from up to (not including) to, paced from began.
func (r *registerRun) arrive(ctx context.Context, began time.Time, from, to int) {
	pacer := vegeta.ConstantPacer{Freq: int(math.Round(r.o.Rate)), Per: time.Second}
	if r.o.Rate <= 0 {
		pacer = vegeta.ConstantPacer{}
	}
	slots := make(chan struct{}, r.o.Workers)
	var wg sync.WaitGroup
	var arrived atomic.Int64
	done := make(chan struct{})
	go everySecond(done, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.say("register %6.1fs  arrived %d/%d  accepted %d  gave up %d", time.Since(began).Seconds(), arrived.Load(), r.o.People, len(r.accepted), r.t.GaveUp)
	})
	paceArrivals(ctx, arrivalPlan{pacer: pacer, began: began, n: to - from, slots: slots, wg: &wg, arrived: &arrived},
		func(i int) { r.registerPerson(ctx, from+i) })
	wg.Wait()
	close(done)
	r.t.People += int(arrived.Load())
}

// registerPerson is one person registering, and for a share of them
// registering again with a new key (a second tab): that one must end
// duplicate and never be invited.
func (r *registerRun) registerPerson(ctx context.Context, i int) {
	rnd := rand.New(rand.NewPCG(r.o.Seed, uint64(i)))
	key := fmt.Sprintf("register-%d-%d-%d", r.people.run, i, rnd.Uint32())
	ref, ok := r.register(ctx, i, key)
	if !ok {
		return
	}
	r.mu.Lock()
	r.person[ref] = i
	r.mu.Unlock()
	if rnd.Float64() < r.o.Repeat {
		if ref2, ok := r.register(ctx, i, key+"-again"); ok && ref2 != ref {
			// Pub/Sub may deliver the second first: then it holds the
			// place and the first ends duplicate, so either may be invited.
			r.mu.Lock()
			r.t.Repeats++
			r.person[ref2] = i
			r.mu.Unlock()
		}
	}
}

func (r *registerRun) register(ctx context.Context, i int, key string) (string, bool) {
	f := r.people.Form(i, r.o.State, nil)
	body, err := json.Marshal(booking.RegistrationForm{State: f.State, Name: f.Name, IDNumber: f.IDNumber,
		Phone: f.Phone, Email: f.Email, Lang: f.Lang, Contact: string(booking.ContactEmail)})
	if err != nil {
		return "", false
	}
	h := http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {key}}
	for attempt := 0; attempt < 5; attempt++ {
		start := time.Now()
		var ans struct {
			Reference string `json:"reference"`
		}
		code, err := r.calls.do(ctx, http.MethodPost, r.o.Base+"/register", body, h, &ans)
		r.calls.record("register", start, code, err)
		if err == nil && code == http.StatusAccepted && ans.Reference != "" {
			now := time.Now()
			r.mu.Lock()
			r.accepted = append(r.accepted, ans.Reference)
			if r.firstOK.IsZero() {
				r.firstOK = now
			}
			r.lastOK = now
			r.mu.Unlock()
			return ans.Reference, true
		}
		if !retryable(code, err) || !backoff(ctx, attempt) {
			break
		}
	}
	r.mu.Lock()
	r.t.GaveUp++
	r.mu.Unlock()
	return "", false
}

// waitRecorded waits until the worker has recorded every accepted
// registration, so the opening shuffles the whole early batch.
// It reports whether all were, before the drain ended.
func (r *registerRun) waitRecorded(ctx context.Context) (bool, error) {
	for {
		n, err := postgres.CountRegistered(ctx, r.o.DB, r.accepted)
		if err != nil {
			return false, err
		}
		if n >= len(r.accepted) {
			return true, nil
		}
		r.say("register: %d of %d registrations recorded", n, len(r.accepted))
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			// Counted as missing below.
			r.t.TimedOut = true
			return false, nil
		}
	}
}

// waitBooked gives the worker up to half a minute to decide the bookings
// accepted before the run stopped following them (a drain that ended with
// bookers in flight), so that only a lost one counts as missing.
func (r *registerRun) waitBooked(ctx context.Context) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		inv, err := postgres.CheckInvariants(ctx, r.o.DB, r.bookRefs)
		if err != nil || inv.Missing == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// rounds runs invitation rounds until one has expired the invitations of
// those who let them run out, or nothing more can happen (nobody waiting
// and nothing held, or every place booked), or the drain ends. After each
// round the newly invited who book start booking.
func (r *registerRun) rounds(ctx context.Context) error {
	prevExpired := 0
	for {
		start := time.Now()
		if err := r.o.Round(ctx); err != nil {
			if ctx.Err() != nil {
				r.t.TimedOut = true
				return nil
			}
			return fmt.Errorf("register: invitation round: %w", err)
		}
		took := time.Since(start)
		invs, err := postgres.InvitationsIssuedSince(ctx, r.o.DB, r.o.State, start)
		if err != nil {
			return err
		}
		p, err := postgres.ReadQueueProgress(ctx, r.o.DB, r.o.State, time.Now())
		if err != nil {
			return err
		}
		fig := RoundFigure{Invited: len(invs), Expired: p.Expired - prevExpired, Seconds: took.Seconds()}
		prevExpired = p.Expired
		r.t.Rounds = append(r.t.Rounds, fig)
		r.say("register: round %d invited %d, expired %d in %.3fs; queued %d, held %d, free %d",
			len(r.t.Rounds), fig.Invited, fig.Expired, fig.Seconds, p.Queued, p.Outstanding, p.Free)
		for _, inv := range invs {
			r.invited(ctx, inv)
		}
		if p.Expired > 0 || (p.Outstanding == 0 && (p.Free <= 0 || p.Queued == 0)) {
			return nil
		}
		select {
		case <-time.After(r.o.RoundEvery):
		case <-ctx.Done():
			r.t.TimedOut = true
			return nil
		}
	}
}

// invited is what an invited person does: a share book, the rest let the
// link expire.
func (r *registerRun) invited(ctx context.Context, inv postgres.IssuedInvitation) {
	r.mu.Lock()
	i, ok := r.person[inv.Registration]
	r.mu.Unlock()
	if !ok {
		return // not a first registration of this run's: the tallies count it
	}
	rnd := rand.New(rand.NewPCG(r.o.Seed^0xb00c, uint64(i)))
	if rnd.Float64() >= r.o.BookShare {
		r.mu.Lock()
		r.t.LetExpire++
		r.mu.Unlock()
		return
	}
	r.mu.Lock()
	r.t.Bookers++
	r.mu.Unlock()
	token := r.o.Signer.Sign(inv.Registration, r.o.State, inv.IDHash, inv.ExpiresAt)
	r.bookers.Go(func() {
		select {
		case r.booking <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-r.booking }()
		r.book(ctx, rnd, i, token)
	})
}

// book is an invited person on the invitation page: they choose among the
// slots with room and submit with the token and their IC only; a full
// answer leaves the invitation, so they choose again.
func (r *registerRun) book(ctx context.Context, rnd *rand.Rand, i int, token string) {
	for attempt := 0; attempt < 10 && ctx.Err() == nil; attempt++ {
		open := r.openSlots(ctx)
		if len(open) == 0 {
			if !backoff(ctx, 2) {
				break
			}
			continue
		}
		form := Form{State: r.o.State, IDNumber: r.people.IC(i), Preferences: pickPrefs(rnd, open), Invitation: token}
		st, ref, reason := r.submit(ctx, form, fmt.Sprintf("book-%d-%d-%d", r.people.run, i, attempt))
		if reason == "invitation_expired" {
			r.mu.Lock()
			r.t.BookerTooLate++
			r.mu.Unlock()
			return
		}
		switch st {
		case booking.StatusConfirmed:
			r.mu.Lock()
			r.t.Confirmed++
			r.mu.Unlock()
			if rnd.Float64() < r.o.Reuse {
				r.reuse(ctx, form, ref, i)
			}
			return
		case booking.StatusFull:
			r.mu.Lock()
			r.t.ChoseAgain++
			r.mu.Unlock()
			continue
		}
		break
	}
	r.mu.Lock()
	r.t.BookerNoPlace++
	r.mu.Unlock()
}

// reuse presents a used link again under a new key: the API refuses it
// (409 invitation_used) or the worker answers duplicate; a second
// confirmed booking is an invitation used twice.
func (r *registerRun) reuse(ctx context.Context, form Form, first string, i int) {
	open := r.openSlots(ctx)
	if len(open) == 0 {
		return
	}
	form.Preferences = open[:1]
	st, ref, reason := r.submit(ctx, form, fmt.Sprintf("reuse-%d-%d", r.people.run, i))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.t.ReuseTried++
	switch {
	// Refused as used, or, on a machine slow enough that the link ran out
	// first, as expired: either way it did not book again.
	case reason == "invitation_used" || reason == "invitation_expired" || st == booking.StatusDuplicate:
		r.t.ReuseRefused++
	case st == booking.StatusConfirmed && ref != first:
		r.t.InvitationsUsedTwice++
	}
}

// openSlots lists the state's slots that show room.
func (r *registerRun) openSlots(ctx context.Context) []string {
	start := time.Now()
	var doc listing.Document
	code, err := r.calls.do(ctx, http.MethodGet, r.o.Base+"/listppv?state="+url.QueryEscape(r.o.State), nil, nil, &doc)
	r.calls.record("register:listppv", start, code, err)
	if err != nil || code != http.StatusOK {
		return nil
	}
	st := StateSnapshot{Doc: doc}
	return st.openSlots()
}

// submit books with the invitation and follows the status to its end. It
// returns the final status (empty when refused or unfinished), the
// reference, and the refusal's code.
func (r *registerRun) submit(ctx context.Context, form Form, key string) (booking.Status, string, string) {
	body, err := json.Marshal(form)
	if err != nil {
		return "", "", ""
	}
	h := http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {key}}
	var ref string
	for attempt := 0; ; attempt++ {
		start := time.Now()
		var ans struct {
			Reference string `json:"reference"`
		}
		code, err := r.calls.do(ctx, http.MethodPost, r.o.Base+"/submit", body, h, &ans)
		r.calls.record("register:submit", start, code, err)
		if err == nil && code == http.StatusAccepted && ans.Reference != "" {
			ref = ans.Reference
			break
		}
		var se *statusError
		if errors.As(err, &se) && !retryable(code, err) {
			return "", "", se.reason
		}
		if attempt >= 4 || !backoff(ctx, attempt) {
			return "", "", ""
		}
	}
	r.mu.Lock()
	r.bookRefs = append(r.bookRefs, ref)
	r.mu.Unlock()
	// As the surge's people poll: 250 ms growing to 2 s.
	wait := 250 * time.Millisecond
	for {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return "", ref, ""
		}
		wait = min(wait*3/2, 2*time.Second)
		start := time.Now()
		var rec booking.StatusRecord
		code, err := r.calls.do(ctx, http.MethodGet, r.o.Base+"/status/"+url.PathEscape(ref), nil, nil, &rec)
		if ctx.Err() != nil {
			return "", ref, ""
		}
		r.calls.record("register:status", start, code, err)
		if err == nil && code == http.StatusOK && rec.Status.Final() {
			return rec.Status, ref, ""
		}
	}
}

// count reads the must-be-zero tallies from Postgres.
func (r *registerRun) count(ctx context.Context, since time.Time) error {
	q, err := postgres.CheckQueueInvariants(ctx, r.o.DB, r.o.State, since, r.accepted)
	if err != nil {
		return err
	}
	inv, err := postgres.CheckInvariants(ctx, r.o.DB, r.bookRefs)
	if err != nil {
		return err
	}
	t := &r.t
	t.Accepted = len(r.accepted)
	t.PeopleInvitedTwice = q.PeopleInvitedTwice
	t.InvitationsUsedTwice += q.InvitationsUsedTwice
	t.BookedWithoutInvitation = q.BookedWithoutInvitation
	t.RegistrationsMissing = q.RegistrationsMissing
	t.Registrations, t.Invitations, t.Used, t.BookedPlaces = q.Registrations, q.Invitations, q.Used, q.Booked
	t.SlotsOverCapacity, t.CountersUnlikeBookings, t.BookingsMissing = inv.SlotsOverCapacity, inv.CountersUnlikeBookings, inv.Missing
	if d := q.LastRecorded.Sub(q.FirstRecorded).Seconds(); d > 0 {
		t.RecordedPerSecond = float64(t.Accepted-t.RegistrationsMissing) / d
	}
	return nil
}

// fairness compares the queue's order with the order of arrival.
func (r *registerRun) fairness(ctx context.Context) error {
	entries, err := postgres.ReadQueueOrder(ctx, r.o.DB, r.o.State)
	if err != nil {
		return err
	}
	var early, late []postgres.QueueEntry
	for _, e := range entries {
		if e.ReceivedAt.Before(r.opensAt) {
			early = append(early, e)
		} else {
			late = append(late, e)
		}
	}
	r.t.Early, r.t.Late = len(early), len(late)
	r.t.EarlyBehindLate = earlyBehindLate(early, late)

	// After opening, the order of invitation: invited first, by round,
	// then by queue key; the not yet invited after them by queue key.
	byArrival := func(a, b postgres.QueueEntry) int { return a.ReceivedAt.Compare(b.ReceivedAt) }
	slices.SortStableFunc(late, byArrival)
	r.t.LateOutOfOrder = pairsOutOfOrder(ranks(late, invitationOrder))

	slices.SortStableFunc(early, byArrival)
	queueRanks := ranks(early, func(a, b postgres.QueueEntry) int { return cmp.Compare(key(a), key(b)) })
	r.t.EarlyOutOfOrder = pairsOutOfOrder(queueRanks)
	r.t.EarlySpearman = spearman(queueRanks)
	return nil
}

func key(e postgres.QueueEntry) int64 {
	if e.QueueKey == nil {
		return math.MaxInt64
	}
	return *e.QueueKey
}

func invitationOrder(a, b postgres.QueueEntry) int {
	switch {
	case a.InvitedAt != nil && b.InvitedAt != nil:
		if c := a.InvitedAt.Compare(*b.InvitedAt); c != 0 {
			return c
		}
	case a.InvitedAt != nil:
		return -1
	case b.InvitedAt != nil:
		return 1
	}
	return cmp.Compare(key(a), key(b))
}

// earlyBehindLate counts early registrations whose queue key is not below
// every late one's: the whole early batch goes ahead of those who came
// after opening, and none is left without a key.
func earlyBehindLate(early, late []postgres.QueueEntry) int {
	firstLate := int64(math.MaxInt64)
	for _, e := range late {
		firstLate = min(firstLate, key(e))
	}
	n := 0
	for _, e := range early {
		if e.QueueKey == nil || *e.QueueKey >= firstLate {
			n++
		}
	}
	return n
}

// ranks gives each entry (in the slice's order) its rank under order.
func ranks(entries []postgres.QueueEntry, order func(a, b postgres.QueueEntry) int) []int {
	idx := make([]int, len(entries))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return order(entries[a], entries[b]) })
	out := make([]int, len(entries))
	for rank, i := range idx {
		out[i] = rank
	}
	return out
}

// pairsOutOfOrder is the share of pairs i < j with rank[i] > rank[j]
// (Kendall's distance), counted exactly by merge sort in n log n.
func pairsOutOfOrder(rank []int) float64 {
	n := len(rank)
	if n < 2 {
		return 0
	}
	a := slices.Clone(rank)
	buf := make([]int, n)
	var inversions int64
	for width := 1; width < n; width *= 2 {
		for lo := 0; lo < n-width; lo += 2 * width {
			mid, hi := lo+width, min(lo+2*width, n)
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				if a[i] <= a[j] {
					buf[k] = a[i]
					i++
				} else {
					buf[k] = a[j]
					inversions += int64(mid - i)
					j++
				}
				k++
			}
			k += copy(buf[k:], a[i:mid])
			copy(buf[k:], a[j:hi])
			copy(a[lo:hi], buf[lo:hi])
		}
	}
	return float64(inversions) / (float64(n) * float64(n-1) / 2)
}

// spearman is the rank correlation between position (arrival rank) and
// rank, both permutations of 0..n-1.
func spearman(rank []int) float64 {
	n := float64(len(rank))
	if n < 2 {
		return 0
	}
	var d2 float64
	for i, r := range rank {
		d := float64(i - r)
		d2 += d * d
	}
	return 1 - 6*d2/(n*(n*n-1))
}

// arrivalPlan is when people arrive and how many may be in flight.
type arrivalPlan struct {
	pacer   vegeta.Pacer
	began   time.Time
	n       int           // people
	until   time.Duration // stop arriving after this; 0 = when n have arrived
	slots   chan struct{} // its capacity bounds the people in flight
	wg      *sync.WaitGroup
	arrived *atomic.Int64
	late    func() // an arrival had to wait for a free slot; nil: not counted
}

// paceArrivals starts person(i) for each arrival at the pacer's times (the
// open model: a slow system meets the same crowd rather than a politely
// waiting one), holding a slot each; it returns once the last has arrived
// or ctx ends, leaving the people to p.wg.
func paceArrivals(ctx context.Context, p arrivalPlan, person func(i int)) {
	for i := 0; i < p.n; i++ {
		elapsed := time.Since(p.began)
		if p.until > 0 && elapsed > p.until {
			return
		}
		wait, stop := p.pacer.Pace(elapsed, uint64(i))
		if stop {
			return
		}
		if wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
		}
		select {
		case p.slots <- struct{}{}:
		default:
			if p.late != nil {
				p.late()
			}
			select {
			case p.slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
		p.arrived.Add(1)
		p.wg.Go(func() {
			defer func() { <-p.slots }()
			person(i)
		})
	}
}
