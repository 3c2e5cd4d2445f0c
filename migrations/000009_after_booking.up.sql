-- After the booking (issue 15): a person cancels or changes the time with
-- the manage link their confirmation carries.
--
-- A cancelled booking keeps its slot, so the centre and the person can see
-- what was given back; it no longer counts (the counter and the one-place
-- index count confirmed only), so the person may book again.
ALTER TABLE bookings DROP CONSTRAINT bookings_status_check;
ALTER TABLE bookings ADD CONSTRAINT bookings_status_check
    CHECK (status IN ('confirmed', 'full', 'duplicate', 'cancelled'));
ALTER TABLE bookings DROP CONSTRAINT bookings_slot_iff_confirmed;
ALTER TABLE bookings ADD CONSTRAINT bookings_slot_iff_confirmed
    CHECK ((status IN ('confirmed', 'cancelled')) = (slot_id IS NOT NULL));
ALTER TABLE bookings
    -- SHA-256 of the manage token; the token itself is never stored. NULL
    -- for bookings made before this migration or without MANAGE_SECRET,
    -- and once the person's details are removed: no token acts then.
    ADD COLUMN manage_hash  TEXT,
    -- The calendar event's SEQUENCE: 0 as confirmed, one more per change
    -- and for the cancellation, so each .ics replaces the one before.
    ADD COLUMN sequence     INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN cancelled_at TIMESTAMPTZ;

-- One row per cancel or change request the worker decided, keyed by the
-- request's own reference: a redelivery, or a twin delivered at the same
-- time, finds it and changes nothing again.
CREATE TABLE booking_changes (
    request      TEXT PRIMARY KEY,
    booking      TEXT NOT NULL REFERENCES bookings (reference),
    action       TEXT NOT NULL CHECK (action IN ('cancel', 'change')),
    outcome      TEXT NOT NULL CHECK (outcome IN ('cancelled', 'changed', 'full')),
    from_slot    TEXT REFERENCES slots (id),
    to_slot      TEXT REFERENCES slots (id),
    sequence     INTEGER NOT NULL,
    message_id   TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    decided_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX booking_changes_booking ON booking_changes (booking);

-- The messages: cancelled once per booking, each change under its
-- sequence, and the manage link resent at most once a day.
ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_kind_check;
ALTER TABLE sent_emails ADD CONSTRAINT sent_emails_kind_check
    CHECK (kind IN ('confirmed', 'full', 'duplicate', 'invitation', 'expired', 'proof', 'cancelled')
           OR kind ~ '^attempt/[0-9]{4}-[0-9]{2}-[0-9]{2}$'
           OR kind ~ '^manage/[0-9]{4}-[0-9]{2}-[0-9]{2}$'
           OR kind ~ '^changed/[0-9]+$');

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vaxbook_worker') THEN
        GRANT SELECT, INSERT ON booking_changes TO vaxbook_worker;
    END IF;
END
$$;
