package redis

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestProofTries_BoundsTriesEvenWhenTheyArriveAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := NewProofTries(testenv.NewRedis(t))
	var granted atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			ok, err := p.Reserve(ctx, "c1", 5, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if got := granted.Load(); got != 5 {
		t.Errorf("40 tries at once: %d granted, want 5", got)
	}
	if ok, _ := p.Reserve(ctx, "c2", 5, time.Minute); !ok {
		t.Error("another challenge was refused: counts must be per challenge")
	}
}

func TestProofTries_RefundedTriesDoNotCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := NewProofTries(testenv.NewRedis(t))
	for i := range 10 {
		ok, err := p.Reserve(ctx, "c", 2, time.Minute)
		if err != nil || !ok {
			t.Fatalf("try %d: %t, %v; want granted, since every try is refunded", i, ok, err)
		}
		if err := p.Refund(ctx, "c"); err != nil {
			t.Fatal(err)
		}
	}
	_ = p.Refund(ctx, "c") // more refunds than tries
	for i := range 2 {
		if ok, _ := p.Reserve(ctx, "c", 2, time.Minute); !ok {
			t.Fatalf("try %d after refunds: refused", i)
		}
	}
	if ok, _ := p.Reserve(ctx, "c", 2, time.Minute); ok {
		t.Error("third unrefunded try of 2 granted")
	}
}

func TestProofTries_CountEndsWithTheChallenge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.NewRedis(t)
	p := NewProofTries(rdb)
	if _, err := p.Reserve(ctx, "c", 5, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	ttl := rdb.PTTL(ctx, keyProofTries("c")).Val()
	if ttl <= 0 || ttl > 90*time.Second {
		t.Errorf("TTL %s, want about 90s", ttl)
	}
}
