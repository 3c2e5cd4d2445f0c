-- The holder of a booking is told when someone submits with their ID
-- number, at most once a day: the day joins the kind ("attempt/2026-11-23"),
-- so the (reference, kind) key lets one such e-mail through per holder per
-- day and no new table is needed.
ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_kind_check;
ALTER TABLE sent_emails ADD CONSTRAINT sent_emails_kind_check
    CHECK (kind IN ('confirmed', 'full', 'duplicate', 'invitation', 'expired')
           OR kind ~ '^attempt/[0-9]{4}-[0-9]{2}-[0-9]{2}$');
