package booking

import "errors"

// ErrUnknownReference means no status is recorded for a reference.
var ErrUnknownReference = errors.New("unknown reference")
