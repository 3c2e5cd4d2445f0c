package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// The status records' own loss detection, the shape of the queue marks'
// (queuemarks.go): a mark that only a finished rebuild writes, and a token
// that a second loss takes with it.

// claimRestore answers what rebuild the caller should be doing: none (the
// mark is there), the one it holds (its token is still there, and lives on),
// or a new one under the token it offers.
var claimRestore = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return ''
end
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return ARGV[1]
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return ARGV[2]`)

// ClaimRestore tells the cache-fill loop, holding the rebuild held ("" for
// none), which rebuild of the status records to do: "" when Redis holds
// them all, held to go on with it, or a new token to start over from the
// first booking, because Redis lost the records (again). The token lives
// for ttl from each call, so a rebuild whose loop died stops telling
// GET /status to wait.
func (s *Statuses) ClaimRestore(ctx context.Context, held string, ttl time.Duration) (string, error) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails
	token, err := claimRestore.Run(ctx, s.c, []string{keyStatusMark, keyStatusRestore},
		held, hex.EncodeToString(b[:]), ttl.Milliseconds()).Text()
	if err != nil {
		return "", fmt.Errorf("look for the status records' mark: %w", err)
	}
	return token, nil
}

// finishStatusRestore writes the mark only while the rebuild's token is
// still there.
var finishStatusRestore = goredis.NewScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], '1')
redis.call('DEL', KEYS[2])
return 1`)

// FinishRestore writes the mark once every record is written again, and
// reports false, writing nothing, when Redis lost data since the rebuild
// began: the next ClaimRestore then starts another.
func (s *Statuses) FinishRestore(ctx context.Context, token string) (bool, error) {
	n, err := finishStatusRestore.Run(ctx, s.c, []string{keyStatusMark, keyStatusRestore}, token).Int()
	if err != nil {
		return false, fmt.Errorf("finish restoring the status records: %w", err)
	}
	return n == 1, nil
}

// restoreStatus writes a final record where there is none, or only the
// pending one the API wrote: after a loss the API's pending write can land
// after the worker's final one it was racing, and then nothing would
// replace it. A final record is never touched: the worker's is as new.
var restoreStatus = goredis.NewScript(`
local old = redis.call('GET', KEYS[1])
if old and old ~= ARGV[3] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)

// Restore writes back the records of decided bookings that Redis lacks (or
// shows pending) in one pipeline, each expiring when the worker's would
// have (decided + the records' TTL, as of now). It returns how many it
// wrote.
func (s *Statuses) Restore(ctx context.Context, decided []booking.Decided, now time.Time) (int, error) {
	if len(decided) == 0 {
		return 0, nil
	}
	// A restarted Redis has forgotten its scripts; the pipeline below
	// cannot fall back from EVALSHA one command at a time.
	if err := restoreStatus.Load(ctx, s.c).Err(); err != nil {
		return 0, fmt.Errorf("load the restore script: %w", err)
	}
	p := s.c.Pipeline()
	cmds := make([]*goredis.Cmd, 0, len(decided))
	for _, d := range decided {
		ttl := d.At.Add(s.ttl).Sub(now)
		if ttl < time.Millisecond {
			continue
		}
		b, err := encode(d.Record)
		if err != nil {
			return 0, err
		}
		pending, err := encode(booking.StatusRecord{Reference: d.Record.Reference, Status: booking.StatusPending})
		if err != nil {
			return 0, err
		}
		cmds = append(cmds, restoreStatus.EvalSha(ctx, p, []string{keyStatus(d.Record.Reference)}, b, ttl.Milliseconds(), pending))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return 0, fmt.Errorf("write back %d status records: %w", len(cmds), err)
	}
	n := 0
	for _, c := range cmds {
		if v, _ := c.Int(); v == 1 {
			n++
		}
	}
	return n, nil
}
