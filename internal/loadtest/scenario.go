package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/queue"
)

// population is each state's people in thousands (Department of Statistics
// Malaysia, Population and Housing Census 2020, rounded): the surge came
// from people, so the mix of states follows them.
var population = map[string]float64{
	"selangor": 6994, "johor": 4010, "sabah": 3419, "perak": 2496, "sarawak": 2454,
	"kedah": 2131, "kuala-lumpur": 1982, "kelantan": 1793, "pulau-pinang": 1740,
	"pahang": 1591, "negeri-sembilan": 1200, "terengganu": 1149, "melaka": 998,
	"perlis": 285, "putrajaya": 109, "labuan": 95,
}

// defaultWeight is used for a state code the census table does not know
// (a deployment with other data): the median state's size.
const defaultWeight = 1800

// Weighted picks states in proportion to their population.
type Weighted struct {
	codes []string
	cum   []float64
}

// NewWeighted weights codes by population.
func NewWeighted(codes []string) Weighted {
	w := Weighted{codes: slices.Clone(codes)}
	total := 0.0
	for _, c := range w.codes {
		p, ok := population[c]
		if !ok {
			p = defaultWeight
		}
		total += p
		w.cum = append(w.cum, total)
	}
	return w
}

// Pick returns a state code; u is uniform in [0,1).
func (w Weighted) Pick(u float64) string {
	if len(w.codes) == 0 {
		return ""
	}
	x := u * w.cum[len(w.cum)-1]
	i, _ := slices.BinarySearch(w.cum, x)
	return w.codes[min(i, len(w.codes)-1)]
}

// StateSnapshot is one state's /listppv answer as the system served it.
type StateSnapshot struct {
	Plain []byte
	Gzip  []byte
	ETag  string
	Doc   listing.Document
}

// Snapshot is the live listing: every state, fetched once before an attack.
// It gives the targeters real ETags and slot ids, and the bare baseline the
// very bytes the system serves.
type Snapshot struct {
	States []string
	// Open is the states that book first come, first served: a queue
	// state's /submit needs an invitation, so submit and surge runs leave
	// those states out (`loadtest register` is theirs).
	Open    []string
	ByState map[string]*StateSnapshot
}

// FetchSnapshot reads /states and every state's /listppv, plain and gzip.
func FetchSnapshot(ctx context.Context, client *http.Client, base string) (*Snapshot, error) {
	body, _, err := fetch(ctx, client, base+"/states", "identity")
	if err != nil {
		return nil, err
	}
	var sd listing.StatesDocument
	if err := json.Unmarshal(body, &sd); err != nil {
		return nil, fmt.Errorf("decode /states: %w", err)
	}
	if len(sd.States) == 0 {
		return nil, fmt.Errorf("/states lists no state: is the system seeded?")
	}
	snap := &Snapshot{ByState: map[string]*StateSnapshot{}}
	for _, s := range sd.States {
		u := base + "/listppv?state=" + url.QueryEscape(s.Code)
		plain, etag, err := fetch(ctx, client, u, "identity")
		if err != nil {
			return nil, err
		}
		gz, _, err := fetch(ctx, client, u, "gzip")
		if err != nil {
			return nil, err
		}
		st := &StateSnapshot{Plain: plain, Gzip: gz, ETag: etag}
		if err := json.Unmarshal(plain, &st.Doc); err != nil {
			return nil, fmt.Errorf("decode /listppv?state=%s: %w", s.Code, err)
		}
		snap.States = append(snap.States, s.Code)
		if s.Mode != string(queue.ModeQueue) {
			snap.Open = append(snap.Open, s.Code)
		}
		snap.ByState[s.Code] = st
	}
	if len(snap.Open) == 0 {
		return nil, fmt.Errorf("/states lists no open state: every state books by invitation")
	}
	return snap, nil
}

// fetch GETs u with an explicit Accept-Encoding, so the transport hands back
// the bytes as sent (gzip stays gzip).
func fetch(ctx context.Context, client *http.Client, u, encoding string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", fmt.Errorf("build GET %s: %w", u, err)
	}
	req.Header.Set("Accept-Encoding", encoding)
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: status %d: %s", u, resp.StatusCode, bytes.TrimSpace(b[:min(len(b), 200)]))
	}
	if encoding == "gzip" && resp.Header.Get("Content-Encoding") != "gzip" {
		// The system does not compress; neither will the bare server.
		return nil, resp.Header.Get("ETag"), nil
	}
	return b, resp.Header.Get("ETag"), nil
}

// ListMix is the share of /listppv requests that revalidate with
// If-None-Match (a browser or CDN that has the page) and that accept gzip.
type ListMix struct {
	Conditional float64
	Gzip        float64
}

// DefaultListMix: most browsers ask for gzip; a third of requests are
// reloads carrying the ETag they saw.
var DefaultListMix = ListMix{Conditional: 0.3, Gzip: 0.8}

// lockedRand is a seeded generator vegeta's workers can share.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed uint64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (l *lockedRand) float() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

// ListTargeter makes /listppv requests against base: states weighted by
// population, a share revalidating with the ETag the snapshot saw, a share
// accepting gzip. Every request names its encoding, because Go's transport
// would otherwise ask for gzip behind our back.
func ListTargeter(base string, snap *Snapshot, mix ListMix, seed uint64) vegeta.Targeter {
	rng := newLockedRand(seed)
	pick := NewWeighted(snap.States)
	headers := map[string][4]http.Header{}
	for code, st := range snap.ByState {
		var hs [4]http.Header
		for i := range hs {
			h := http.Header{"Accept-Encoding": {"identity"}}
			if i&1 != 0 {
				h["Accept-Encoding"] = []string{"gzip, deflate, br"}
			}
			if i&2 != 0 && st.ETag != "" {
				h["If-None-Match"] = []string{st.ETag}
			}
			hs[i] = h
		}
		headers[code] = hs
	}
	urls := map[string]string{}
	for _, code := range snap.States {
		urls[code] = base + "/listppv?state=" + url.QueryEscape(code)
	}
	return func(t *vegeta.Target) error {
		code := pick.Pick(rng.float())
		i := 0
		if rng.float() < mix.Gzip {
			i |= 1
		}
		if rng.float() < mix.Conditional {
			i |= 2
		}
		t.Method, t.URL, t.Header, t.Body = http.MethodGet, urls[code], headers[code][i], nil
		return nil
	}
}

// openSlots lists a state's slot ids that showed room.
func (s *StateSnapshot) openSlots() []string {
	var out []string
	for _, c := range s.Doc.Centers {
		for _, sl := range c.Slots {
			if sl.Open && sl.Available > 0 {
				out = append(out, sl.ID)
			}
		}
	}
	return out
}

// staleness is how old a listing was when it arrived.
func staleness(doc listing.Document, at time.Time) time.Duration {
	if doc.GeneratedAt.IsZero() {
		return 0
	}
	return max(0, at.Sub(doc.GeneratedAt))
}

// trimBase drops a trailing slash so paths join cleanly.
func trimBase(base string) string { return strings.TrimRight(base, "/") }
