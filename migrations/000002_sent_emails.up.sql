-- One row per e-mail the push handler finished with, keyed by what it is
-- about, so a redelivered or duplicated request finds the row and sends
-- nothing. The row is written in the transaction that held the
-- (reference, kind) lock across the send: no row means nothing was sent, or
-- the process died between the provider's answer and the commit.
CREATE TABLE sent_emails (
    reference        TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('confirmed', 'full', 'duplicate')),
    -- sent: the provider accepted it; rejected: the provider refused it for
    -- good (a bad address, say) and it will not be tried again.
    outcome          TEXT NOT NULL CHECK (outcome IN ('sent', 'rejected')),
    provider_status  INTEGER NOT NULL,
    provider_id      TEXT NOT NULL DEFAULT '',
    detail           TEXT NOT NULL DEFAULT '',
    message_id       TEXT NOT NULL,
    delivery_attempt INTEGER NOT NULL DEFAULT 0,
    requested_at     TIMESTAMPTZ,
    recorded_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (reference, kind)
);
