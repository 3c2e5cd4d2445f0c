-- Contact proof (CONTACT_PROOF): the API asks for a code e-mail, keyed by a
-- random reference per challenge, through the same send-once record.
ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_kind_check;
ALTER TABLE sent_emails ADD CONSTRAINT sent_emails_kind_check
    CHECK (kind IN ('confirmed', 'full', 'duplicate', 'invitation', 'expired', 'proof')
           OR kind ~ '^attempt/[0-9]{4}-[0-9]{2}-[0-9]{2}$');
