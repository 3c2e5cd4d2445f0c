package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/queue"
)

// Registrations stores what GET /registration shows for each reference, and
// each queue state's invited-through mark, from which the API computes how
// many people are ahead without reading Postgres.
//
// The records carry no expiry: a person may wait in a queue for weeks, and
// losing their record would answer 404 to someone still queued. They are
// small, and Postgres rebuilds any that are lost.
type Registrations struct{ c goredis.UniversalClient }

// NewRegistrations wraps a client.
func NewRegistrations(c goredis.UniversalClient) *Registrations { return &Registrations{c: c} }

// statusRank orders the statuses a registration moves through; Set never
// moves a record back. The API's received, the worker's queued, the loop's
// invited, and the ends (booked, expired, duplicate) are written by
// different processes that race, and the later step must win. Equal ranks
// replace each other, so a queued record can gain its place at opening.
var statusRank = map[queue.Status]int{
	queue.StatusReceived:  0,
	queue.StatusQueued:    1,
	queue.StatusInvited:   2,
	queue.StatusBooked:    3,
	queue.StatusExpired:   3,
	queue.StatusDuplicate: 3,
}

// setRecord writes ARGV[1] at KEYS[1] unless the stored record's status
// ranks above ARGV[2] (ranks in ARGV[3], a JSON object by status); it
// returns 1 when it wrote.
var setRecord = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, rec = pcall(cjson.decode, cur)
  local ranks = cjson.decode(ARGV[3])
  if ok and type(rec) == 'table' and ranks[rec.status] and ranks[rec.status] > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1`)

// raiseMark sets KEYS[1] to ARGV[1] unless it already holds more.
var raiseMark = goredis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0`)

var ranksJSON = func() string {
	b, err := json.Marshal(statusRank)
	if err != nil {
		panic(err) // a map of strings to ints always encodes
	}
	return string(b)
}()

// Set records rec unless the stored record is further along (see
// statusRank).
func (r *Registrations) Set(ctx context.Context, rec queue.Record) error {
	rank, known := statusRank[rec.Status]
	if !known {
		return fmt.Errorf("write registration %s: unknown status %q", rec.Reference, rec.Status)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode registration %s: %w", rec.Reference, err)
	}
	if err := setRecord.Run(ctx, r.c, []string{keyRegistration(rec.Reference)}, b, rank, ranksJSON).Err(); err != nil {
		return fmt.Errorf("write registration %s: %w", rec.Reference, err)
	}
	return nil
}

// Get returns a registration's record; an unknown reference is
// booking.ErrUnknownReference.
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

// SetMark records that a state's queue is invited through place mark. The
// mark never goes down: a loop that lost its lease mid-round must not undo
// its successor's progress.
func (r *Registrations) SetMark(ctx context.Context, state string, mark int64) error {
	if err := raiseMark.Run(ctx, r.c, []string{keyInvitedMark(state)}, mark).Err(); err != nil {
		return fmt.Errorf("write invited mark of %s: %w", state, err)
	}
	return nil
}

// Mark returns the highest place invited in a state so far; 0 before the
// first invitation.
func (r *Registrations) Mark(ctx context.Context, state string) (int64, error) {
	s, err := r.c.Get(ctx, keyInvitedMark(state)).Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read invited mark of %s: %w", state, err)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read invited mark of %s %q: %w", state, s, err)
	}
	return n, nil
}
