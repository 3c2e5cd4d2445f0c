// Package redis is vaxbook's adapter to Redis: the rendered listings the
// cache-fill loop writes and the API serves, the cache-fill heartbeat, and the
// per-reference status records. Its key layout (keys.go) is known to no
// other package: callers ask by state code or reference.
package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/redact"
)

// Config is the Redis part of a role's configuration.
type Config struct {
	URL string `env:"REDIS_URL, required" json:"-"`
}

// New builds a client for url (redis://host:port/db) without connecting: a
// serving process starts and answers 503 until Redis is there.
func New(url string) (*goredis.Client, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		// go-redis quotes the whole URL, password included.
		return nil, redact.ParseError("REDIS_URL", url, func(s string) error { _, err := goredis.ParseURL(s); return err }, err)
	}
	// Fail fast: a request that cannot reach Redis should become a 503 well
	// inside the client's patience, not hang.
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = time.Second
	opts.WriteTimeout = time.Second
	return goredis.NewClient(opts), nil
}

// Open builds a client and checks the server answers.
func Open(ctx context.Context, url string) (*goredis.Client, error) {
	c, err := New(url)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("ping redis: %w", err)
	}
	return c, nil
}

// Listings reads and writes rendered documents.
type Listings struct {
	c     goredis.UniversalClient
	guard bool // Write vouches for the status records too
}

// NewListings wraps a client.
func NewListings(c goredis.UniversalClient) *Listings { return &Listings{c: c} }

// GuardingStatuses is l for the cache-fill loop, which claims the status
// records' rebuild before each write: its heartbeat must not tell GET
// /status that a record is unknown when Redis lost everything since that
// claim (writeHeartbeat).
func (l *Listings) GuardingStatuses() *Listings { return &Listings{c: l.c, guard: true} }

// State reads one state's rendered /listppv document.
func (l *Listings) State(ctx context.Context, code string) (listing.Rendered, error) {
	return l.get(ctx, keyState(code))
}

// States reads the rendered /states document.
func (l *Listings) States(ctx context.Context) (listing.Rendered, error) {
	return l.get(ctx, keyStates)
}

// get reads one rendered document in a single command.
func (l *Listings) get(ctx context.Context, key string) (listing.Rendered, error) {
	vals, err := l.c.HMGet(ctx, key, fieldBody, fieldGzip, fieldETag).Result()
	if err != nil {
		return listing.Rendered{}, fmt.Errorf("read %s: %w", key, err)
	}
	body, _ := vals[0].(string)
	gz, _ := vals[1].(string)
	etag, _ := vals[2].(string)
	if body == "" {
		return listing.Rendered{}, fmt.Errorf("read %s: %w", key, listing.ErrNotFilled)
	}
	return listing.Rendered{Body: []byte(body), Gzip: []byte(gz), ETag: etag}, nil
}

// Write stores every document and the heartbeat in one MULTI, so a reader
// never sees a heartbeat newer than the documents it vouches for.
func (l *Listings) Write(ctx context.Context, docs listing.Documents, at time.Time) error {
	_, err := l.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for code, r := range docs.ByState {
			hset(ctx, p, keyState(code), r)
		}
		hset(ctx, p, keyStates, docs.States)
		if l.guard {
			p.Eval(ctx, writeHeartbeat, []string{keyHeartbeat, keyStatusMark, keyStatusRestore}, at.UnixMilli(), lostHold.Milliseconds())
		} else {
			p.Set(ctx, keyHeartbeat, at.UnixMilli(), 0)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write %d listings: %w", len(docs.ByState)+1, err)
	}
	return nil
}

// writeHeartbeat writes the heartbeat, and, when Redis holds neither the
// status records' mark nor a rebuild's token (it lost them since the loop
// last looked), a stand-in token in the same step: GET /status takes a
// heartbeat without either to mean a missing record is unknown, and it
// must say "restoring" until the loop's next claim replaces the stand-in
// with its own rebuild's token.
const writeHeartbeat = `
if redis.call('EXISTS', KEYS[2]) == 0 and redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('SET', KEYS[3], 'lost', 'PX', ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[1])
return 1`

// lostHold is how long the stand-in token lives: the loop claims right
// after writing, and a loop that died leaves GET /status saying 404 again
// for unknown references within it.
const lostHold = 30 * time.Second

func hset(ctx context.Context, p goredis.Pipeliner, key string, r listing.Rendered) {
	p.HSet(ctx, key, fieldBody, r.Body, fieldGzip, r.Gzip, fieldETag, r.ETag)
}

