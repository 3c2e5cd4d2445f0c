DROP TABLE IF EXISTS message_caps;
DROP TABLE IF EXISTS undeliverable_contacts;
DROP TABLE IF EXISTS delivery_events;
DROP INDEX IF EXISTS sent_emails_provider_id;
DELETE FROM sent_emails WHERE channel <> 'email' OR outcome NOT IN ('sent', 'rejected');
ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_outcome_check;
ALTER TABLE sent_emails ADD CONSTRAINT sent_emails_outcome_check CHECK (outcome IN ('sent', 'rejected'));
ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_pkey;
ALTER TABLE sent_emails ADD PRIMARY KEY (reference, kind);
ALTER TABLE sent_emails DROP COLUMN recipient, DROP COLUMN channel;
ALTER TABLE bookings DROP COLUMN contact;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vaxbook_hooks') THEN
        REVOKE ALL ON ALL TABLES IN SCHEMA public FROM vaxbook_hooks;
        REVOKE USAGE ON SCHEMA public FROM vaxbook_hooks;
    END IF;
END
$$;
