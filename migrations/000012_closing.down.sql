ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_kind_check;
ALTER TABLE sent_emails ADD CONSTRAINT sent_emails_kind_check
    CHECK (kind IN ('confirmed', 'full', 'duplicate', 'invitation', 'expired', 'proof', 'cancelled')
           OR kind ~ '^attempt/[0-9]{4}-[0-9]{2}-[0-9]{2}$'
           OR kind ~ '^manage/[0-9]{4}-[0-9]{2}-[0-9]{2}$'
           OR kind ~ '^changed/[0-9]+$');
ALTER TABLE slots DROP CONSTRAINT slots_cancel_at_when_closed, DROP COLUMN cancel_at, DROP COLUMN rest_cancelled_at;
