DELETE FROM sent_emails WHERE kind IN ('invitation', 'expired');
ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_kind_check;
ALTER TABLE sent_emails ADD CONSTRAINT sent_emails_kind_check
    CHECK (kind IN ('confirmed', 'full', 'duplicate'));
DROP TABLE IF EXISTS invitations;
DROP TABLE IF EXISTS registrations;
ALTER TABLE states DROP COLUMN IF EXISTS opened_at, DROP COLUMN IF EXISTS opens_at, DROP COLUMN IF EXISTS mode;
