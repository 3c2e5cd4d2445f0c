package ratelimit_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/ratelimit"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var testKey = []byte("0123456789abcdef-test")

func TestParseLimit(t *testing.T) {
	t.Parallel()
	good := map[string]ratelimit.Limit{
		"10/m":     {Rate: 10, Period: time.Minute, Burst: 10},
		"5/30s:10": {Rate: 5, Period: 30 * time.Second, Burst: 10},
		"100/h:20": {Rate: 100, Period: time.Hour, Burst: 20},
		"3/d":      {Rate: 3, Period: 24 * time.Hour, Burst: 3},
		"off":      {},
		"0":        {},
	}
	for in, want := range good {
		got, err := ratelimit.ParseLimit(in)
		if err != nil || got != want {
			t.Errorf("ParseLimit(%q): got %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10", "10/", "x/m", "0/m", "-1/m", "10/fortnight", "10/m:", "10/m:0", "10/100ms"} {
		if l, err := ratelimit.ParseLimit(in); err == nil {
			t.Errorf("ParseLimit(%q): got %+v, want an error", in, l)
		}
	}
}

// Two Stores on one Redis are two API instances: the allowance is shared.
func TestStore_LimitIsSharedByEveryInstance(t *testing.T) {
	t.Parallel()
	rdb := testenv.NewRedis(t)
	a, _ := ratelimit.New(rdb, testKey)
	b, _ := ratelimit.New(rdb, testKey)
	lim := ratelimit.Limit{Rate: 3, Period: time.Hour, Burst: 3}
	ctx := context.Background()
	var allowed []bool
	for i := range 6 {
		s := a
		if i%2 == 1 {
			s = b
		}
		d, err := s.Allow(ctx, "submit", lim, "203.0.113.9")
		if err != nil {
			t.Fatal(err)
		}
		allowed = append(allowed, d.Allowed)
		if !d.Allowed && d.RetryAfter <= 0 {
			t.Errorf("refused without a RetryAfter: %+v", d)
		}
	}
	if want := []bool{true, true, true, false, false, false}; !slices.Equal(allowed, want) {
		t.Errorf("allowed: got %v, want %v", allowed, want)
	}
	if d, _ := a.Allow(ctx, "submit", lim, "203.0.113.10"); !d.Allowed {
		t.Error("another client was refused")
	}
	if d, _ := a.Allow(ctx, "status", lim, "203.0.113.9"); !d.Allowed {
		t.Error("another limit's allowance was spent")
	}
}

func TestStore_RedisHoldsNoRawAddressOrContact(t *testing.T) {
	t.Parallel()
	rdb := testenv.NewRedis(t)
	s, _ := ratelimit.New(rdb, testKey)
	ctx := context.Background()
	if _, err := s.Allow(ctx, "submit", ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 1}, "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Take(ctx, "submit", "email", "siti@example.com", ratelimit.Cap{Max: 1, Window: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Take(ctx, "submit", "phone", "+60123456789", ratelimit.Cap{Max: 1, Window: time.Hour}); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Errorf("keys: got %v, want 3", keys)
	}
	for _, k := range keys {
		for _, raw := range []string{"203.0.113.9", "siti", "example.com", "60123456789"} {
			if strings.Contains(k, raw) {
				t.Errorf("key %q holds %q", k, raw)
			}
		}
	}
	// Another key gives other names: the HMAC is keyed.
	other, _ := ratelimit.New(rdb, []byte("another-key-0123456789"))
	if _, err := other.Allow(ctx, "submit", ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 1}, "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.DBSize(ctx).Result(); n != 4 {
		t.Errorf("keys after another secret: got %d, want 4", n)
	}
	if _, err := ratelimit.New(rdb, []byte("short")); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

func TestStore_ContactCapCountsUsesAndGivesBackUnusedOnes(t *testing.T) {
	t.Parallel()
	rdb := testenv.NewRedis(t)
	s, _ := ratelimit.New(rdb, testKey)
	ctx := context.Background()
	c := ratelimit.Cap{Max: 2, Window: time.Hour}
	// Variants of one mailbox are one contact.
	for _, email := range []string{"Siti.Aminah+1@gmail.com", "sitiaminah@googlemail.com"} {
		if _, _, err := s.Take(ctx, "submit", "email", email, c); err != nil {
			t.Fatalf("%s: %v", email, err)
		}
	}
	_, retry, err := s.Take(ctx, "submit", "email", "SITIAMINAH+x@gmail.com", c)
	if !errors.Is(err, ratelimit.ErrCapped) || retry < 59*time.Minute || retry > time.Hour {
		t.Errorf("third use: got %v retry %s, want ErrCapped within the hour", err, retry)
	}
	// Other scopes and contacts have their own counts.
	if _, _, err := s.Take(ctx, "register", "email", "sitiaminah@gmail.com", c); err != nil {
		t.Errorf("register scope: %v", err)
	}
	release, _, err := s.Take(ctx, "submit", "phone", "+60123456789", ratelimit.Cap{Max: 1, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Take(ctx, "submit", "phone", "+60 12-345 6789", ratelimit.Cap{Max: 1, Window: time.Hour}); err != nil {
		t.Errorf("after release: %v, want the use given back", err)
	}
	if _, _, err := s.Take(ctx, "submit", "phone", "+60123456789", ratelimit.Cap{}); err != nil {
		t.Errorf("no cap: %v", err)
	}
}

func TestStore_RedisDownIsAnError(t *testing.T) {
	t.Parallel()
	rdb := testenv.NewRedis(t)
	s, _ := ratelimit.New(rdb, testKey)
	_ = rdb.Close()
	if _, err := s.Allow(context.Background(), "submit", ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 1}, "x"); err == nil {
		t.Error("Allow on a closed client: no error")
	}
}
