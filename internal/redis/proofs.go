package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// ProofTries counts the codes tried against each contact-proof challenge,
// shared by every API instance, so a six-digit code cannot be guessed by
// spreading guesses over instances.
type ProofTries struct{ rdb goredis.UniversalClient }

// NewProofTries returns the counter over rdb.
func NewProofTries(rdb goredis.UniversalClient) *ProofTries { return &ProofTries{rdb: rdb} }

// reserveScript counts one try unless max are already counted; the count
// lives as long as the challenge can be used.
var reserveScript = goredis.NewScript(`
local n = tonumber(redis.call("GET", KEYS[1]) or "0")
if n >= tonumber(ARGV[1]) then
  return 0
end
if redis.call("INCR", KEYS[1]) == 1 then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 1
`)

// refundScript gives a try back; it never brings a count below zero.
var refundScript = goredis.NewScript(`
if tonumber(redis.call("GET", KEYS[1]) or "0") > 0 then
  redis.call("DECR", KEYS[1])
end
return 0
`)

// Reserve counts one try of challenge id before its code is compared, and
// reports false when max tries are already counted. Counting first, in one
// script, bounds the comparisons however many arrive at once; the caller
// gives a try back (Refund) when the code was right, so only wrong codes
// use up the allowance.
func (p *ProofTries) Reserve(ctx context.Context, id string, limit int, ttl time.Duration) (bool, error) {
	ok, err := reserveScript.Run(ctx, p.rdb, []string{keyProofTries(id)}, limit, max(ttl, time.Second).Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("count proof try: %w", err)
	}
	return ok == 1, nil
}

// Refund gives back a try Reserve counted.
func (p *ProofTries) Refund(ctx context.Context, id string) error {
	if err := refundScript.Run(ctx, p.rdb, []string{keyProofTries(id)}).Err(); err != nil {
		return fmt.Errorf("give back proof try: %w", err)
	}
	return nil
}
