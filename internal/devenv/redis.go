package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
)

const (
	redisImage = "redis:7-alpine"
	localRedis = "127.0.0.1:6379"

	redisStartTimeout = 20 * time.Second
)

// Redis returns the URL of a Redis database for `vaxbook dev` and one line
// saying where it is. It uses a container when a Docker engine answers; else
// a server already answering PING on 127.0.0.1:6379 (db 0: the test helpers
// lease dbs 1-15 and empty them); else a throwaway redis-server started as a
// child process that keeps nothing on disk; else miniredis in this process.
// When ctx is done a started
// server or container stops; cleanup stops it too, and must be called in any
// case.
func Redis(ctx context.Context) (redisURL, how string, cleanup func(), err error) {
	return redisWith(ctx, options{})
}

func redisWith(ctx context.Context, o options) (string, string, func(), error) {
	return ways{
		container: redisContainer,
		localAddr: localRedis,
		local: func(ctx context.Context) (string, string, error) {
			u := "redis://" + localRedis + "/0"
			return u, "redis: local server at " + localRedis + ", db 0", pingRedis(ctx, u)
		},
		binaries: findRedisServer,
		start:    startRedis,
		embedded: embeddedRedis,
	}.first(ctx, o, "no Redis found: install Docker, or `apt-get install redis-server` (macOS: `brew install redis`), or set REDIS_URL")
}

func redisContainer(ctx context.Context) (string, string, func(), error) {
	ctr, err := tcredis.Run(ctx, redisImage)
	u, cleanup, err := containerURL(ctx, ctr, err, redisImage, func() (string, error) {
		u, err := ctr.ConnectionString(ctx)
		return u + "/0", err
	})
	return u, "redis: throwaway container " + redisImage + " through Docker", cleanup, err
}

func pingRedis(ctx context.Context, redisURL string) error {
	if addr := strings.TrimPrefix(redisURL, "redis://"); !listening(strings.SplitN(addr, "/", 2)[0]) {
		return errors.New("nothing listening")
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("parse %s: %w", redisURL, err)
	}
	// One quick try: a server that answers at all answers at once.
	opts.MaxRetries = -1
	opts.DialTimeout = time.Second
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("PING: %w", err)
	}
	return nil
}

// startRedis runs redis-server as a child process on a free loopback port,
// persisting nothing: dev data is demo data, reloaded on the next start.
func startRedis(ctx context.Context, bin string) (redisURL, how string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "vaxbook-redis-")
	if err != nil {
		return "", "", nil, fmt.Errorf("create working directory: %w", err)
	}
	removeDir := func() { _ = os.RemoveAll(dir) }

	c, addr, err := startOnFreePort(ctx, dir, "redis.log", nil, redisStartTimeout, func(port string) *exec.Cmd {
		return exec.CommandContext(ctx, bin,
			"--port", port,
			"--bind", "127.0.0.1",
			"--save", "",
			"--appendonly", "no",
			"--dir", dir,
		)
	}, func(ctx context.Context, addr string) error { return pingRedis(ctx, "redis://"+addr+"/0") })
	if err != nil {
		removeDir()
		return "", "", nil, fmt.Errorf("redis-server: %w", err)
	}
	stop := func() {
		c.stop()
		removeDir()
	}
	return "redis://" + addr + "/0", "redis: throwaway " + bin + " on " + addr + " (keeps nothing on disk)", stop, nil
}

// findRedisServer looks on PATH and then where packages install it, since
// /usr/sbin is not on every user's PATH.
func findRedisServer() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{
		"/usr/bin/redis-server",
		"/usr/sbin/redis-server",
		"/usr/local/bin/redis-server",
		"/opt/homebrew/bin/redis-server",
	} {
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", errors.New("redis-server not found on PATH or in /usr/bin, /usr/sbin, /usr/local/bin, /opt/homebrew/bin")
}
