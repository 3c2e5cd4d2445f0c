-- Centres run their day (issue 15, items 6-9): the `vaxbook admin` role,
-- its staff allow-list, the audit log of every change staff make, closed
-- sessions and check-in.
--
-- Who may sign in, and to what. A state administrator runs every centre of
-- their states; centre staff run their centres only. The e-mail address is
-- the Google account's, as its ID token names it (lower case).
CREATE TABLE staff (
    email    TEXT PRIMARY KEY CHECK (email = lower(email) AND email LIKE '%_@_%'),
    role     TEXT NOT NULL CHECK (role IN ('state_admin', 'centre_staff')),
    states   TEXT[] NOT NULL DEFAULT '{}',
    centers  TEXT[] NOT NULL DEFAULT '{}',
    added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT staff_scope_fits_role CHECK (
        (role = 'state_admin' AND cardinality(states) > 0 AND cardinality(centers) = 0) OR
        (role = 'centre_staff' AND cardinality(centers) > 0 AND cardinality(states) = 0))
);

-- Every change made through the admin role, in the transaction that made
-- it: who (the signed-in address), what, when, and the row before and after.
CREATE TABLE audit_log (
    id     BIGSERIAL PRIMARY KEY,
    at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before JSONB,
    after  JSONB
);
CREATE INDEX audit_log_target ON audit_log (target, at);

-- A closed session takes no bookings: closing cancels what it held and sets
-- its capacity to 0, so the worker's conditional counter bump and the
-- listing need no change; closed_at tells staff why.
ALTER TABLE slots ADD COLUMN closed_at TIMESTAMPTZ;

-- Check-in at the door. 'attended' is seed 000's "vaccination complete".
ALTER TABLE bookings
    ADD COLUMN attendance    TEXT CHECK (attendance IN ('attended', 'no_show')),
    ADD COLUMN attendance_at TIMESTAMPTZ,
    ADD COLUMN attendance_by TEXT;

-- The admin role's own group, as migration 5 made the others.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vaxbook_admin') THEN
        BEGIN
            CREATE ROLE vaxbook_admin NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO vaxbook_admin;
GRANT SELECT ON states, centers, staff TO vaxbook_admin;
-- The seed upsert (reused for uploads) writes states and centres with ON
-- CONFLICT; the admin role refuses rows that would change either first.
GRANT INSERT, UPDATE ON states, centers TO vaxbook_admin;
GRANT SELECT, INSERT, UPDATE ON slots TO vaxbook_admin;
GRANT SELECT ON bookings TO vaxbook_admin;
GRANT UPDATE (status, cancelled_at, sequence, slot_id, attendance, attendance_at, attendance_by) ON bookings TO vaxbook_admin;
GRANT SELECT, INSERT ON booking_changes, audit_log TO vaxbook_admin;
GRANT USAGE, SELECT ON SEQUENCE audit_log_id_seq TO vaxbook_admin;
