package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/queue"
)

// Registrations stores what GET /registration shows for each reference.
// The ranks of statusRank are spelled again in setIfNotBehind's script; a
// test holds the two together.
type Registrations struct {
	c   goredis.UniversalClient
	ttl time.Duration
}

// NewRegistrations wraps a client; records expire after ttl (Postgres keeps
// the truth, Redis only the view of it).
func NewRegistrations(c goredis.UniversalClient, ttl time.Duration) *Registrations {
	return &Registrations{c: c, ttl: ttl}
}

// statusRank orders the statuses a registration moves through. The API,
// the worker and the invitation loop all write records, in whatever order
// their writes land; a write never takes a record back to an earlier
// status. Booked outranks expired: the worker honours an invitation the API
// accepted before it expired even when the loop expired it meanwhile, and
// the loop never expires a used one.
var statusRank = map[queue.Status]int{
	queue.StatusReceived:  1,
	queue.StatusQueued:    2,
	queue.StatusInvited:   3,
	queue.StatusExpired:   4,
	queue.StatusBooked:    5,
	queue.StatusDuplicate: 5,
}

// setIfNotBehind writes ARGV[1] (for ARGV[3] ms, or for good when 0) unless the stored record's
// status ranks above ARGV[2]. An unreadable stored record is replaced.
var setIfNotBehind = goredis.NewScript(`
local ranks = {received=1, queued=2, invited=3, expired=4, booked=5, duplicate=5}
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, rec = pcall(cjson.decode, cur)
  if ok and type(rec) == 'table' then
    local r = ranks[rec['status']]
    if r and r > tonumber(ARGV[2]) then
      return 0
    end
  end
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1`)

// Set records rec unless the stored record is further along; an equal
// status is replaced, so a rewrite brings its fields up to date.
func (r *Registrations) Set(ctx context.Context, rec queue.Record) error {
	rank, ok := statusRank[rec.Status]
	if !ok {
		return fmt.Errorf("write registration %s: unknown status %q", rec.Reference, rec.Status)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode registration %s: %w", rec.Reference, err)
	}
	err = setIfNotBehind.Run(ctx, r.c, []string{keyRegistration(rec.Reference)}, b, rank, r.ttl.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("write registration %s: %w", rec.Reference, err)
	}
	return nil
}

// Get returns a registration's record; an unknown reference is
// booking.ErrUnknownReference, as for Statuses.
func (r *Registrations) Get(ctx context.Context, reference string) (queue.Record, error) {
	var rec queue.Record
	b, err := r.c.Get(ctx, keyRegistration(reference)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return rec, fmt.Errorf("read registration %s: %w", reference, booking.ErrUnknownReference)
	}
	if err != nil {
		return rec, fmt.Errorf("read registration %s: %w", reference, err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("decode registration %s: %w", reference, err)
	}
	return rec, nil
}
