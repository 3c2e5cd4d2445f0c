package listing_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/listing"
)

var (
	at      = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	opensAt = time.Date(2026, 12, 1, 0, 0, 0, 0, time.FixedZone("MYT", 8*3600))
)

// mustRender renders v, failing the test if it cannot.
func mustRender(t *testing.T, v any) listing.Rendered {
	t.Helper()
	r, err := listing.Render(v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rows is what the cache-fill query returns for: johor with two centres,
// perlis with no centres, and selangor with a centre that has no slots yet.
func rows() []listing.SlotRow {
	return []listing.SlotRow{
		{StateCode: "johor", StateName: "Johor", CenterID: "jhr-001", CenterName: "Dewan A", CenterAddress: "Jalan 1", SlotID: "jhr-001-am", Date: "2026-12-01", Time: "08:00-13:00", Capacity: 300, Booked: 288},
		{StateCode: "johor", StateName: "Johor", CenterID: "jhr-001", CenterName: "Dewan A", CenterAddress: "Jalan 1", SlotID: "jhr-001-pm", Date: "2026-12-01", Time: "14:00-18:00", Capacity: 100, Booked: 100},
		{StateCode: "johor", StateName: "Johor", CenterID: "jhr-002", CenterName: "Dewan B", CenterAddress: "Jalan 2", SlotID: "jhr-002-am", Date: "2026-12-02", Time: "08:00-13:00", Capacity: 50, Booked: 0},
		{StateCode: "perlis", StateName: "Perlis", StateMode: "queue", StateOpensAt: opensAt},
		{StateCode: "selangor", StateName: "Selangor", CenterID: "sel-001", CenterName: "Dewan C", CenterAddress: "Jalan 3"},
	}
}

func TestBuild_GroupsRowsByStateAndCentreInOrder(t *testing.T) {
	t.Parallel()
	built, states := listing.Build(rows(), at)

	opensUTC := opensAt.UTC()
	wantStates := []listing.State{
		{Code: "johor", Name: "Johor", Mode: "open"},
		{Code: "perlis", Name: "Perlis", Mode: "queue", OpensAt: &opensUTC},
		{Code: "selangor", Name: "Selangor", Mode: "open"},
	}
	if !reflect.DeepEqual(states.States, wantStates) {
		t.Errorf("states: got %+v, want %+v", states.States, wantStates)
	}
	if len(built) != 3 {
		t.Fatalf("documents: got %d, want 3", len(built))
	}
	want := listing.Document{State: "johor", GeneratedAt: at, Centers: []listing.Center{
		{ID: "jhr-001", Name: "Dewan A", Address: "Jalan 1", Slots: []listing.Slot{
			{ID: "jhr-001-am", Date: "2026-12-01", Time: "08:00-13:00", Capacity: 300, Available: 12, Open: true},
			{ID: "jhr-001-pm", Date: "2026-12-01", Time: "14:00-18:00", Capacity: 100, Available: 0, Open: false},
		}},
		{ID: "jhr-002", Name: "Dewan B", Address: "Jalan 2", Slots: []listing.Slot{
			{ID: "jhr-002-am", Date: "2026-12-02", Time: "08:00-13:00", Capacity: 50, Available: 50, Open: true},
		}},
	}}
	if got := built[0].Doc; !reflect.DeepEqual(got, want) {
		t.Errorf("johor:\n got %+v\nwant %+v", got, want)
	}
	for i, code := range []string{"johor", "perlis", "selangor"} {
		if got := built[i].Doc.State; got != code {
			t.Errorf("document %d: got state %q, want %q", i, got, code)
		}
	}
}

func TestBuild_StampsTheTimeInUTCToTheSecond(t *testing.T) {
	t.Parallel()
	kl := time.FixedZone("MYT", 8*3600)
	built, _ := listing.Build(rows(), time.Date(2026, 11, 23, 15, 0, 0, 999_000_000, kl))
	if got := built[0].Doc.GeneratedAt; !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("generated_at: got %v, want %v", got, at)
	}
}

func TestBuild_NeverShowsNegativeAvailability(t *testing.T) {
	t.Parallel()
	// The CHECK constraint keeps booked <= capacity, but a capacity lowered
	// by hand or a bad row must still never render as a negative count.
	built, _ := listing.Build([]listing.SlotRow{
		{StateCode: "johor", StateName: "Johor", CenterID: "c", CenterName: "C", CenterAddress: "A", SlotID: "s", Date: "2026-12-01", Time: "08:00-13:00", Capacity: 10, Booked: 13},
	}, at)
	s := built[0].Doc.Centers[0].Slots[0]
	if s.Available != 0 || s.Open {
		t.Errorf("overbooked slot: got available %d open %v, want 0 and false", s.Available, s.Open)
	}
}

func TestBuild_EmptyStatesAndCentresRenderEmptyArraysNotNull(t *testing.T) {
	t.Parallel()
	built, _ := listing.Build(rows(), at)
	perlis := mustRender(t, built[1].Doc)
	if want := `"centers":[]`; !bytes.Contains(perlis.Body, []byte(want)) {
		t.Errorf("perlis: got %s, want it to contain %s", perlis.Body, want)
	}
	selangor := mustRender(t, built[2].Doc)
	if want := `"slots":[]`; !bytes.Contains(selangor.Body, []byte(want)) {
		t.Errorf("selangor: got %s, want it to contain %s", selangor.Body, want)
	}

	none, states := listing.Build(nil, at)
	if len(none) != 0 {
		t.Errorf("no rows: got %d documents, want 0", len(none))
	}
	r := mustRender(t, states)
	if got, want := string(r.Body), `{"states":[]}`; got != want {
		t.Errorf("states with no rows: got %s, want %s", got, want)
	}
}

func TestBuild_DigestIgnoresTimeButNotContent(t *testing.T) {
	t.Parallel()
	a, _ := listing.Build(rows(), at)
	later, _ := listing.Build(rows(), at.Add(time.Hour))
	for i := range a {
		if a[i].Digest != later[i].Digest {
			t.Errorf("%s: digest changed with only the time", a[i].Doc.State)
		}
	}

	changes := map[string]func(r []listing.SlotRow){
		"booked":         func(r []listing.SlotRow) { r[0].Booked++ },
		"capacity":       func(r []listing.SlotRow) { r[2].Capacity++ },
		"centre name":    func(r []listing.SlotRow) { r[0].CenterName, r[1].CenterName = "Dewan Z", "Dewan Z" },
		"centre address": func(r []listing.SlotRow) { r[2].CenterAddress = "Jalan 9" },
		"slot time":      func(r []listing.SlotRow) { r[1].Time = "14:00-17:00" },
		"slot date":      func(r []listing.SlotRow) { r[2].Date = "2026-12-03" },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rs := rows()
			change(rs)
			b, _ := listing.Build(rs, at)
			if b[0].Digest == a[0].Digest {
				t.Errorf("johor: digest unchanged after a %s change", name)
			}
			if b[1].Digest != a[1].Digest || b[2].Digest != a[2].Digest {
				t.Errorf("other states: digest changed by a change in johor")
			}
		})
	}

	// A booking that does not change what is shown (the slot was already
	// full) must not change the digest, or every pass would re-render.
	rs := rows()
	rs[1].Booked = 150
	if b, _ := listing.Build(rs, at); b[0].Digest != a[0].Digest {
		t.Errorf("johor: digest changed though the document did not")
	}
}

