package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/seed"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// Each service logs in as a member of its group role (migrations
// 000005_roles), as the deployed services' IAM users are. These tests log
// in the same way, run the service's own queries, and try what the
// service must not be able to do.

// roleDB is a test database opened twice: as the schema owner (to set up
// and check) and as a fresh login user that is a member of group only.
type roleDB struct {
	admin *pgxpool.Pool
	as    *pgxpool.Pool
}

func openAs(t *testing.T, group string) roleDB {
	t.Helper()
	ctx := t.Context()
	dbURL := testenv.DatabaseURL(t)
	admin, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)

	// Login roles are server-wide, like the groups: a random name per test
	// keeps parallel tests and test processes apart.
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	user := "vaxbook_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE ROLE "+pgx.Identifier{user}.Sanitize()+" LOGIN IN ROLE "+pgx.Identifier{group}.Sanitize()); err != nil {
		t.Fatalf("create login role in %s: %v", group, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{user}.Sanitize()); err != nil {
			t.Errorf("drop login role %s: %v", user, err)
		}
	})

	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(user) // the tests' server trusts local logins
	as, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Close) // before the role is dropped
	var got string
	if err := as.QueryRow(ctx, `SELECT current_user`).Scan(&got); err != nil || got != user {
		t.Fatalf("log in as %s: got %q, %v", user, got, err)
	}
	return roleDB{admin: admin, as: as}
}

// wantDenied runs sql as the role and wants PostgreSQL to refuse it for
// want of a privilege (42501), or of ownership, which DDL needs.
func wantDenied(t *testing.T, db *pgxpool.Pool, sql string) {
	t.Helper()
	_, err := db.Exec(t.Context(), sql)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("%s: got %v, want permission denied (42501)", sql, err)
	}
}

// wantDeniedWithDDL wants every one of sqls, and every DDL statement,
// refused to the role.
func wantDeniedWithDDL(t *testing.T, db *pgxpool.Pool, sqls ...string) {
	t.Helper()
	for _, sql := range append(sqls, ddl...) {
		wantDenied(t, db, sql)
	}
}

// The statements no service may run: schema changes, and reading or
// destroying what it has no business with.
var ddl = []string{
	`CREATE TABLE stolen (x text)`,
	`DROP TABLE bookings`,
	`ALTER TABLE bookings ADD COLUMN x text`,
	`TRUNCATE bookings`,
	`CREATE INDEX x ON slots (capacity)`,
}

func TestRoles_CacheFillReadsTheListingAndNothingElse(t *testing.T) {
	t.Parallel()
	db := openAs(t, "vaxbook_cachefill")
	testenv.MustSeed(t, db.admin, listing.SlotRow{SlotID: "sel-001-am", Capacity: 3})

	lease, err := postgres.TryLease(t.Context(), db.as, postgres.CacheFillLease)
	if err != nil || lease == nil {
		t.Fatalf("TryLease: %v, %v", lease, err)
	}
	defer lease.Release()
	rows, err := lease.Snapshot(t.Context())
	if err != nil || len(rows) != 1 || rows[0].SlotID != "sel-001-am" {
		t.Fatalf("Snapshot: %+v, %v", rows, err)
	}

	wantDeniedWithDDL(t, db.as,
		`UPDATE slots SET booked = booked + 1`,
		`UPDATE states SET mode = 'queue'`,
		`INSERT INTO states (code, name) VALUES ('x', 'X')`,
		`DELETE FROM slots`,
		// Personal data: the listing needs none of it.
		`SELECT id_number FROM bookings`,
		`SELECT email FROM registrations`,
		`SELECT data FROM rejected_messages`,
	)
}

