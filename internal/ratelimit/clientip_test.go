package ratelimit_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/ratelimit"
)

func TestClientIP_TakesTheEntryTheTrustedHopsAppended(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		header string // X-Forwarded-For lines, "|" between repeated headers
		hops   int
		want   string
	}{
		{"no header: the peer", "", 0, "192.0.2.1"},
		{"direct to Cloud Run", "203.0.113.9", 0, "203.0.113.9"},
		{"direct, forged entries on the left", "1.1.1.1, 2.2.2.2, 203.0.113.9", 0, "203.0.113.9"},
		{"through Firebase Hosting", "203.0.113.9, 151.101.1.1", 1, "203.0.113.9"},
		{"through Firebase Hosting, forged entry", "6.6.6.6, 203.0.113.9, 151.101.1.1", 1, "203.0.113.9"},
		{"fewer entries than hops: the farthest there is", "203.0.113.9", 1, "203.0.113.9"},
		{"repeated header lines are one list", "6.6.6.6|203.0.113.9, 151.101.1.1", 1, "203.0.113.9"},
		{"client's entry not an address: the next trusted one", "garbage, 151.101.1.1", 1, "151.101.1.1"},
		{"entry with a port", "203.0.113.9:4711, 151.101.1.1", 1, "203.0.113.9"},
		{"IPv4-mapped IPv6 is IPv4", "::ffff:203.0.113.9", 0, "203.0.113.9"},
		{"IPv6 counts by /64", "2001:db8:1:2:3:4:5:6", 0, "2001:db8:1:2::/64"},
		{"IPv6 in brackets with a port", "[2001:db8:1:2::7]:443", 0, "2001:db8:1:2::/64"},
		{"nothing usable: the peer", "not, an, address", 1, "192.0.2.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/submit", nil) // RemoteAddr 192.0.2.1:1234
			if tc.header != "" {
				for _, line := range strings.Split(tc.header, "|") {
					r.Header.Add("X-Forwarded-For", line)
				}
			}
			if got := (ratelimit.ClientIP{Hops: tc.hops}).Of(r); got != tc.want {
				t.Errorf("X-Forwarded-For %q, hops %d: got %q, want %q", tc.header, tc.hops, got, tc.want)
			}
		})
	}
}

func TestClientIP_ReadsTheConfiguredHeader(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/submit", nil)
	r.Header.Set("X-Forwarded-For", "6.6.6.6")
	r.Header.Set("Fastly-Client-IP", "203.0.113.9")
	if got := (ratelimit.ClientIP{Header: "Fastly-Client-IP"}).Of(r); got != "203.0.113.9" {
		t.Errorf("got %q, want the Fastly-Client-IP address", got)
	}
}

// FuzzPick: whatever a client writes into the header, the pick never
// panics, is an address, and with the trusted entries valid never comes
// from the part the client controls.
func FuzzPick(f *testing.F) {
	for _, s := range []string{"", "203.0.113.9", "a, b, c", "[::1]:80, 1.2.3.4", ",,,", "1.1.1.1,\t2.2.2.2 ,3.3.3.3", "::ffff:1.2.3.4%eth0"} {
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, forged string, hops int) {
		hops = min(max(hops, 0), 4)
		// The trusted proxies append: the client, then one entry per hop.
		trusted := []string{"203.0.113.9"}
		for i := range hops {
			trusted = append(trusted, "10.0.0."+string(rune('1'+i)))
		}
		a, ok := ratelimit.Pick([]string{forged, strings.Join(trusted, ", ")}, hops)
		if !ok || ratelimit.Key(a) != "203.0.113.9" {
			t.Errorf("forged %q, hops %d: got %v %v, want 203.0.113.9", forged, hops, a, ok)
		}
		if a, ok := ratelimit.Pick([]string{forged}, hops); ok && !a.IsValid() {
			t.Errorf("forged %q: ok with an invalid address", forged)
		}
	})
}
