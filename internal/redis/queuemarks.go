package redis

import (
	"context"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// raiseMark sets KEYS[1] to ARGV[1] unless it already holds a higher
// number: the mark only moves forward, whichever loop wrote last. A missing
// mark is created even at 0, because its presence is what tells the
// invitation loop that Redis still holds the state's records (MarkExists).
var raiseMark = goredis.NewScript(`
local old = redis.call('GET', KEYS[1])
if not old or tonumber(ARGV[1]) > (tonumber(old) or 0) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1`)

// SetMark raises a queue state's invited-through mark (the highest place
// invited so far) to place; the API answers `ahead` = a registration's
// place − mark − 1 from it.
func (r *Registrations) SetMark(ctx context.Context, state string, place int64) error {
	if err := raiseMark.Run(ctx, r.c, []string{keyQueueMark(state)}, place).Err(); err != nil {
		return fmt.Errorf("write queue mark %s: %w", state, err)
	}
	return nil
}

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
