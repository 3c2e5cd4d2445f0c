package devstack_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/devstack"
)

// nonLoopbackIP is an address of this machine that others on its network
// could dial, or nil.
func nonLoopbackIP(t *testing.T) net.IP {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP
		}
	}
	return nil
}

// Issue 11, item 7: `vaxbook dev` serves /dev/mail and unauthenticated
// /push/* and must not be reachable from the LAN unless asked.
func TestStart_ListensOnLoopbackUnlessToldOtherwise(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error"}, true)
	host, port, _ := net.SplitHostPort(s.Addr())
	if host != "127.0.0.1" {
		t.Errorf("listening on %s, want 127.0.0.1", s.Addr())
	}
	if ip := nonLoopbackIP(t); ip != nil {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip.String(), port), time.Second); err == nil {
			c.Close()
			t.Errorf("dev answered on %s:%s, an address other machines can reach", ip, port)
		}
	} else {
		t.Log("no non-loopback address on this machine: only the listener's address is checked")
	}

	open := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error", "DEV_LISTEN_ADDR": "0.0.0.0"}, true)
	if host, _, _ := net.SplitHostPort(open.Addr()); host != "0.0.0.0" && host != "::" {
		t.Errorf("DEV_LISTEN_ADDR=0.0.0.0: listening on %s, want every interface", open.Addr())
	}
	check(t, open.URL(), []route{{"GET", "/healthz", 200, "application/json"}})
}

func TestStart_DevListenAddrWithAPortIsRefused(t *testing.T) {
	t.Parallel()
	var cfg devstack.Config
	env := map[string]string{"DEV_LISTEN_ADDR": "0.0.0.0:8080"}
	if err := config.Load(context.Background(), devstack.Lookup(func(k string) string { return env[k] }), &cfg); err != nil {
		t.Fatal(err)
	}
	_, err := devstack.Start(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	if err == nil || !strings.Contains(err.Error(), "DEV_LISTEN_ADDR") {
		t.Errorf("got %v, want an error naming DEV_LISTEN_ADDR", err)
	}
}
