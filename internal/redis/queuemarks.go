package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Mark returns a queue state's invited-through mark: 0 before anyone in it
// was invited.
func (r *Registrations) Mark(ctx context.Context, state string) (int64, error) {
	n, err := r.c.Get(ctx, keyQueueMark(state)).Int64()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read queue mark %s: %w", state, err)
	}
	return n, nil
}

// MarkExists reports whether a queue state's mark is in Redis. The loop
// writes it every round and it has no expiry, so its absence means Redis
// lost what the loop wrote (a flush, a failover to an empty replica): the
// state's records have to be written again from Postgres.
func (r *Registrations) MarkExists(ctx context.Context, state string) (bool, error) {
	n, err := r.c.Exists(ctx, keyQueueMark(state)).Result()
	if err != nil {
		return false, fmt.Errorf("look for queue mark %s: %w", state, err)
	}
	return n == 1, nil
}

// raiseExisting raises a queue state's invited-through mark (the highest
// place invited so far; the API answers `ahead` = a registration's place −
// mark − 1 from it) and never lowers it, whichever loop wrote last. A
// missing mark stays missing, so a flush in the middle of a round is not
// hidden by the round's own write at its end: only FinishRestore creates
// one, even at 0, and its presence tells the invitation loop that Redis
// still holds the state's records (MarkExists).
var raiseExisting = goredis.NewScript(`
local old = redis.call('GET', KEYS[1])
if old and tonumber(ARGV[1]) > (tonumber(old) or 0) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return old and 1 or 0`)

// RaiseMark raises a mark that exists and leaves a missing one missing; it
// reports whether the mark was there.
func (r *Registrations) RaiseMark(ctx context.Context, state string, place int64) (bool, error) {
	n, err := raiseExisting.Run(ctx, r.c, []string{keyQueueMark(state)}, place).Int()
	if err != nil {
		return false, fmt.Errorf("raise queue mark %s: %w", state, err)
	}
	return n == 1, nil
}

// restoreTTL bounds a rebuild's claim: one that died leaves nothing behind
// for long.
const restoreTTL = time.Hour

// BeginRestore starts writing a queue state's records again after Redis
// lost them, and returns the token FinishRestore wants. Redis losing its
// data again while the rebuild runs takes the token with it, so the mark is
// not restored over records the rebuild wrote before that second loss.
func (r *Registrations) BeginRestore(ctx context.Context, state string) (string, error) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails
	token := hex.EncodeToString(b[:])
	if err := r.c.Set(ctx, keyQueueRestore(state), token, restoreTTL).Err(); err != nil {
		return "", fmt.Errorf("begin restoring queue %s: %w", state, err)
	}
	return token, nil
}

// finishRestore writes the mark only while the rebuild's token is still
// there.
var finishRestore = goredis.NewScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[2] then
  return 0
end
local old = redis.call('GET', KEYS[1])
if not old or tonumber(ARGV[1]) > (tonumber(old) or 0) then
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('DEL', KEYS[2])
return 1`)

// FinishRestore writes the state's mark once its records are written
// again, and reports false, writing nothing, when Redis lost data since
// BeginRestore: the next round then rebuilds again.
func (r *Registrations) FinishRestore(ctx context.Context, state, token string, place int64) (bool, error) {
	n, err := finishRestore.Run(ctx, r.c, []string{keyQueueMark(state), keyQueueRestore(state)}, place, token).Int()
	if err != nil {
		return false, fmt.Errorf("finish restoring queue %s: %w", state, err)
	}
	return n == 1, nil
}
