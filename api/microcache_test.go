package api

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// TestLastGood_IsKeptForLastGoodMaxAgeAndNoLonger: after Redis lost the
// listing, the paths that decide on it get the last one this instance read
// until it is lastGoodMaxAge old, then the cache's error.
func TestLastGood_IsKeptForLastGoodMaxAgeAndNoLonger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.NewRedis(t)
	rows := testenv.SeedRows(listing.SlotRow{SlotID: "sel-001-2026-12-01-am", Capacity: 10})
	docs, err := listing.RenderAll(rows, time.Now(), listing.Documents{})
	if err != nil {
		t.Fatal(err)
	}
	if err := redis.NewListings(rdb).Write(ctx, docs, time.Now()); err != nil {
		t.Fatal(err)
	}
	c := newMicroCache(slog.New(slog.NewTextHandler(io.Discard, nil)), redis.NewListings(rdb), time.Second)
	clock := time.Now()
	c.now = func() time.Time { return clock }
	if e := c.get(ctx, "selangor"); e.err != nil {
		t.Fatalf("before the loss: %v", e.err)
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		after time.Duration
		kept  bool
	}{{2 * time.Second, true}, {lastGoodMaxAge, true}, {lastGoodMaxAge + 2*time.Second, false}} {
		clock = clock.Add(step.after - clock.Sub(c.items["selangor"].lastRead()))
		e := c.lastGood(ctx, "selangor")
		if got := e.err == nil && e.avail["sel-001-2026-12-01-am"] == 10; got != step.kept {
			t.Errorf("%s after the last good read: kept %v, want %v (err %v)", step.after, got, step.kept, e.err)
		}
	}
}

// lastRead is when the document an entry stands for was last read good.
func (e *entry) lastRead() time.Time {
	if e.err != nil && e.last != nil {
		return e.last.at
	}
	return e.at
}