func TestRoles_WorkerBooksButCannotChangeTheSchemaOrACapacity(t *testing.T) {
	t.Parallel()
	db := openAs(t, "vaxbook_worker")
	ctx := t.Context()
	testenv.MustSeed(t, db.admin,
		listing.SlotRow{SlotID: "sel-001-am", Capacity: 2},
		listing.SlotRow{SlotID: "sel-001-pm", Time: "14:00-18:00", Capacity: 1},
	)

	b := postgres.NewBookings(db.as, pii.Dev())
	out, err := b.Decide(ctx, testenv.NewRequest(1, "sel-001-am"), "m1")
	if err != nil || out.Record.Status != booking.StatusConfirmed {
		t.Fatalf("Decide: %+v, %v", out, err)
	}
	// The same person again: the duplicate path reads the booking held.
	if out, err := b.Decide(ctx, testenv.NewRequest(1, "sel-001-pm"), "m2"); err != nil || out.Record.Status != booking.StatusDuplicate {
		t.Fatalf("Decide (same person): %+v, %v", out, err)
	}
	// With an invitation: consumes it and marks its registration booked.
	req, inv := invitedRequest(t, db.admin, 2, time.Now().Add(time.Hour), "sel-001-pm")
	if out, err := b.Decide(ctx, req, "m3"); err != nil || out.Record.Status != booking.StatusConfirmed {
		t.Fatalf("Decide (invited): %+v, %v", out, err)
	}
	if usedBy, status := invitationState(t, db.admin, inv); usedBy != req.Reference || status != "booked" {
		t.Errorf("invitation after booking: used by %q, registration %s", usedBy, status)
	}
	if err := b.Reject(ctx, postgres.RejectedMessage{MessageID: "bad-1", Subscription: "s", Data: []byte("x"), Reason: "junk"}); err != nil {
		t.Errorf("Reject: %v", err)
	}

	if _, err := db.admin.Exec(ctx, `UPDATE states SET mode = 'queue' WHERE code = 'selangor'`); err != nil {
		t.Fatal(err)
	}
	reg := queue.Registration{
		Reference: booking.NewReference(), State: "selangor", Name: "Person 3", IDNumber: testenv.NewRequest(3).IDNumber,
		Phone: "+60123456789", Email: "p@example.com", Lang: "ms", Contact: booking.ContactEmail, ReceivedAt: time.Now().UTC(),
	}
	if rec, err := postgres.NewRegistrar(db.as, pii.Dev()).Record(ctx, reg, "m4"); err != nil || rec.Status != queue.StatusQueued {
		t.Fatalf("Record: %+v, %v", rec, err)
	}

	sent := 0
	_, already, err := postgres.NewEmails(db.as).SendOnce(ctx,
		notify.Key{Reference: out.Record.Reference, Kind: notify.KindConfirmed, Channel: notify.ChannelEmail},
		notify.Delivery{MessageID: "e1", Attempt: 1},
		func(context.Context) (notify.Outcome, error) {
			sent++
			return notify.Outcome{Result: notify.Sent, ProviderStatus: 202, ProviderID: "p1"}, nil
		})
	if err != nil || already || sent != 1 {
		t.Fatalf("SendOnce: sent %d, already %v, %v", sent, already, err)
	}
	// An SMS, through the bounce check and the daily cap.
	_, already, err = postgres.NewEmails(db.as).Guarded(pii.Dev(), 5).SendOnce(ctx,
		notify.Key{Reference: out.Record.Reference, Kind: notify.KindConfirmed, Channel: notify.ChannelSMS},
		notify.Delivery{MessageID: "s1", Attempt: 1, Recipient: "+60123456789"},
		func(context.Context) (notify.Outcome, error) {
			sent++
			return notify.Outcome{Result: notify.Sent, ProviderStatus: 201, ProviderID: "SM1"}, nil
		})
	if err != nil || already || sent != 2 {
		t.Fatalf("SendOnce by SMS: sent %d, already %v, %v", sent, already, err)
	}

	wantDeniedWithDDL(t, db.as,
		`UPDATE slots SET capacity = capacity + 100`,
		`INSERT INTO slots (id, center_id, slot_date, time_range, capacity) VALUES ('x', 'sel-001', '2026-12-01', 'x', 1)`,
		`DELETE FROM slots`,
		`UPDATE states SET mode = 'open'`,
		`INSERT INTO centers (id, state_code, name, address) VALUES ('x', 'selangor', 'x', 'x')`,
	)
}

