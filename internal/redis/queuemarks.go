package redis

import (
	"context"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// raiseMark sets KEYS[1] to ARGV[1] unless it already holds a higher
// number: the mark only moves forward, whichever loop wrote last.
var raiseMark = goredis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) > cur then
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
