package main

import (
	"context"
	"io"

	"github.com/vaxbook/vaxbook/internal/devstack"
)

// runDev runs every role in one process on one port with an in-process
// Pub/Sub, so a developer needs nothing but this binary.
func runDev(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	var cfg devstack.Config
	log, err := configure(ctx, devstack.Lookup(getenv), stdout, &cfg)
	if err != nil {
		return err
	}
	s, err := devstack.Start(ctx, log, cfg)
	if err != nil {
		return err
	}
	return s.Wait()
}
