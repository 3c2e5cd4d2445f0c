package booking

import "errors"

// ErrUnknownReference means no status is recorded for a reference.
var ErrUnknownReference = errors.New("unknown reference")

// ErrStatusesRestoring means no status is recorded for a reference while
// the status records are being written back from Postgres after Redis lost
// them: the reference may well be known, so "unknown" would be a lie.
var ErrStatusesRestoring = errors.New("status records are being restored")
