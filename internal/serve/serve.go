// Package serve runs an HTTP server the way Cloud Run expects: listen first,
// serve until the context ends, then drain requests in flight within the
// 10 seconds Cloud Run allows after SIGTERM.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownGrace leaves Cloud Run's 10 s SIGTERM window some room for the
// deferred closes that run after the server has drained.
const ShutdownGrace = 7 * time.Second

// Listen opens the port on every interface, as Cloud Run needs, before
// anything is served, so a caller (or a test) knows the address is taken
// and ready.
func Listen(port string) (net.Listener, error) {
	return ListenOn("", port)
}

// ListenOn is Listen on one interface's address only (host: an IP or a
// name; empty means every interface).
func ListenOn(host, port string) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", net.JoinHostPort(host, port), err)
	}
	return ln, nil
}

// Serve serves h on ln until ctx is done, then shuts down gracefully.
func Serve(ctx context.Context, log *slog.Logger, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
