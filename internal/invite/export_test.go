package invite

import "time"

// SetClock makes the loop read the time from now.
func (l *Loop) SetClock(now func() time.Time) { l.Now = now }

// AfterBatch runs f after each committed batch of invitations but the last.
func (l *Loop) AfterBatch(f func()) { l.afterBatch = f }
