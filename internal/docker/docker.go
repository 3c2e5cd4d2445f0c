// Package docker answers one question for the code that would start
// throwaway containers through testcontainers-go (tests and `vaxbook dev`):
// is there a Docker engine to start them in?
package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// Reachable reports whether a Docker engine answers. With none,
// testcontainers fails fast ("rootless Docker not found"), so asking costs
// little on a machine without one.
func Reachable(ctx context.Context) (ok bool, err error) {
	// Some provider code paths panic rather than return when no engine is
	// configured; that is still just "no Docker".
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("docker provider panicked: %v", r)
		}
	}()
	provider, err := testcontainers.ProviderDefault.GetProvider()
	if err != nil {
		return false, err
	}
	defer provider.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := provider.Health(ctx); err != nil {
		return false, err
	}
	return true, nil
}