func TestRender_GzipDecompressesToBody(t *testing.T) {
	t.Parallel()
	built, _ := listing.Build(rows(), at)
	r := mustRender(t, built[0].Doc)
	zr, err := gzip.NewReader(bytes.NewReader(r.Gzip))
	if err != nil {
		t.Fatalf("gzip header: %v", err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	if !bytes.Equal(plain, r.Body) {
		t.Errorf("gunzipped: got %s, want %s", plain, r.Body)
	}
	var doc listing.Document
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if !reflect.DeepEqual(doc, built[0].Doc) {
		t.Errorf("decoded body: got %+v, want %+v", doc, built[0].Doc)
	}
}

func TestRender_BodyHasTheContractsFieldNames(t *testing.T) {
	t.Parallel()
	built, _ := listing.Build(rows()[:1], at)
	r := mustRender(t, built[0].Doc)
	want := `{"state":"johor","generated_at":"2026-11-23T07:00:00Z","centers":[{"id":"jhr-001","name":"Dewan A","address":"Jalan 1",` +
		`"slots":[{"id":"jhr-001-am","date":"2026-12-01","time":"08:00-13:00","capacity":300,"available":12,"open":true}]}]}`
	if got := string(r.Body); got != want {
		t.Errorf("body:\n got %s\nwant %s", got, want)
	}
}

func TestETag_IsQuotedStableAndFollowsTheBytes(t *testing.T) {
	t.Parallel()
	a := listing.ETag([]byte(`{"state":"johor"}`))
	if len(a) < 3 || !strings.HasPrefix(a, `"`) || !strings.HasSuffix(a, `"`) || strings.Count(a, `"`) != 2 {
		t.Errorf("ETag %s: want one quoted opaque tag", a)
	}
	if strings.HasPrefix(a, "W/") {
		t.Errorf("ETag %s: want a strong validator", a)
	}
	if b := listing.ETag([]byte(`{"state":"johor"}`)); b != a {
		t.Errorf("same bytes: got %s then %s, want equal", a, b)
	}
	if c := listing.ETag([]byte(`{"state":"johor "}`)); c == a {
		t.Errorf("different bytes: both got %s", a)
	}

	built, _ := listing.Build(rows(), at)
	r1 := mustRender(t, built[0].Doc)
	r2 := mustRender(t, built[0].Doc)
	if r1.ETag != r2.ETag || !bytes.Equal(r1.Body, r2.Body) || r1.ETag != listing.ETag(r1.Body) {
		t.Errorf("rendering twice: got ETags %s and %s, want both %s", r1.ETag, r2.ETag, listing.ETag(r1.Body))
	}
}

func TestParseAvailability_RoundTripsARenderedDocument(t *testing.T) {
	t.Parallel()
	built, _ := listing.Build(rows(), at)
	r := mustRender(t, built[0].Doc)
	got, err := listing.ParseAvailability(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := listing.Availability{"jhr-001-am": 12, "jhr-001-pm": 0, "jhr-002-am": 50}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("availability: got %v, want %v", got, want)
	}

	empty := mustRender(t, built[1].Doc)
	if got, err := listing.ParseAvailability(empty.Body); err != nil || len(got) != 0 {
		t.Errorf("state without centres: got %v, %v; want empty, nil", got, err)
	}
	if _, err := listing.ParseAvailability([]byte("{nope")); err == nil {
		t.Error("garbage: got nil error")
	}
}

func TestParseStates_RoundTripsARenderedStatesDocument(t *testing.T) {
	t.Parallel()
	_, states := listing.Build(rows(), at)
	r := mustRender(t, states)
	if !bytes.Contains(r.Body, []byte(`{"code":"perlis","name":"Perlis","mode":"queue","opens_at":"2026-11-30T16:00:00Z"}`)) {
		t.Errorf("states document %s does not give perlis's mode and opening time in RFC 3339", r.Body)
	}
	got, err := listing.ParseStates(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]listing.State{}
	for _, s := range states.States {
		want[s.Code] = s
	}
	if !reflect.DeepEqual(got, want) || len(got) != 3 {
		t.Errorf("states: got %v, want %v", got, want)
	}
	if _, err := listing.ParseStates([]byte(`{"states":`)); err == nil {
		t.Error("truncated: got nil error")
	}
}

func TestRenderAll_RendersEveryStateAndTheStatesList(t *testing.T) {
	t.Parallel()
	docs, err := listing.RenderAll(rows(), at, listing.Documents{})
	if err != nil {
		t.Fatal(err)
	}
	built, states := listing.Build(rows(), at)
	if len(docs.ByState) != len(built) {
		t.Errorf("documents: got %d, want %d", len(docs.ByState), len(built))
	}
	for _, b := range built {
		want := mustRender(t, b.Doc)
		if got := docs.ByState[b.Doc.State]; got.ETag != want.ETag || !bytes.Equal(got.Body, want.Body) || !bytes.Equal(got.Gzip, want.Gzip) {
			t.Errorf("%s: got %s, want %s", b.Doc.State, got.Body, want.Body)
		}
	}
	if want := mustRender(t, states); !bytes.Equal(docs.States.Body, want.Body) || docs.States.ETag != want.ETag {
		t.Errorf("states: got %s, want %s", docs.States.Body, want.Body)
	}
}

func TestRenderAll_UnchangedStateKeepsItsBytesAndChangedStateIsRenderedAnew(t *testing.T) {
	t.Parallel()
	first, err := listing.RenderAll(rows(), at, listing.Documents{})
	if err != nil {
		t.Fatal(err)
	}
	rs := rows()
	rs[0].Booked++
	later, err := listing.RenderAll(rs, at.Add(time.Minute), first)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"perlis", "selangor"} {
		if got, want := later.ByState[code], first.ByState[code]; got.ETag != want.ETag || !bytes.Equal(got.Body, want.Body) {
			t.Errorf("%s, unchanged: got %s, want the first pass's %s", code, got.Body, want.Body)
		}
	}
	if later.ByState["johor"].ETag == first.ByState["johor"].ETag {
		t.Errorf("johor, changed: ETag stayed %s", first.ByState["johor"].ETag)
	}
	// Without a previous pass everything is rendered with the new time.
	fresh, _ := listing.RenderAll(rows(), at.Add(time.Minute), listing.Documents{})
	if fresh.ByState["perlis"].ETag == first.ByState["perlis"].ETag {
		t.Errorf("perlis without a previous pass: got the old bytes, want a new generated_at")
	}
}
