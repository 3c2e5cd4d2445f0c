DELETE FROM sent_emails WHERE kind = 'proof';
ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_kind_check;
ALTER TABLE sent_emails ADD CONSTRAINT sent_emails_kind_check
    CHECK (kind IN ('confirmed', 'full', 'duplicate', 'invitation', 'expired')
           OR kind ~ '^attempt/[0-9]{4}-[0-9]{2}-[0-9]{2}$');
