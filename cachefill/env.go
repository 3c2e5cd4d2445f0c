package cachefill

import (
	"fmt"
	"time"
)

// Config is the loop's own setting, read by `cachefill` and `dev`; its
// stores are configured by their adapters.
type Config struct {
	Interval time.Duration `env:"CACHEFILL_INTERVAL, default=5s"`
	// StatusTTL is the worker's and the API's STATUS_TTL: a rebuild of the
	// status records writes back the bookings decided within it, each
	// expiring when the worker's record would have.
	StatusTTL time.Duration `env:"STATUS_TTL, default=720h"`
}

// Check returns one line naming the variable at fault.
func (c Config) Check() error {
	if c.Interval <= 0 {
		return fmt.Errorf("configuration: CACHEFILL_INTERVAL: must be a positive duration, got %s", c.Interval)
	}
	if c.StatusTTL <= 0 {
		return fmt.Errorf("configuration: STATUS_TTL: must be a positive duration, got %s", c.StatusTTL)
	}
	return nil
}
