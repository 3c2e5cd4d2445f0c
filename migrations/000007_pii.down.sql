DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vaxbook_invite') THEN
        REVOKE UPDATE (id_number) ON registrations FROM vaxbook_invite;
    END IF;
END
$$;
-- Rows written since carry no id_number: they get a stand-in unique per
-- person ("hash:" and the hash) so the NOT NULL and the old per-person
-- indexes hold; the ID numbers themselves are gone for good.
DROP INDEX IF EXISTS rejected_messages_received_at;
DROP INDEX IF EXISTS registrations_pending_removal;
DROP INDEX IF EXISTS bookings_pending_removal;
UPDATE invitations SET id_number = COALESCE('hash:' || id_hash, 'removed') WHERE id_number IS NULL;
ALTER TABLE invitations DROP COLUMN IF EXISTS id_hash, ALTER COLUMN id_number SET NOT NULL;
DROP INDEX IF EXISTS registrations_one_live_per_id_hash;
UPDATE registrations SET id_number = COALESCE('hash:' || id_hash, 'removed:' || reference) WHERE id_number IS NULL;
ALTER TABLE registrations DROP COLUMN IF EXISTS personal_data_removed_at, DROP COLUMN IF EXISTS id_hash,
    ALTER COLUMN id_number SET NOT NULL;
DROP INDEX IF EXISTS bookings_one_confirmed_per_id_hash;
UPDATE bookings SET id_number = COALESCE('hash:' || id_hash, 'removed:' || reference) WHERE id_number IS NULL;
ALTER TABLE bookings DROP COLUMN IF EXISTS personal_data_removed_at, DROP COLUMN IF EXISTS id_hash,
    ALTER COLUMN id_number SET NOT NULL;
