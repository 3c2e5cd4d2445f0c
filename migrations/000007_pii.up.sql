-- Personal data kept to what is needed, for as long as it is needed
-- (docs/privacy.md). The ID number is stored as id_hash, an HMAC with
-- ID_PEPPER that only the worker and the operator's commands hold: it
-- answers "same person?" and nothing else. SQL cannot compute it (the
-- pepper never reaches Postgres), so rows written before this migration
-- keep their id_number until `vaxbook pii backfill` hashes and clears them;
-- id_number stays only as a nullable column for that, and for a queued
-- registration until its invitation is signed and sent.
ALTER TABLE bookings ALTER COLUMN id_number DROP NOT NULL,
    ADD COLUMN id_hash TEXT,
    -- when retention or an erasure removed the person's details
    ADD COLUMN personal_data_removed_at TIMESTAMPTZ;
CREATE UNIQUE INDEX bookings_one_confirmed_per_id_hash ON bookings (id_hash) WHERE status = 'confirmed';

ALTER TABLE registrations ALTER COLUMN id_number DROP NOT NULL,
    ADD COLUMN id_hash TEXT,
    ADD COLUMN personal_data_removed_at TIMESTAMPTZ;
CREATE UNIQUE INDEX registrations_one_live_per_id_hash ON registrations (state_code, id_hash)
    WHERE status IN ('queued', 'invited');

ALTER TABLE invitations ALTER COLUMN id_number DROP NOT NULL,
    ADD COLUMN id_hash TEXT;

-- Retention finds old bookings by their appointment, and old
-- registrations and rejected messages by age, without reading every row.
CREATE INDEX bookings_pending_removal ON bookings (processed_at) WHERE personal_data_removed_at IS NULL;
CREATE INDEX registrations_pending_removal ON registrations (processed_at) WHERE personal_data_removed_at IS NULL;
CREATE INDEX rejected_messages_received_at ON rejected_messages (received_at);

-- The invitation loop clears a registration's raw id_number once its
-- invitation is sent (Lease.MarkNotified). Its role exists where the
-- per-service roles migration ran.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vaxbook_invite') THEN
        GRANT UPDATE (id_number) ON registrations TO vaxbook_invite;
    END IF;
END
$$;
