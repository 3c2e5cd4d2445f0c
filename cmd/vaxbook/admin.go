package main

import (
	"context"
	"io"

	"github.com/vaxbook/vaxbook/admin"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/redis"
	"github.com/vaxbook/vaxbook/internal/serve"
)

// adminMaxConns: staff clicks, not a surge. Counted in worker.yaml's
// Cloud SQL connection budget.
const adminMaxConns = 4

func runAdmin(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	var cfg adminConfig
	log, err := configure(ctx, getenv, stdout, &cfg)
	if err != nil {
		return err
	}
	verifier, err := admin.NewGoogle(ctx, cfg.Admin.ClientID)
	if err != nil {
		return err
	}
	ids, err := pii.Configured(cfg.Admin.IDPepper)
	if err != nil {
		return err
	}
	manage, err := cfg.Admin.ManageSigner()
	if err != nil {
		return err
	}
	cfg.Database.MaxConns = adminMaxConns
	pool, rdb, closeStores, err := openStores(ctx, log, cfg.Database, cfg.Redis)
	if err != nil {
		return err
	}
	defer closeStores()
	mail, stop, err := channelPublishers(ctx, cfg.Project, cfg.EmulatorHost, cfg.Admin.EmailTopic, cfg.SMSTopic)
	if err != nil {
		return err
	}
	defer stop()

	h := admin.NewServer(log, admin.Options{
		Store: postgres.NewAdmin(pool), Verifier: verifier, IDs: ids, Mail: mail,
		Statuses: redis.NewStatuses(rdb, cfg.Admin.StatusTTL), Manage: manage, ClientID: cfg.Admin.ClientID,
	})
	ln, err := serve.Listen(cfg.Port)
	if err != nil {
		return err
	}
	return serve.Serve(ctx, log, ln, h)
}
