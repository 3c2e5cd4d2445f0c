package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/queue"
)

// Registrations stores what GET /registration shows for each registration,
// and each queue state's invited-through mark (queuemarks.go).
type Registrations struct {
	c   goredis.UniversalClient
	ttl time.Duration
}

// NewRegistrations wraps a client; records expire after ttl (Postgres keeps
// the truth, Redis only the view of it).
func NewRegistrations(c goredis.UniversalClient, ttl time.Duration) *Registrations {
	return &Registrations{c: c, ttl: ttl}
}

// statusRank orders a registration's statuses as they can follow each
// other: the API, the worker and the invitation loop write records without
// a common lock, so a late write must not undo a later status. Booked
// outranks expired: the worker honours an invitation the API accepted
// before it expired even when the loop has expired it meanwhile
// (docs/queue.md), while the loop never expires a used one.
var statusRank = map[queue.Status]int{
	queue.StatusReceived:  1,
	queue.StatusQueued:    2,
	queue.StatusInvited:   3,
	queue.StatusExpired:   4,
	queue.StatusDuplicate: 4,
	queue.StatusBooked:    5,
}

// setRecord writes ARGV[1] unless the stored record's status ranks above
// ARGV[2]'s, or is another final status of the same rank: a record moves
// forward only, and one of the same status is replaced (its place may have
// changed). Ranks are spliced in from statusRank.
var setRecord = goredis.NewScript(`
local ranks = {` + luaRanks() + `}
local old = redis.call('GET', KEYS[1])
if old then
  local ok, rec = pcall(cjson.decode, old)
  if ok and type(rec) == 'table' and rec.status ~= ARGV[2] then
    local was = ranks[rec.status] or 0
    local now = ranks[ARGV[2]] or 0
    if was > now or (was == now and was == 4) then
      return 0
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`)

func luaRanks() string {
	var b strings.Builder
	for s, r := range statusRank {
		fmt.Fprintf(&b, "[%q]=%d,", s, r)
	}
	return b.String()
}

// Set records rec unless the stored record is further along (received <
// queued < invited < expired or duplicate < booked; expired and duplicate
// are final, and only a late booking follows an expiry); a record kept is
// not an error.
func (r *Registrations) Set(ctx context.Context, rec queue.Record) error {
	if _, known := statusRank[rec.Status]; !known {
		return fmt.Errorf("registration %s: unknown status %q", rec.Reference, rec.Status)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode registration %s: %w", rec.Reference, err)
	}
	if err := setRecord.Run(ctx, r.c, []string{keyRegistration(rec.Reference)}, b, string(rec.Status), r.ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("write registration %s: %w", rec.Reference, err)
	}
	return nil
}

// Get returns a registration's record; booking.ErrUnknownReference when
// there is none.
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
