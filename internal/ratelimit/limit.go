// Package ratelimit keeps the API's abuse counters in Redis, shared by every
// instance: a per-client request rate (GCRA, github.com/go-redis/redis_rate)
// and caps on how often one e-mail address or phone number may be used. No
// raw address, e-mail or phone number reaches Redis: each is HMAC'd with a
// secret key first. It also reads the client's address from the proxy
// chain (ClientIP).
package ratelimit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit is a sustained rate with a burst: Rate requests per Period, and up
// to Burst at once after a quiet spell. The zero Limit is off.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// Off reports whether the limit lets everything through.
func (l Limit) Off() bool { return l.Rate <= 0 || l.Period <= 0 }

// String is the limit in ParseLimit's form.
func (l Limit) String() string {
	if l.Off() {
		return "off"
	}
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h", 24 * time.Hour: "d"}[l.Period]
	if unit == "" {
		unit = l.Period.String()
	}
	s := strconv.Itoa(l.Rate) + "/" + unit
	if l.Burst != l.Rate {
		s += ":" + strconv.Itoa(l.Burst)
	}
	return s
}

// ParseLimit reads "RATE/PERIOD[:BURST]": PERIOD is s, m, h, d or a Go
// duration ("10/m", "5/30s:10"); BURST defaults to RATE. "off" or "0" is
// the zero Limit.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Limit{}, nil
	}
	rate, rest, ok := strings.Cut(s, "/")
	if !ok {
		return Limit{}, fmt.Errorf("want RATE/PERIOD[:BURST] such as 10/m, or off; got %q", s)
	}
	per, burst, hasBurst := strings.Cut(rest, ":")
	l := Limit{}
	var err error
	if l.Rate, err = strconv.Atoi(rate); err != nil || l.Rate < 1 {
		return Limit{}, fmt.Errorf("rate %q: want a whole number above 0", rate)
	}
	switch per {
	case "s":
		l.Period = time.Second
	case "m":
		l.Period = time.Minute
	case "h":
		l.Period = time.Hour
	case "d":
		l.Period = 24 * time.Hour
	default:
		if l.Period, err = time.ParseDuration(per); err != nil || l.Period < time.Second {
			return Limit{}, fmt.Errorf("period %q: want s, m, h, d or a duration of at least 1s", per)
		}
	}
	l.Burst = l.Rate
	if hasBurst {
		if l.Burst, err = strconv.Atoi(burst); err != nil || l.Burst < 1 {
			return Limit{}, fmt.Errorf("burst %q: want a whole number above 0", burst)
		}
	}
	return l, nil
}
