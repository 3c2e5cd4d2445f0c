package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP finds the address of the person behind a request, as the proxies
// in front of the API recorded it.
//
// Behind Google's front end (every Cloud Run request) the header
// X-Forwarded-For ends with the address that connected to Google; what the
// client itself sent stays to the left of it and can be anything. Firebase
// Hosting's CDN is one more proxy: it appends the person's address before
// forwarding, so Google's front end then appends the CDN's. Counting hops
// from the right is therefore the only reading a client cannot forge:
//
//	direct to run.app:       "<forged…>, <client>"           Hops 0
//	through Firebase Hosting: "<forged…>, <client>, <cdn>"   Hops 1
//
// The zero value reads the last X-Forwarded-For entry, falling back to the
// connection's peer address.
type ClientIP struct {
	// Header is where the proxies write the chain; empty means
	// X-Forwarded-For. A single-valued header a CDN overwrites (such as
	// Fastly-Client-IP) works too, with Hops 0.
	Header string
	// Hops is how many trusted proxies appended an entry after the
	// client's: the client is that many entries from the right end.
	Hops int
}

// Of returns the client's address for keying (see Key), or "" when neither
// the header nor the peer address holds an address.
func (c ClientIP) Of(r *http.Request) string {
	a, ok := c.Addr(r)
	if !ok {
		return ""
	}
	return Key(a)
}

// Addr returns the client's address: the configured entry of the header,
// or the connection's peer when the header holds no address.
func (c ClientIP) Addr(r *http.Request) (netip.Addr, bool) {
	header := c.Header
	if header == "" {
		header = "X-Forwarded-For"
	}
	if a, ok := Pick(r.Header.Values(header), c.Hops); ok {
		return a, true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return parseEntry(host)
}

// Pick returns the entry hops places from the right of the comma-separated
// chain in values (repeated header lines are one list, in order). When the
// chain is shorter than that, the request came by fewer proxies than
// configured (straight to Cloud Run, say) and the leftmost entry is the
// farthest hop there is. An entry that is not an address is skipped towards
// the right: the closer proxies' entries are the trustworthy ones.
func Pick(values []string, hops int) (netip.Addr, bool) {
	var entries []string
	for _, v := range values {
		for e := range strings.SplitSeq(v, ",") {
			entries = append(entries, strings.TrimSpace(e))
		}
	}
	if len(entries) == 0 || hops < 0 {
		return netip.Addr{}, false
	}
	i := max(len(entries)-1-hops, 0)
	for ; i < len(entries); i++ {
		if a, ok := parseEntry(entries[i]); ok {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// parseEntry reads one chain entry: an address, possibly with a port, an
// IPv6 address in brackets, or a zone, as proxies variously write them.
func parseEntry(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// Key is the form an address is counted under: IPv4 as is, IPv6 by the /64
// prefix one subscriber is given (one person holds 2^64 addresses, so
// counting each would be no limit).
func Key(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
