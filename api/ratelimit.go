package api

import (
	"net"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/time/rate"
)

// maxTrackedIPs bounds the limiter's memory; when reached the table starts
// afresh, which at worst forgives a few clients one burst.
const maxTrackedIPs = 100_000

// ipLimiter is a per-instance token bucket per client address. It protects
// the queue from one abusive client; it is deliberately generous because
// whole neighbourhoods share one address behind carrier-grade NAT.
type ipLimiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

func newIPLimiter(perSecond float64, burst int) *ipLimiter {
	return &ipLimiter{rate: rate.Limit(perSecond), burst: burst, buckets: map[string]*rate.Limiter{}}
}

func (l *ipLimiter) allow(ip string) bool {
	if l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	b, ok := l.buckets[ip]
	if !ok {
		if len(l.buckets) >= maxTrackedIPs {
			l.buckets = map[string]*rate.Limiter{}
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[ip] = b
	}
	l.mu.Unlock()
	return b.Allow()
}

// clientIP is the address Google's front end appended last to
// X-Forwarded-For (earlier entries are the client's to forge), or the peer.
func clientIP(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		if i := strings.LastIndexByte(xff, ','); i >= 0 {
			xff = xff[i+1:]
		}
		return strings.TrimSpace(xff)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
