package postgres

import "fmt"

// Every advisory lock vaxbook takes is declared here. Advisory locks share
// one key space per database, so two uses that picked the same number would
// silently serialise, or exclude, each other; keeping them in one list is
// what makes a clash visible when the next one is added. The numbers are
// arbitrary but fixed: a process of another version must agree on them
// during a rolling deploy.

// LeaseKey names a session advisory lock that at most one process may hold
// at a time (see TryLease).
type LeaseKey int64

// CacheFillLease is held by the one cache-fill loop allowed to write the
// listings; a standby waits for it.
const CacheFillLease LeaseKey = 7_2021_0001

// InviteLease is held by the one invitation loop allowed to invite
// (docs/queue.md); two writers could hold one place for two people.
const InviteLease LeaseKey = 7_2021_0002

// RetentionLock is held, for one transaction, by the one retention pass
// (or erasure) removing personal data, so two never race on the same rows.
const RetentionLock LeaseKey = 7_2021_0003

func (k LeaseKey) String() string {
	switch k {
	case CacheFillLease:
		return "cache-fill lease"
	case InviteLease:
		return "invitation lease"
	case RetentionLock:
		return "retention lock"
	}
	return fmt.Sprintf("lease %d", int64(k))
}

// Seeds of hashtextextended for the transaction locks keyed by text. They are
// SQL literals, spliced into the queries that take the locks, and differ so
// that a person's booking and an e-mail about them never wait on each other
// even when their texts hash alike.
const (
	// personLockSeed keys the per-person lock the worker's transaction
	// takes on an IC/passport number (lockPerson in bookings.go), and
	// the registration's too (registrations.go).
	personLockSeed = "20211"
	// emailSendLockSeed keys the send-once lock on an e-mail's
	// reference/kind (tryLockEmail in emails.go).
	emailSendLockSeed = "20212"
	// stateQueueLockSeed keys the per-state lock on a state code that
	// orders a queue state's places (lockStateQueue in registrations.go):
	// the invitation loop opening the state takes it, the worker recording
	// a registration shares it, so a place is never counted against a
	// half-done opening.
	stateQueueLockSeed = "20213"
)