// Heartbeat returns when the cache-fill loop last completed a pass.
func (l *Listings) Heartbeat(ctx context.Context) (time.Time, error) {
	s, err := l.c.Get(ctx, keyHeartbeat).Result()
	if errors.Is(err, goredis.Nil) {
		return time.Time{}, fmt.Errorf("read heartbeat: %w", listing.ErrNotFilled)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read heartbeat: %w", err)
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("read heartbeat %q: %w", s, err)
	}
	return time.UnixMilli(ms), nil
}

// Statuses stores what /status shows for each reference.
type Statuses struct {
	c   goredis.UniversalClient
	cmd goredis.Cmdable // c, or c's autopipeliner
	ttl time.Duration
}

// NewStatuses wraps a client; records expire after ttl (Postgres keeps the
// truth, Redis only the view of it). On a plain client the per-booking
// commands go through go-redis's autopipeliner: under a surge every
// submission and every push costs a Redis round trip, and batching the
// concurrent ones into one write and one read is what keeps /submit near
// the cost of the publish itself (docs/performance.md). The pipeliner's
// goroutines stop when the client is closed.
func NewStatuses(c goredis.UniversalClient, ttl time.Duration) *Statuses {
	s := &Statuses{c: c, cmd: c, ttl: ttl}
	if pc, ok := c.(*goredis.Client); ok {
		if ap, err := pc.AutoPipeline(); err == nil {
			s.cmd = ap
		}
	}
	return s
}

// SetPending records a pending status unless the worker already wrote a
// final one: the API and the worker race, and the worker must win.
func (s *Statuses) SetPending(ctx context.Context, reference string) error {
	b, err := encode(booking.StatusRecord{Reference: reference, Status: booking.StatusPending})
	if err != nil {
		return err
	}
	if err := s.cmd.SetNX(ctx, keyStatus(reference), b, s.ttl).Err(); err != nil {
		return fmt.Errorf("write pending status %s: %w", reference, err)
	}
	return nil
}

// Set records a final status, replacing whatever was there.
func (s *Statuses) Set(ctx context.Context, rec booking.StatusRecord) error {
	b, err := encode(rec)
	if err != nil {
		return err
	}
	if err := s.cmd.Set(ctx, keyStatus(rec.Reference), b, s.ttl).Err(); err != nil {
		return fmt.Errorf("write status %s: %w", rec.Reference, err)
	}
	return nil
}

// setNewer writes ARGV[1] unless the stored record's sequence is above
// ARGV[2]: pushes about one booking commit in order but reach Redis in any.
var setNewer = goredis.NewScript(`
local old = redis.call('GET', KEYS[1])
if old then
  local ok, rec = pcall(cjson.decode, old)
  if ok and type(rec) == 'table' and tonumber(rec.sequence or 0) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`)

// SetNewer records a booking's record after a cancel or change, unless a
// later one (a higher Sequence) is stored already.
func (s *Statuses) SetNewer(ctx context.Context, rec booking.StatusRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode status %s: %w", rec.Reference, err)
	}
	if err := setNewer.Run(ctx, s.c, []string{keyStatus(rec.Reference)}, b, rec.Sequence, s.ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("write status %s: %w", rec.Reference, err)
	}
	return nil
}

// Ping checks Redis answers, for readiness.
func (s *Statuses) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// encode is a status record as stored; the rebuild compares stored bytes
// with a pending record's, so every writer encodes through here.
func encode(rec booking.StatusRecord) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode status %s: %w", rec.Reference, err)
	}
	return b, nil
}

// GetRaw returns the stored JSON of a status record as is, for serving. A
// missing record is booking.ErrStatusesRestoring while Redis may have lost
// it and the cache-fill loop has not written the records back yet (a
// rebuild is under way, or the heartbeat it writes first is gone too), and
// booking.ErrUnknownReference otherwise. One MGET tells them apart, so the
// answer costs the round trip a GET would.
func (s *Statuses) GetRaw(ctx context.Context, reference string) ([]byte, error) {
	vals, err := s.cmd.MGet(ctx, keyStatus(reference), keyStatusRestore, keyHeartbeat).Result()
	if err != nil {
		return nil, fmt.Errorf("read status %s: %w", reference, err)
	}
	if b, ok := vals[0].(string); ok {
		return []byte(b), nil
	}
	if vals[1] != nil || vals[2] == nil {
		return nil, fmt.Errorf("read status %s: %w", reference, booking.ErrStatusesRestoring)
	}
	return nil, fmt.Errorf("read status %s: %w", reference, booking.ErrUnknownReference)
}

// Get returns a decoded status record.
func (s *Statuses) Get(ctx context.Context, reference string) (booking.StatusRecord, error) {
	var rec booking.StatusRecord
	b, err := s.GetRaw(ctx, reference)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("decode status %s: %w", reference, err)
	}
	return rec, nil
}
