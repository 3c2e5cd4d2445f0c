-- One database role per service (issue 11, "Least privilege"). Each is a
-- NOLOGIN group: the login users are the services' Cloud SQL IAM users
-- (deploy/bootstrap.sh creates them and makes each a member of its
-- service's group), so no service logs in as the schema owner, which only
-- `vaxbook migrate` (and an operator's `seed` / `state set`) uses.
--
--   vaxbook_cachefill  reads the listing: states, centers, slots. Nothing else.
--   vaxbook_invite     the invitation loop (internal/postgres/invitations.go):
--                      reads slots' counters, keys and invites registrations.
--   vaxbook_worker     the push handlers: books, records registrations,
--                      consumes invitations, sends e-mail once, keeps
--                      rejected messages. DML only, and on slots only the
--                      booked counter: it cannot change a capacity.
-- None of them owns a table, so none can ALTER or DROP one, and PostgreSQL
-- 15 gives PUBLIC no CREATE on schema public, so none can CREATE one. The
-- api has no role: it never connects to Postgres.
--
-- Numbered 10, leaving 5-9 to migrations written alongside it.
--
-- Roles belong to the server, not the database: every database migrated on
-- one server (production has one; the tests clone hundreds from a template)
-- shares them. So a role is created only if missing, and a concurrent
-- creator winning the race is not an error. GRANTs are per database.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['vaxbook_cachefill', 'vaxbook_invite', 'vaxbook_worker'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- created meanwhile by a migration of another database
            END;
        END IF;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA public TO vaxbook_cachefill, vaxbook_invite, vaxbook_worker;

-- cache-fill: the listing's one query (Lease.Snapshot).
GRANT SELECT ON states, centers, slots TO vaxbook_cachefill;

-- The invitation loop: free places from the counters; opening a state
-- (states.opened_at, the early batch's keys and places); expiring,
-- inviting and marking what was told.
GRANT SELECT ON states, centers, slots, registrations, invitations TO vaxbook_invite;
GRANT UPDATE (opened_at) ON states TO vaxbook_invite;
GRANT UPDATE (status, queue_key, place, expiry_notified_at) ON registrations TO vaxbook_invite;
GRANT INSERT ON invitations TO vaxbook_invite;
GRANT UPDATE (notified_at) ON invitations TO vaxbook_invite;

-- The worker.
GRANT SELECT ON states, centers, slots TO vaxbook_worker;
GRANT UPDATE (booked) ON slots TO vaxbook_worker;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON bookings, registrations, invitations, rejected_messages, sent_emails TO vaxbook_worker;

-- A later migration that adds a table grants on it what each service
-- needs (internal/postgres/roles_test.go runs every service's queries as
-- its role, so a forgotten grant fails there). Sequences have one use, the
-- inserts of the table that owns them, so they need no such thought.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO vaxbook_invite, vaxbook_worker;
