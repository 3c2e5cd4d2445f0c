-- Closing a session offers a change of time first (issue 15, item 7):
-- staff close it, it takes no new bookings at once, and each person booked
-- on it is told and may move to another time until cancel_at; the bookings
-- still on it then are cancelled (`vaxbook closings`, a scheduled job).
--
-- cancel_at: when what was not moved is cancelled; NULL on an open session
-- and on one closed before this migration (cancelled at once).
-- rest_cancelled_at: when that was done and everyone on it told, so the job
-- leaves it alone afterwards.
ALTER TABLE slots
    ADD COLUMN cancel_at         TIMESTAMPTZ,
    ADD COLUMN rest_cancelled_at TIMESTAMPTZ,
    ADD CONSTRAINT slots_cancel_at_when_closed CHECK (cancel_at IS NULL OR closed_at IS NOT NULL);

-- The closing notice, once per booking and place (a booking moved into a
-- session that closes too is told again: its sequence moved on), and the
-- cancellation a closing makes, once per booking as a person's own.
ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_kind_check;
ALTER TABLE sent_emails ADD CONSTRAINT sent_emails_kind_check
    CHECK (kind IN ('confirmed', 'full', 'duplicate', 'invitation', 'expired', 'proof', 'cancelled', 'closed')
           OR kind ~ '^attempt/[0-9]{4}-[0-9]{2}-[0-9]{2}$'
           OR kind ~ '^manage/[0-9]{4}-[0-9]{2}-[0-9]{2}$'
           OR kind ~ '^(changed|closing)/[0-9]+$');

-- A closed session (closed_at set) offers no place from then on: the
-- worker's counter bump, the listing and the invitation loop's count of
-- free places all leave it out, so a place given back while it closes is
-- not taken by someone else. Its capacity stays as staff set it.