func TestRoles_InviteRunsItsRoundAndReadsNoBookings(t *testing.T) {
	t.Parallel()
	db := openAs(t, "vaxbook_invite")
	ctx := t.Context()
	day := time.Now().Add(48 * time.Hour).Format(time.DateOnly)
	testenv.MustSeed(t, db.admin, listing.SlotRow{SlotID: "sel-001-am", Date: day, Capacity: 2})
	now := time.Now().UTC()
	if _, err := postgres.SetStateMode(ctx, db.admin, "selangor", queue.ModeQueue,
		postgres.OpensAtChange{Change: true, At: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// Three registered before opening (an early batch to shuffle) for two
	// places; one invitation already run out.
	r := postgres.NewRegistrar(db.admin, pii.Dev())
	for n := 1; n <= 3; n++ {
		reg := queue.Registration{
			Reference: booking.NewReference(), State: "selangor", Name: "P", IDNumber: testenv.NewRequest(n).IDNumber,
			Phone: "+60123456789", Email: "p@example.com", Lang: "ms", Contact: booking.ContactEmail,
			ReceivedAt: now.Add(-time.Hour),
		}
		if _, err := r.Record(ctx, reg, "m"+reg.Reference); err != nil {
			t.Fatal(err)
		}
	}
	testenv.MustInvite(t, db.admin, testenv.InvitationSigner(t), "selangor", 9, now.Add(-time.Second))

	lease, err := postgres.TryLease(ctx, db.as, postgres.InviteLease)
	if err != nil || lease == nil {
		t.Fatalf("TryLease: %v, %v", lease, err)
	}
	defer lease.Release()
	states, err := lease.QueueStates(ctx, now)
	if err != nil || len(states) != 1 {
		t.Fatalf("QueueStates: %+v, %v", states, err)
	}
	if n, err := lease.Open(ctx, "selangor", now, func([]string) error { return nil }); err != nil || n != 3 {
		t.Fatalf("Open: %d, %v", n, err)
	}
	if n, err := lease.Expire(ctx, "selangor", now); err != nil || n != 1 {
		t.Fatalf("Expire: %d, %v", n, err)
	}
	hash := func(ref, id string) string { return "h-" + ref }
	if n, err := lease.Invite(ctx, "selangor", now, now.Add(time.Hour), 10, hash); err != nil || n != 2 {
		t.Fatalf("Invite: %d, %v", n, err)
	}
	invitees, err := lease.Unnotified(ctx, "selangor", now, 10)
	if err != nil || len(invitees) != 2 {
		t.Fatalf("Unnotified: %+v, %v", invitees, err)
	}
	if err := lease.MarkNotified(ctx, []string{invitees[0].Reference, invitees[1].Reference}, now); err != nil {
		t.Errorf("MarkNotified: %v", err)
	}
	expired, err := lease.UntoldExpired(ctx, "selangor", 10)
	if err != nil || len(expired) != 1 {
		t.Fatalf("UntoldExpired: %+v, %v", expired, err)
	}
	if err := lease.MarkExpiredTold(ctx, []string{expired[0].Reference}, now); err != nil {
		t.Errorf("MarkExpiredTold: %v", err)
	}
	if n, err := lease.InvitedThrough(ctx, "selangor"); err != nil || n < 2 {
		t.Errorf("InvitedThrough: %d, %v", n, err)
	}

	wantDeniedWithDDL(t, db.as,
		`SELECT id_number FROM bookings`,
		`UPDATE slots SET booked = booked + 1`,
		`UPDATE states SET mode = 'open'`,
		`UPDATE registrations SET email = 'attacker@example.com'`,
		`UPDATE invitations SET used_at = now()`,
		`DELETE FROM registrations`,
		`INSERT INTO sent_emails (reference, kind, outcome, provider_status, message_id) VALUES ('r', 'confirmed', 'sent', 202, 'm')`,
	)
}

func TestRoles_HooksRecordEventsAndReadNothingPersonal(t *testing.T) {
	t.Parallel()
	db := openAs(t, "vaxbook_hooks")
	ctx := t.Context()
	sent := postgres.NewEmails(db.admin)
	ref := booking.NewReference()
	if _, _, err := sent.SendOnce(ctx, notify.Key{Reference: ref, Kind: notify.KindConfirmed, Channel: notify.ChannelEmail},
		notify.Delivery{MessageID: "e1", Recipient: "p@example.com"},
		func(context.Context) (notify.Outcome, error) {
			return notify.Outcome{Result: notify.Sent, ProviderStatus: 202, ProviderID: "sg-1"}, nil
		}); err != nil {
		t.Fatal(err)
	}
	known, err := postgres.NewDeliveries(db.as).Record(ctx, notify.ChannelEmail, "sg-1", notify.EventBounced, "550")
	if err != nil || !known {
		t.Fatalf("Record: known %v, %v", known, err)
	}
	var n int
	if err := db.admin.QueryRow(ctx, `SELECT count(*) FROM undeliverable_contacts WHERE recipient = $1`, sent.Recipient(notify.ChannelEmail, "p@example.com")).Scan(&n); err != nil || n != 1 {
		t.Fatalf("undeliverable rows %d, %v", n, err)
	}
	wantDeniedWithDDL(t, db.as,
		`SELECT name FROM bookings`,
		`SELECT detail FROM sent_emails`,
		`UPDATE sent_emails SET outcome = 'sent'`,
		`SELECT * FROM registrations`,
		`DELETE FROM delivery_events`,
		`UPDATE slots SET booked = 0`,
	)
}

func TestRoles_WorkerCancelsAndChangesThroughTheManagePath(t *testing.T) {
	t.Parallel()
	db := openAs(t, "vaxbook_worker")
	ctx := t.Context()
	testenv.MustSeed(t, db.admin,
		listing.SlotRow{SlotID: "sel-001-am", Capacity: 2},
		listing.SlotRow{SlotID: "sel-001-pm", Time: "14:00-18:00", Capacity: 1},
	)
	b := postgres.NewBookings(db.as, pii.Dev()).WithManage(testenv.ManageSigner())
	var outs []booking.Outcome
	for n := 1; n <= 2; n++ {
		o, err := b.Decide(ctx, testenv.NewRequest(n, "sel-001-am"), fmt.Sprintf("m%d", n))
		if err != nil || o.Record.Status != booking.StatusConfirmed || o.Manage == "" {
			t.Fatalf("Decide %d: %+v, %v", n, o.Record, err)
		}
		outs = append(outs, o)
	}

	// A change with room, then one to the slot it now fills (full), a
	// cancel, its redelivery, and the lost-link lookup.
	change := testenv.NewManage(booking.ActionChange, outs[0].Record.Reference, outs[0].Manage, "sel-001-pm")
	if got, err := b.Manage(ctx, change, "c1"); err != nil || got.Request.Status != booking.StatusChanged {
		t.Fatalf("change: %+v, %v", got.Request, err)
	}
	full := testenv.NewManage(booking.ActionChange, outs[1].Record.Reference, outs[1].Manage, "sel-001-pm")
	if got, err := b.Manage(ctx, full, "c2"); err != nil || got.Request.Status != booking.StatusFull {
		t.Fatalf("change to a full slot: %+v, %v", got.Request, err)
	}
	cancel := testenv.NewManage(booking.ActionCancel, outs[1].Record.Reference, outs[1].Manage)
	for i := range 2 {
		if got, err := b.Manage(ctx, cancel, "c3"); err != nil || got.Booking.Status != booking.StatusCancelled {
			t.Fatalf("cancel, delivery %d: %+v, %v", i, got.Booking, err)
		}
	}
	if got, err := b.Resend(ctx, booking.ManageRequest{Action: booking.ActionResend, Booking: outs[0].Record.Reference, IDNumber: testenv.NewRequest(1).IDNumber}); err != nil || !got.Found {
		t.Fatalf("Resend: found %v, %v", got.Found, err)
	}
	if inv, err := postgres.CheckInvariants(ctx, db.admin, nil); err != nil || inv.Broken() {
		t.Fatalf("invariants: %+v, %v", inv, err)
	}

	wantDeniedWithDDL(t, db.as,
		`UPDATE slots SET closed_at = now()`,
		`UPDATE booking_changes SET outcome = 'full'`,
		`DELETE FROM booking_changes`,
		`SELECT * FROM staff`,
		`SELECT * FROM audit_log`,
		`INSERT INTO audit_log (actor, action, target) VALUES ('x', 'x', 'x')`,
	)
}

func TestRoles_AdminRunsTheDayButCannotBookOrRewriteHistory(t *testing.T) {
	t.Parallel()
	db := openAs(t, "vaxbook_admin")
	ctx := t.Context()
	testenv.MustSeed(t, db.admin,
		listing.SlotRow{SlotID: "sel-001-am", Capacity: 3},
		listing.SlotRow{SlotID: "sel-001-pm", Time: "14:00-18:00", Capacity: 3},
	)
	boss := postgres.Staff{Email: "boss@state.example", Role: postgres.RoleStateAdmin, States: []string{"selangor"}}
	if err := postgres.SetStaff(ctx, db.admin, "operator", boss); err != nil {
		t.Fatal(err)
	}
	b := postgres.NewBookings(db.admin, pii.Dev()).WithManage(testenv.ManageSigner())
	var refs []string
	for n, slot := range []string{"sel-001-am", "sel-001-pm", "sel-001-pm"} {
		o, err := b.Decide(ctx, testenv.NewRequest(n+1, slot), fmt.Sprintf("m%d", n))
		if err != nil || o.Record.Status != booking.StatusConfirmed {
			t.Fatalf("Decide %d: %+v, %v", n, o.Record, err)
		}
		refs = append(refs, o.Record.Reference)
	}
	var day string
	if err := db.admin.QueryRow(ctx, `SELECT to_char(slot_date, 'YYYY-MM-DD') FROM slots WHERE id = 'sel-001-am'`).Scan(&day); err != nil {
		t.Fatal(err)
	}

	a := postgres.NewAdmin(db.as)
	s, err := a.FindStaff(ctx, boss.Email)
	if err != nil || s.Role != postgres.RoleStateAdmin {
		t.Fatalf("FindStaff: %+v, %v", s, err)
	}
	if cs, err := a.Centres(ctx, s); err != nil || len(cs) != 1 {
		t.Fatalf("Centres: %+v, %v", cs, err)
	}
	if _, err := a.Centre(ctx, s, "sel-001"); err != nil {
		t.Fatalf("Centre: %v", err)
	}
	sessions, err := a.DayList(ctx, s, "sel-001", day, postgres.DayQuery{})
	if err != nil || len(sessions) != 2 {
		t.Fatalf("DayList: %+v, %v", sessions, err)
	}
	norm, _ := booking.NormalizeIDNumber(testenv.NewRequest(1).IDNumber)
	if ss, err := a.DayList(ctx, s, "sel-001", day, postgres.DayQuery{IDHash: pii.Dev().Hash(norm)}); err != nil || len(ss) == 0 || len(ss[0].Bookings) != 1 {
		t.Fatalf("DayList by ID: %+v, %v", ss, err)
	}
	if err := a.SetAttendance(ctx, s, refs[0], "attended"); err != nil {
		t.Fatalf("SetAttendance: %v", err)
	}
	if _, err := a.SetCapacity(ctx, s, "sel-001-am", 5); err != nil {
		t.Fatalf("SetCapacity: %v", err)
	}
	// Adding sessions runs as admin/slots.go does: the staff checks, the
	// seed load and the audit rows in one transaction.
	row := seed.Row{State: "selangor", StateName: "Selangor", CenterID: "sel-001", CenterName: "Dewan Komuniti Shah Alam",
		Address: "Jalan Kebun", SlotID: "sel-001-eve", Date: day, Time: "19:00-21:00", Capacity: 4}
	if err := db.admin.QueryRow(ctx, `SELECT c.name, c.address, s.name FROM centers c JOIN states s ON s.code = c.state_code WHERE c.id = 'sel-001'`).Scan(&row.CenterName, &row.Address, &row.StateName); err != nil {
		t.Fatal(err)
	}
	if err := postgres.InTx(ctx, db.as, func(tx pgx.Tx) error {
		before, err := postgres.Slots(ctx, tx, []string{row.SlotID})
		if err != nil {
			return err
		}
		if _, err := postgres.CentreFor(ctx, tx, s, row.CenterID); err != nil {
			return err
		}
		if _, err := seed.Load(ctx, tx, []seed.Row{row}); err != nil {
			return err
		}
		after, err := postgres.Slots(ctx, tx, []string{row.SlotID})
		if err != nil {
			return err
		}
		return postgres.AuditSlots(ctx, tx, s.Email, before, after)
	}); err != nil {
		t.Fatalf("add a session: %v", err)
	}
	for i := range 2 { // a close, and its retry
		closed, err := a.CloseSessions(ctx, s, []string{"sel-001-pm"}, time.Now())
		if err != nil || len(closed) != 1 {
			t.Fatalf("CloseSessions, try %d: %+v, %v", i, closed, err)
		}
		outs, err := a.FinishClosing(ctx, "sel-001-pm", s.Email)
		if err != nil || len(outs) != 2 {
			t.Fatalf("FinishClosing, try %d: %d cancelled, %v", i, len(outs), err)
		}
	}
	if due, err := a.DueClosings(ctx, time.Now()); err != nil || len(due) != 1 {
		t.Fatalf("DueClosings: %v, %v", due, err)
	}
	if err := a.ClosingDone(ctx, "sel-001-pm"); err != nil {
		t.Fatalf("ClosingDone: %v", err)
	}
	if rows, err := a.Audit(ctx, "slot/"); err != nil || len(rows) < 3 {
		t.Fatalf("Audit: %d rows, %v", len(rows), err)
	}
	if inv, err := postgres.CheckInvariants(ctx, db.admin, nil); err != nil || inv.Broken() {
		t.Fatalf("invariants: %+v, %v", inv, err)
	}

	wantDeniedWithDDL(t, db.as,
		`INSERT INTO bookings (reference) VALUES ('x')`,
		`DELETE FROM bookings`,
		`UPDATE bookings SET name = 'someone else'`,
		`UPDATE bookings SET manage_hash = NULL`,
		`DELETE FROM slots`,
		`INSERT INTO staff (email, role, states) VALUES ('me@example.com', 'state_admin', '{selangor}')`,
		`UPDATE staff SET states = '{johor}'`,
		`UPDATE audit_log SET actor = 'nobody'`,
		`DELETE FROM audit_log`,
		`UPDATE booking_changes SET outcome = 'full'`,
		`SELECT * FROM registrations`,
		`SELECT * FROM sent_emails`,
		`SELECT * FROM invitations`,
	)
}
