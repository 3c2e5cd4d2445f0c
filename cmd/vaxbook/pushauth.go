package main

import (
	"context"
	"log/slog"

	"github.com/vaxbook/vaxbook/internal/pushauth"
	"github.com/vaxbook/vaxbook/worker"
)

// workerPushAuth checks the worker's push authentication settings and
// returns the option that applies them. PUSH_AUTH=off is said out loud in
// the log: a deployed worker without it answers anyone who can reach it.
func workerPushAuth(ctx context.Context, log *slog.Logger, cfg pushauth.Config) (worker.Option, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Off() {
		log.Warn("PUSH_AUTH=off: push routes accept requests without Pub/Sub's token")
		return worker.WithoutPushAuth(), nil
	}
	if cfg.Unset() {
		// Fail closed, not at start: the contract's worker starts with
		// DATABASE_URL and REDIS_URL alone, and an unverified push must
		// still book nothing.
		log.Error("push authentication is on but PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT are not set: every push is refused with 401 (PUSH_AUTH=off only for local runs)")
		return worker.WithPushAuth(nil), nil
	}
	v, err := pushauth.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	log.Info("push authentication on", "audience", cfg.Audience+"/push/…", "service_account", cfg.ServiceAccount)
	return worker.WithPushAuth(v), nil
}
