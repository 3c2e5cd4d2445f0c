-- SMS beside e-mail, delivery feedback and per-recipient caps (issue 12).

-- Where messages about a booking go, as the person chose on /submit; a
-- redelivered booking asks for the same channels again. Bookings made
-- before the choice existed went by e-mail.
ALTER TABLE bookings ADD COLUMN contact TEXT NOT NULL DEFAULT 'email'
    CHECK (contact IN ('email', 'sms', 'both'));

-- sent_emails becomes the record of every channel's messages: the channel
-- joins the key, so one (reference, kind) is sent once per channel.
-- recipient is an HMAC (ID_PEPPER) of channel and address: it ties a
-- provider's bounce to the address and counts the daily cap without the
-- address stored here. undeliverable: not tried, as the address bounced or
-- was blocked before; capped: not sent, as the recipient had their day's
-- messages.
ALTER TABLE sent_emails
    ADD COLUMN channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms')),
    ADD COLUMN recipient TEXT NOT NULL DEFAULT '';
ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_pkey;
ALTER TABLE sent_emails ADD PRIMARY KEY (reference, kind, channel);
ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_outcome_check;
ALTER TABLE sent_emails ADD CONSTRAINT sent_emails_outcome_check
    CHECK (outcome IN ('sent', 'rejected', 'undeliverable', 'capped'));
-- The delivery hooks find a message by the id its provider gave it.
CREATE INDEX sent_emails_provider_id ON sent_emails (channel, provider_id) WHERE provider_id <> '';

-- What the providers said after accepting a message (POST /hooks/twilio,
-- /hooks/sendgrid): one row per message and event, so a replayed or
-- repeated callback changes nothing.
CREATE TABLE delivery_events (
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    provider_id TEXT NOT NULL,
    event       TEXT NOT NULL CHECK (event IN ('delivered', 'bounced', 'dropped', 'failed', 'blocked')),
    detail      TEXT NOT NULL DEFAULT '',
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, provider_id, event)
);

-- Addresses a provider bounced or blocked for good: later messages to them
-- are not attempted, and go by the person's other channel when they gave
-- one. Keyed by sent_emails.recipient.
CREATE TABLE undeliverable_contacts (
    recipient   TEXT PRIMARY KEY,
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    reason      TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    marked_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Messages sent per recipient per day (Malaysia time), across all kinds:
-- the worker bumps the row in the transaction that sends, so the cap holds
-- under concurrent sends to one address.
CREATE TABLE message_caps (
    recipient TEXT NOT NULL,
    day       DATE NOT NULL,
    sent      INTEGER NOT NULL,
    PRIMARY KEY (recipient, day)
);

-- The delivery hooks (`vaxbook hooks`, public) get their own group: they
-- read which message an event is about and record events and bounces,
-- nothing else; a forged request that got past the signature check could
-- not touch a booking.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vaxbook_hooks') THEN
        BEGIN
            CREATE ROLE vaxbook_hooks NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- created meanwhile by a migration of another database
        END;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO vaxbook_hooks;
GRANT SELECT (channel, provider_id, recipient) ON sent_emails TO vaxbook_hooks;
GRANT SELECT, INSERT ON delivery_events TO vaxbook_hooks;
GRANT SELECT, INSERT, UPDATE ON undeliverable_contacts TO vaxbook_hooks;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vaxbook_worker') THEN
        GRANT SELECT ON undeliverable_contacts TO vaxbook_worker;
        GRANT SELECT, INSERT, UPDATE, DELETE ON message_caps TO vaxbook_worker;
    END IF;
END
$$;
