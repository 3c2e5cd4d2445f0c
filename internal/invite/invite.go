// Package invite is the invitation loop of the registration queue
// (docs/queue.md): every interval, for each queue state whose opening time
// has come, it puts the early registrations in a random order once, expires
// unused invitations, invites as many next registrants as there are free
// places, and then asks for their messages and writes their Redis records.
// Any number of copies may run; only the holder of the Postgres lease
// invites.
package invite

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/leased"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/telemetry"
)

// Records stores what GET /registration shows (redis.Registrations).
type Records interface {
	Set(ctx context.Context, rec queue.Record) error
	// MarkExists reports whether the state's mark is in Redis; the loop
	// keeps it there, so its absence means Redis lost the records.
	MarkExists(ctx context.Context, state string) (bool, error)
	// RaiseMark raises a mark that is there and never creates one.
	RaiseMark(ctx context.Context, state string, place int64) (bool, error)
	// BeginRestore and FinishRestore bracket a rebuild: the mark comes back
	// only if Redis lost nothing more while the records were written.
	BeginRestore(ctx context.Context, state string) (string, error)
	FinishRestore(ctx context.Context, state, token string, place int64) (bool, error)
}

// Publisher asks for an e-mail (pubsub.Publisher on email-topic). Every
// registration gives an address, so until an SMS channel exists the
// messages go by e-mail whatever the registrant's contact choice, which
// the request carries for the channel that will honour it.
type Publisher interface {
	Publish(ctx context.Context, r email.Request) error
}

// publishers bounds the messages in flight at once: each Publish waits for
// Pub/Sub's ack, so one at a time would make a round of 10,000 invitations
// take minutes.
const publishers = 64

// rebuildPage is how many records one read of a rebuild brings from
// Postgres.
const rebuildPage = 1000

// Loop is the invitation loop. Each pass takes the lease if free and,
// holding it, runs one round in every queue state.
type Loop struct {
	*leased.Loop
	log     *slog.Logger
	records Records
	pub     Publisher
	signer  *queue.Signer
	cfg     Config

	// afterBatch, when set (by tests), runs after each committed batch of
	// invitations but the last.
	afterBatch func()
}

// pass is the loop during one pass, with the lease it holds.
type pass struct {
	*Loop
	lease *postgres.Lease
}

// New returns a loop that runs every cfg.Interval and signs with signer
// (cfg.Check's).
func New(log *slog.Logger, pool *pgxpool.Pool, records Records, pub Publisher, signer *queue.Signer, cfg Config) *Loop {
	l := &Loop{log: log, records: records, pub: pub, signer: signer, cfg: cfg}
	l.Loop = leased.New(log, pool, postgres.InviteLease, "invitation", "invites", cfg.Interval, 30*time.Second,
		func(ctx context.Context, lease *postgres.Lease) (time.Time, bool, error) {
			return pass{l, lease}.run(ctx)
		})
	return l
}

