package frontend_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/frontend"
)

var update = flag.Bool("update", false, "rewrite stale ?v= hashes in the site's files")

// pageBudget is the 60 KB limit on the page's own HTML, CSS and JS,
// read strictly (1 KB = 1000 bytes).
const pageBudget = 60_000

// versionRef finds "name.js?v=hash" and "name.css?v=hash" references.
var versionRef = regexp.MustCompile(`([\w-]+\.(?:js|css))\?v=(\w+)`)

func version(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:10]
}

func siteFiles(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(frontend.Files, "*")
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestSite_StaysUnderTheWeightBudget(t *testing.T) {
	total := 0
	for _, name := range siteFiles(t) {
		b, err := fs.ReadFile(frontend.Files, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-12s %6d bytes", name, len(b))
		total += len(b)
	}
	t.Logf("total        %6d bytes (budget %d)", total, pageBudget)
	if total >= pageBudget {
		t.Errorf("the page's own HTML+CSS+JS is %d bytes, want under %d", total, pageBudget)
	}
}

// TestSite_AssetVersionsMatchContent keeps the long cache honest: a script
// or style sheet changed without its ?v= changing would be served stale for
// a year. Modules import each other with ?v= too, so a change ripples up to
// index.html; -update rewrites until nothing changes.
func TestSite_AssetVersionsMatchContent(t *testing.T) {
	names := siteFiles(t)
	for pass := 0; ; pass++ {
		stale := 0
		for _, name := range names {
			b, err := os.ReadFile(name) // the source, which -update may have changed
			if err != nil {
				t.Fatal(err)
			}
			out := versionRef.ReplaceAllFunc(b, func(m []byte) []byte {
				sub := versionRef.FindSubmatch(m)
				target, got := string(sub[1]), string(sub[2])
				tb, err := os.ReadFile(target)
				if err != nil {
					t.Errorf("%s refers to %s, which is not in the site: %v", name, target, err)
					return m
				}
				if want := version(tb); got != want {
					stale++
					if !*update {
						t.Errorf("%s: %s?v=%s is stale, the content's version is %s (run: go test ./frontend -update)", name, target, got, want)
					}
					return []byte(target + "?v=" + want)
				}
				return m
			})
			if *update && stale > 0 {
				if err := os.WriteFile(name, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		if stale == 0 || !*update {
			return
		}
		if pass > len(names) {
			t.Fatal("versions do not settle: do two files refer to each other?")
		}
	}
}

// TestSite_EveryAssetIsReferencedWithAVersion makes sure nothing is loaded
// under a bare name, which firebase.json would also cache for a year.
func TestSite_EveryAssetIsReferencedWithAVersion(t *testing.T) {
	referenced := map[string]bool{}
	var all strings.Builder
	for _, name := range siteFiles(t) {
		b, _ := fs.ReadFile(frontend.Files, name)
		all.Write(b)
		for _, m := range versionRef.FindAllStringSubmatch(string(b), -1) {
			referenced[m[1]] = true
		}
	}
	bare := regexp.MustCompile(`['"]\.?/?([\w-]+\.(?:js|css))['"]`)
	for _, m := range bare.FindAllStringSubmatch(all.String(), -1) {
		t.Errorf("%s is referenced without ?v=", m[1])
	}
	for _, name := range siteFiles(t) {
		if name != "index.html" && !referenced[name] {
			t.Errorf("%s is in the site but nothing loads it with ?v=", name)
		}
	}
}

func TestHandler_CachesVersionedAssetsAndRevalidatesThePage(t *testing.T) {
	srv := httptest.NewServer(frontend.Handler())
	defer srv.Close()
	cases := []struct {
		path, wantCC, wantType string
	}{
		{"/", frontend.CacheRevalidate, "text/html"},
		{"/app.js?v=abc", frontend.CacheVersioned, "text/javascript"},
		{"/style.css?v=abc", frontend.CacheVersioned, "text/css"},
		{"/app.js", frontend.CacheRevalidate, "text/javascript"},
	}
	for _, tc := range cases {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != tc.wantCC ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType) {
			t.Errorf("GET %s: got %d %q %q, want 200 %q %s", tc.path, resp.StatusCode,
				resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"), tc.wantCC, tc.wantType)
		}
	}
}

type firebaseConfig struct {
	Hosting struct {
		Public  string   `json:"public"`
		Ignore  []string `json:"ignore"`
		Headers []struct {
			Source  string `json:"source"`
			Headers []struct{ Key, Value string }
		} `json:"headers"`
		Rewrites []struct {
			Source string `json:"source"`
			Run    struct {
				ServiceID string `json:"serviceId"`
				Region    string `json:"region"`
			} `json:"run"`
		} `json:"rewrites"`
	} `json:"hosting"`
}

func TestFirebaseJSON_RewritesTheAPIAndSetsCacheHeaders(t *testing.T) {
	b, err := os.ReadFile("firebase.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg firebaseConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("firebase.json: %v", err)
	}
	h := cfg.Hosting
	if h.Public != "." {
		t.Errorf("public: got %q, want the frontend folder itself", h.Public)
	}
	for _, want := range []string{"**/*.go", "**/node_modules/**", "test/**"} {
		if !slices.Contains(h.Ignore, want) {
			t.Errorf("ignore lacks %q: Go sources and test tooling must not be published", want)
		}
	}
	rewrites := map[string]bool{}
	for _, r := range h.Rewrites {
		if r.Run.ServiceID != "api" || r.Run.Region == "" {
			t.Errorf("rewrite %s goes to %+v, want Cloud Run service api in a region", r.Source, r.Run)
		}
		rewrites[r.Source] = true
	}
	for _, want := range []string{"/listppv", "/states", "/submit", "/status/**", "/config", "/register", "/registration/**"} {
		if !rewrites[want] {
			t.Errorf("no rewrite of %s to the api service", want)
		}
	}
	cc := map[string]string{}
	for _, hd := range h.Headers {
		for _, kv := range hd.Headers {
			if kv.Key == "Cache-Control" {
				cc[hd.Source] = kv.Value
			}
		}
	}
	if cc["**/*.@(js|css)"] != frontend.CacheVersioned || cc["/index.html"] != frontend.CacheRevalidate || cc["/"] != frontend.CacheRevalidate {
		t.Errorf("Cache-Control by source: got %v, want scripts and styles %q and the page %q", cc, frontend.CacheVersioned, frontend.CacheRevalidate)
	}
}
