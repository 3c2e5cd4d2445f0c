package cachefill

import (
	"fmt"
	"time"
)

// Config is the loop's own setting, read by `cachefill` and `dev`; its
// stores are configured by their adapters.
type Config struct {
	Interval time.Duration `env:"CACHEFILL_INTERVAL, default=5s"`
}

// Check returns one line naming the variable at fault.
func (c Config) Check() error {
	if c.Interval <= 0 {
		return fmt.Errorf("configuration: CACHEFILL_INTERVAL: must be a positive duration, got %s", c.Interval)
	}
	return nil
}
