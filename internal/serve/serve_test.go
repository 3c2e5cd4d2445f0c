package serve_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/serve"
)

func TestServe_FinishesRequestsInFlightOnShutdown(t *testing.T) {
	t.Parallel()
	ln, err := serve.Listen("0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-time.After(500 * time.Millisecond):
		case <-r.Context().Done():
			t.Error("the request's context was cancelled by shutdown")
		}
		_, _ = io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve.Serve(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), ln, h) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-started
	cancel() // SIGTERM arrives mid-request
	if body := <-got; body != "done" {
		t.Errorf("in-flight request: got %q, want done", body)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(serve.ShutdownGrace):
		t.Error("Serve did not return after draining")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		t.Error("the server still accepts requests after shutdown")
	}
}

func TestListenOn_BindsTheGivenInterfaceOnly(t *testing.T) {
	t.Parallel()
	ln, err := serve.ListenOn("127.0.0.1", "0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		t.Errorf("ListenOn(127.0.0.1): listening on %s, want loopback", ln.Addr())
	}
}
