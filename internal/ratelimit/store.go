package ratelimit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"
)

// MinKeyBytes is the shortest RATE_LIMIT_KEY accepted: below it the HMAC
// could be brute-forced back to the addresses it hides.
const MinKeyBytes = 16

// Store keeps the counters in one Redis shared by every API instance, so a
// client's allowance is the same whichever instance answers it. Redis's own
// clock (TIME, inside the script) decides, not the instances'.
type Store struct {
	rdb  goredis.UniversalClient
	gcra *redis_rate.Limiter
	key  []byte
}

// New returns a Store over rdb whose keys are HMAC'd with secret.
func New(rdb goredis.UniversalClient, secret []byte) (*Store, error) {
	if len(secret) < MinKeyBytes {
		return nil, fmt.Errorf("rate limit key: want at least %d bytes, got %d", MinKeyBytes, len(secret))
	}
	return &Store{rdb: rdb, gcra: redis_rate.NewLimiter(rdb), key: secret}, nil
}

// Decision is the answer to one request against a Limit.
type Decision struct {
	Allowed    bool
	Limit      Limit
	Remaining  int           // requests left right now
	RetryAfter time.Duration // when refused: until one more is allowed
	ResetAfter time.Duration // until the allowance is whole again
}

// Allow counts one request by subject (a client address) against the named
// limit. An error means Redis could not be asked; the caller decides what
// that means.
func (s *Store) Allow(ctx context.Context, name string, lim Limit, subject string) (Decision, error) {
	if lim.Off() {
		return Decision{Allowed: true, Limit: lim}, nil
	}
	res, err := s.gcra.Allow(ctx, keyRate(name, s.mac(name, subject)), redis_rate.Limit{Rate: lim.Rate, Period: lim.Period, Burst: lim.Burst})
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit %s: %w", name, err)
	}
	return Decision{Allowed: res.Allowed > 0, Limit: lim, Remaining: res.Remaining, RetryAfter: res.RetryAfter, ResetAfter: res.ResetAfter}, nil
}

// ErrCapped means the contact has been used as often as the cap allows in
// the window.
var ErrCapped = errors.New("contact cap reached")

// Cap is how often one contact may be used in a window.
type Cap struct {
	Max    int // 0: no cap
	Window time.Duration
}

// takeScript counts one use unless the count already reached the cap. The
// window starts with the first use and is not extended by later ones.
var takeScript = goredis.NewScript(`
local n = tonumber(redis.call("GET", KEYS[1]) or "0")
if n >= tonumber(ARGV[1]) then
  return redis.call("PTTL", KEYS[1])
end
if redis.call("INCR", KEYS[1]) == 1 then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return -10
`)

// releaseScript gives one use back, for a use that did not happen after
// all (the booking could not be queued).
var releaseScript = goredis.NewScript(`
if redis.call("DECR", KEYS[1]) <= 0 then
  redis.call("DEL", KEYS[1])
end
return 0
`)

// Take counts one use of a contact (kind "email" or "phone", value as the
// person gave it) under scope ("submit", "register"). At the cap it returns
// ErrCapped and how long until the window ends. Otherwise release gives the
// use back; call it only if the use did not happen.
func (s *Store) Take(ctx context.Context, scope, kind, value string, c Cap) (release func(context.Context) error, retryAfter time.Duration, err error) {
	noop := func(context.Context) error { return nil }
	if c.Max <= 0 || value == "" {
		return noop, 0, nil
	}
	key := keyCap(scope, kind, s.mac(scope+"/"+kind, NormalizeContact(kind, value)))
	ms, err := takeScript.Run(ctx, s.rdb, []string{key}, c.Max, c.Window.Milliseconds()).Int64()
	if err != nil {
		return noop, 0, fmt.Errorf("contact cap %s %s: %w", scope, kind, err)
	}
	if ms != -10 {
		return noop, max(time.Duration(ms)*time.Millisecond, time.Second), ErrCapped
	}
	return func(ctx context.Context) error {
		if err := releaseScript.Run(ctx, s.rdb, []string{key}).Err(); err != nil {
			return fmt.Errorf("release contact cap %s %s: %w", scope, kind, err)
		}
		return nil
	}, 0, nil
}

// mac is the subject's stand-in in Redis: keyed, so a dump of Redis cannot
// be turned back into addresses by hashing every IPv4 address or phone
// number; 128 bits, so two subjects never share a counter.
func (s *Store) mac(name, subject string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(subject))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// NormalizeContact is the form a contact is counted under, so trivial
// variants of one mailbox count as one: case, "+tag" suffixes, and Gmail's
// ignored dots. Phone numbers count by their digits.
func NormalizeContact(kind, value string) string {
	value = strings.ToLower(strings.TrimSpace(value))
	switch kind {
	case "email":
		local, domain, ok := strings.Cut(value, "@")
		if !ok {
			return value
		}
		local, _, _ = strings.Cut(local, "+")
		if domain == "googlemail.com" {
			domain = "gmail.com"
		}
		if domain == "gmail.com" {
			local = strings.ReplaceAll(local, ".", "")
		}
		return local + "@" + domain
	case "phone":
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, value)
	}
	return value
}
