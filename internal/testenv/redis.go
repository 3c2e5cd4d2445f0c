package testenv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
)

const (
	envRedisURL     = "TEST_REDIS_URL"
	defaultRedisURL = "redis://127.0.0.1:6379"
	redisImage      = "redis:7-alpine"

	// Leases live in db 0, which no test is ever given, so a test's
	// FLUSHDB cannot wipe another test's lease.
	leaseKeyPrefix = "testenv:lease:"
	// A lease outlives its holder by at most leaseTTL, so a test process
	// killed mid-run frees its databases within a minute; live holders
	// refresh it every leaseTTL/3.
	leaseTTL = time.Minute
	// leaseWait bounds how long a test queues for a database when all are
	// leased; a dead holder's lease expires well within it.
	leaseWait    = 3 * time.Minute
	leasePoll    = 100 * time.Millisecond
	maxLeaseDB   = 15
	defaultDBMax = 16
)

// Compare-and-act scripts, so a process never refreshes or frees a lease
// that expired and now belongs to someone else.
var (
	refreshLease = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`)
	releaseLease = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`)
)

// redisState is the process's Redis server, found once.
var redisState redisEnv

type redisEnv struct {
	once    sync.Once
	baseURL string
	admin   *redis.Client // on db 0, where the leases are
	dbs     int           // leasable databases are 1..dbs
	err     error
}

// RedisURL returns redis://host:port/N where N is a Redis logical database
// leased to this test alone and emptied for it. Leases are keys in db 0, so
// they hold across every test process sharing the server; when all
// databases are taken the test waits for one. The lease ends with the test.
func RedisURL(t testing.TB) string {
	t.Helper()
	admin, baseURL, dbs, err := redisState.server()
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), leaseWait+30*time.Second)
	defer cancel()
	token := randomHex(16)
	n, err := acquireLease(ctx, admin, token, dbs)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	key := leaseKey(n)
	dbURL, err := withRedisDB(baseURL, n)
	if err != nil {
		_, _ = releaseLease.Run(ctx, admin, []string{key}, token).Result()
		t.Fatalf("testenv: %v", err)
	}

	stop := make(chan struct{})
	done := make(chan struct{})
	go keepLease(t, admin, key, token, n, stop, done)
	t.Cleanup(func() {
		close(stop)
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Emptied now rather than only by the next holder, so a long run does
		// not keep every test's keys in memory.
		if err := flushDB(ctx, admin, n); err != nil {
			t.Logf("testenv: flush Redis db %d after the test: %v", n, err)
		}
		if _, err := releaseLease.Run(ctx, admin, []string{key}, token).Result(); err != nil {
			t.Logf("testenv: release Redis db %d (it frees itself within %s): %v", n, leaseTTL, err)
		}
	})

	if err := flushDB(ctx, admin, n); err != nil {
		t.Fatalf("testenv: empty leased Redis db %d: %v", n, err)
	}
	return dbURL
}

// NewRedis returns a client on a Redis database of this test's own (see
// RedisURL), closed when the test ends.
func NewRedis(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatalf("testenv: parse Redis URL: %v", err)
	}
	c := redis.NewClient(opts)
	// Registered after RedisURL's release, so it runs before it.
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("testenv: ping Redis: %v", err)
	}
	return c
}

func acquireLease(ctx context.Context, admin *redis.Client, token string, dbs int) (int, error) {
	deadline := time.Now().Add(leaseWait)
	for {
		// Starting at a random database spreads concurrent takers out
		// instead of having them all race for db 1.
		start := rand.IntN(dbs)
		for i := range dbs {
			n := 1 + (start+i)%dbs
			ok, err := admin.SetNX(ctx, leaseKey(n), token, leaseTTL).Result()
			if err != nil {
				return 0, fmt.Errorf("lease a Redis database: %w", err)
			}
			if ok {
				return n, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("all %d Redis test databases stayed leased for %s; too many tests hold one at once, or another process keeps them (keys %s*)",
				dbs, leaseWait, leaseKeyPrefix)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("lease a Redis database: %w", ctx.Err())
		case <-time.After(leasePoll):
		}
	}
}

// keepLease refreshes the lease until stop is closed, so a test may run
// longer than leaseTTL without losing its database.
func keepLease(t testing.TB, admin *redis.Client, key, token string, n int, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(leaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), leaseTTL/6)
		kept, err := refreshLease.Run(ctx, admin, []string{key}, token, leaseTTL.Milliseconds()).Int()
		cancel()
		switch {
		case err != nil:
			// A blip is survivable: the lease still has two thirds of its TTL.
			t.Logf("testenv: refresh lease on Redis db %d: %v", n, err)
		case kept == 0:
			t.Errorf("testenv: lost the lease on Redis db %d; another test may now share it", n)
			return
		}
	}
}

func flushDB(ctx context.Context, admin *redis.Client, n int) error {
	opts := *admin.Options()
	opts.DB = n
	c := redis.NewClient(&opts)
	defer c.Close()
	return c.FlushDB(ctx).Err()
}

func leaseKey(n int) string { return leaseKeyPrefix + strconv.Itoa(n) }

func (e *redisEnv) server() (*redis.Client, string, int, error) {
	e.once.Do(func() {
		e.baseURL, e.admin, e.err = discoverRedis()
		if e.err == nil {
			e.dbs, e.err = leasableDBs(e.admin)
		}
	})
	return e.admin, e.baseURL, e.dbs, e.err
}

func (e *redisEnv) close() {
	if e.admin != nil {
		_ = e.admin.Close()
	}
}

// leasableDBs asks the server how many logical databases it has; managed
// servers that disable CONFIG get Redis's default.
func leasableDBs(admin *redis.Client) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	total := defaultDBMax
	if cfg, err := admin.ConfigGet(ctx, "databases").Result(); err == nil {
		if v, err := strconv.Atoi(cfg["databases"]); err == nil {
			total = v
		}
	}
	dbs := min(total-1, maxLeaseDB)
	if dbs < 1 {
		return 0, fmt.Errorf("testenv: the Redis server has %d logical database(s); tests need at least 2 (db 0 holds the leases)", total)
	}
	return dbs, nil
}

func discoverRedis() (string, *redis.Client, error) {
	return discover("Redis", envRedisURL, defaultRedisURL, startRedisContainer, openRedisAdmin)
}

func startRedisContainer(ctx context.Context) (string, error) {
	ctr, err := tcredis.Run(ctx, redisImage)
	return containerURL(ctr, err, redisImage, func() (string, error) { return ctr.ConnectionString(ctx) })
}

func openRedisAdmin(ctx context.Context, raw string) (*redis.Client, error) {
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("parse URL: %w", err)
	}
	opts.DB = 0
	c := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pingCtx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("ping: %w", err)
	}
	return c, nil
}

func withRedisDB(serverURL string, n int) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", fmt.Errorf("parse Redis URL: %w", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return "", errors.New("redis URL must start with redis:// or rediss://")
	}
	u.Path = "/" + strconv.Itoa(n)
	u.RawPath = ""
	return u.String(), nil
}
