-- Cancelled bookings gave their place back; going down they become what
-- the older schema can hold: full (no place, no claim on the person).
DROP TABLE IF EXISTS booking_changes;
DELETE FROM sent_emails WHERE kind = 'cancelled' OR kind ~ '^(manage|changed)/';
ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_kind_check;
ALTER TABLE sent_emails ADD CONSTRAINT sent_emails_kind_check
    CHECK (kind IN ('confirmed', 'full', 'duplicate', 'invitation', 'expired', 'proof')
           OR kind ~ '^attempt/[0-9]{4}-[0-9]{2}-[0-9]{2}$');
UPDATE bookings SET status = 'full', slot_id = NULL WHERE status = 'cancelled';
ALTER TABLE bookings DROP CONSTRAINT bookings_slot_iff_confirmed;
ALTER TABLE bookings ADD CONSTRAINT bookings_slot_iff_confirmed
    CHECK ((status = 'confirmed') = (slot_id IS NOT NULL));
ALTER TABLE bookings DROP CONSTRAINT bookings_status_check;
ALTER TABLE bookings ADD CONSTRAINT bookings_status_check
    CHECK (status IN ('confirmed', 'full', 'duplicate'));
ALTER TABLE bookings DROP COLUMN IF EXISTS manage_hash, DROP COLUMN IF EXISTS sequence,
    DROP COLUMN IF EXISTS cancelled_at;