// run is one pass's rounds: it says to drop the lease when its connection
// is gone.
func (l pass) run(ctx context.Context) (time.Time, bool, error) {
	now := l.Now()
	states, err := l.lease.QueueStates(ctx, now)
	if err != nil {
		return now, true, err
	}
	var errs []error
	due := map[string]bool{}
	for _, st := range states {
		due[st.Code] = true
		if err := l.round(ctx, st, now); err != nil {
			errs = append(errs, fmt.Errorf("queue state %s: %w", st.Code, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := l.restoreWaiting(ctx, due); err != nil {
		errs = append(errs, err)
	}
	return now, l.lease.Lost(), errors.Join(errs...)
}

// round is one state's turn: what changes Postgres first, each step in its
// own transactions, then what is told about it. The telling steps run even
// when inviting failed, and pick up whatever an earlier round committed but
// did not tell, so a crash between commit and publish only delays messages.
func (l pass) round(ctx context.Context, st postgres.QueueState, now time.Time) error {
	state := st.Code
	// Read before anything this round writes the mark.
	kept, err := l.records.MarkExists(ctx, state)
	if err != nil {
		return err
	}
	restore := ""
	if !kept {
		if restore, err = l.records.BeginRestore(ctx, state); err != nil {
			return err
		}
	}
	keyed, err := l.lease.Open(ctx, state, now, shuffle)
	if err != nil {
		return err
	}
	if keyed > 0 {
		l.log.Info("queue opened: early registrations put in a random order", "state", state, "registrations", keyed)
	}
	expired, err := l.lease.Expire(ctx, state, now)
	if err != nil {
		return err
	}
	invited, inviteErr := l.invite(ctx, state, now)
	telemetry.QueueRound(ctx, state, invited, expired)
	if expired > 0 || invited > 0 {
		l.log.Info("invitation round", "state", state, "invited", invited, "expired", expired)
	}
	tellErr := errors.Join(inviteErr, l.tellInvited(ctx, state, now), l.tellExpired(ctx, state, now))
	// The opening gave the early batch its places and moved everyone
	// else's, which their records do not show yet.
	if !kept || (!st.Opened && keyed > 0) {
		if err := l.rebuild(ctx, state, kept); err != nil {
			return errors.Join(tellErr, err)
		}
	}
	return errors.Join(tellErr, l.mark(ctx, state, restore))
}

// restoreWaiting rebuilds the records of the queue states not yet due (their
// opening time to come) whose mark Redis lost, and writes their mark, so
// that people registered early still find their registration.
func (l pass) restoreWaiting(ctx context.Context, due map[string]bool) error {
	all, err := l.lease.QueueModeStates(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, state := range all {
		if due[state] {
			continue
		}
		kept, err := l.records.MarkExists(ctx, state)
		if err == nil && !kept {
			var restore string
			if restore, err = l.records.BeginRestore(ctx, state); err == nil {
				if err = l.rebuild(ctx, state, kept); err == nil {
					err = l.mark(ctx, state, restore)
				}
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("queue state %s: %w", state, err))
		}
	}
	return errors.Join(errs...)
}

// rebuild writes every registration record of state again from Postgres,
// page by page. Writes never move a record back (redis.Registrations.Set),
// so a worker or API write racing with it wins when it is further along.
// The mark is written after it by the round: a rebuild cut short leaves the
// mark missing and is done again next round.
func (l pass) rebuild(ctx context.Context, state string, kept bool) error {
	after, n := "", 0
	for {
		recs, err := l.lease.Records(ctx, state, after, rebuildPage)
		if err != nil || len(recs) == 0 {
			if n > 0 {
				l.log.Info("registration records written again from Postgres", "state", state, "records", n, "redis_lost_them", !kept)
			}
			return err
		}
		done, err := each(ctx, recs, func(ctx context.Context, rec queue.Record) (string, error) {
			return rec.Reference, l.records.Set(ctx, rec)
		})
		n += len(done)
		if err != nil {
			return fmt.Errorf("rebuild records of %s: %w", state, err)
		}
		after = recs[len(recs)-1].Reference
	}
}

// invite issues invitations batch by batch until the free places, the
// queue or the round's cap run out.
func (l pass) invite(ctx context.Context, state string, now time.Time) (int, error) {
	// The token carries its expiry in whole seconds; the stored one must
	// be the same instant so that the token can be made again from it.
	expiresAt := now.Add(l.cfg.TTL).Truncate(time.Second)
	hash := func(ref, idHash string) string { return queue.TokenHash(l.signer.Sign(ref, state, idHash, expiresAt)) }
	total := 0
	for {
		limit := l.cfg.Batch
		if l.cfg.RoundMax > 0 {
			limit = min(limit, l.cfg.RoundMax-total)
		}
		if limit <= 0 {
			return total, nil
		}
		n, err := l.lease.Invite(ctx, state, now, expiresAt, limit, hash)
		total += n
		if err != nil || n < limit {
			return total, err
		}
		if l.afterBatch != nil {
			l.afterBatch()
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// tellInvited writes the record and asks for the message of every
// invitation not yet told, then marks those that went. The send-once
// record of the e-mail makes a repeat after a crash harmless.
func (l pass) tellInvited(ctx context.Context, state string, now time.Time) error {
	return tell(ctx, "invited",
		func() ([]postgres.Invitee, error) { return l.lease.Unnotified(ctx, state, now, l.cfg.Batch) },
		func(ctx context.Context, v postgres.Invitee) (string, error) {
			exp := v.ExpiresAt.UTC()
			rec := queue.Record{Reference: v.Reference, State: state, Status: queue.StatusInvited, ExpiresAt: &exp, Place: v.Place}
			if err := l.records.Set(ctx, rec); err != nil {
				return "", err
			}
			return v.Reference, l.pub.Publish(ctx, email.Request{
				Reference: v.Reference, Kind: notify.KindInvitation, Lang: v.Lang, Name: v.Name, Email: v.Email,
				State: state, Contact: v.Contact, Phone: v.Phone, DecidedAt: now.UTC(),
				Token: l.signer.Sign(v.Reference, state, v.IDHash, exp), ExpiresAt: &exp,
			})
		},
		func(done []string) error { return l.lease.MarkNotified(ctx, done, l.Now()) })
}

// tellExpired does for expired registrations what tellInvited does for
// invited ones.
func (l pass) tellExpired(ctx context.Context, state string, now time.Time) error {
	return tell(ctx, "expired",
		func() ([]postgres.Expiree, error) { return l.lease.UntoldExpired(ctx, state, l.cfg.Batch) },
		func(ctx context.Context, v postgres.Expiree) (string, error) {
			if err := l.records.Set(ctx, queue.Record{Reference: v.Reference, State: state, Status: queue.StatusExpired}); err != nil {
				return "", err
			}
			return v.Reference, l.pub.Publish(ctx, email.Request{
				Reference: v.Reference, Kind: notify.KindExpired, Lang: v.Lang, Name: v.Name, Email: v.Email,
				State: state, Contact: v.Contact, Phone: v.Phone, DecidedAt: now.UTC(),
			})
		},
		func(done []string) error { return l.lease.MarkExpiredTold(ctx, done, l.Now()) })
}

// tell takes page after page of untold registrations, tells each (one
// returns its reference), and marks those told, until none is left or one
// could not be told: that one stays untold for the next round.
func tell[T any](ctx context.Context, what string, page func() ([]T, error),
	one func(context.Context, T) (string, error), mark func([]string) error) error {
	for {
		items, err := page()
		if err != nil || len(items) == 0 {
			return err
		}
		done, err := each(ctx, items, one)
		if len(done) > 0 {
			if merr := mark(done); merr != nil {
				return errors.Join(err, merr)
			}
		}
		if err != nil {
			return fmt.Errorf("tell %d of %d %s: %w", len(items)-len(done), len(items), what, err)
		}
	}
}

// mark writes the state's invited-through mark from Postgres every round.
// Only a rebuild (restore, its token) creates a missing mark, even at 0: its
// presence says the state's records are in Redis, so a round that merely
// raised it after a flush in its middle would hide the loss for good.
func (l pass) mark(ctx context.Context, state, restore string) error {
	through, err := l.lease.InvitedThrough(ctx, state)
	if err != nil {
		return err
	}
	if restore == "" {
		_, err = l.records.RaiseMark(ctx, state, through)
		return err
	}
	restored, err := l.records.FinishRestore(ctx, state, restore, through)
	if err == nil && !restored {
		l.log.Warn("Redis lost data again while its registration records were written back; the next round writes them again", "state", state)
	}
	return err
}

// each runs f on every item, publishers at a time, and returns the keys f
// gave for the items it did without error, and the first error.
func each[T any](ctx context.Context, items []T, f func(context.Context, T) (string, error)) ([]string, error) {
	var (
		mu    sync.Mutex
		done  []string
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, publishers)
	)
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			key, err := f(ctx, it)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			done = append(done, key)
		})
	}
	wg.Wait()
	return done, first
}

// shuffle puts refs in a uniformly random order drawn from a generator
// seeded by crypto/rand: nobody can predict or influence the order, however
// early or fast they registered.
func shuffle(refs []string) error {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return fmt.Errorf("seed the shuffle: %w", err)
	}
	r := mrand.New(mrand.NewChaCha8(seed))
	r.Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
	return nil
}
