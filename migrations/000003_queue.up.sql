-- The registration queue (docs/queue.md). A state is either open (first
-- come, first served) or queue; opens_at is when a queue state starts
-- inviting, and opened_at records that its early registrations were put in
-- their random order, which happens once.
ALTER TABLE states
    ADD COLUMN mode      TEXT NOT NULL DEFAULT 'open' CHECK (mode IN ('open', 'queue')),
    ADD COLUMN opens_at  TIMESTAMPTZ,
    ADD COLUMN opened_at TIMESTAMPTZ;

-- Every registration the worker recorded, once per reference whatever the
-- redeliveries. queue_key is the order of invitation: the API's accept time
-- in microseconds for a registration received at or after opens_at; NULL for
-- one received before it until the state opens, when the whole early batch
-- gets keys just below opens_at in a random order. place is the position
-- shown to the person (1 is first), so GET /registration can say how many
-- are ahead from Redis alone.
CREATE TABLE registrations (
    reference    TEXT PRIMARY KEY,
    state_code   TEXT NOT NULL REFERENCES states (code),
    id_number    TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'invited', 'booked', 'expired', 'duplicate')),
    name         TEXT NOT NULL,
    phone        TEXT NOT NULL,
    email        TEXT NOT NULL,
    lang         TEXT NOT NULL,
    contact      TEXT NOT NULL CHECK (contact IN ('email', 'sms', 'both')),
    received_at  TIMESTAMPTZ NOT NULL,
    queue_key    BIGINT,
    place        BIGINT,
    message_id   TEXT NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- set once the "expired" message was queued, as invitations.notified_at
    expiry_notified_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX registrations_one_live_per_person ON registrations (state_code, id_number)
    WHERE status IN ('queued', 'invited');
CREATE INDEX registrations_waiting ON registrations (state_code, queue_key, reference)
    WHERE status = 'queued';

-- One invitation per registration, ever; the token itself is never stored.
-- A place is held from issue until used_at is set or expires_at passes.
CREATE TABLE invitations (
    token_hash        TEXT PRIMARY KEY,
    registration      TEXT NOT NULL UNIQUE REFERENCES registrations (reference),
    state_code        TEXT NOT NULL REFERENCES states (code),
    id_number         TEXT NOT NULL,
    issued_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at        TIMESTAMPTZ NOT NULL,
    used_at           TIMESTAMPTZ,
    booking_reference TEXT REFERENCES bookings (reference),
    -- set once the invitation message was queued, so a loop that died
    -- between commit and publish queues it at its next round
    notified_at       TIMESTAMPTZ,
    CONSTRAINT invitations_used_with_booking CHECK ((used_at IS NULL) = (booking_reference IS NULL))
);
CREATE INDEX invitations_outstanding ON invitations (state_code, expires_at) WHERE used_at IS NULL;

-- The messages the queue sends go through the same send-once record.
ALTER TABLE sent_emails DROP CONSTRAINT sent_emails_kind_check;
ALTER TABLE sent_emails ADD CONSTRAINT sent_emails_kind_check
    CHECK (kind IN ('confirmed', 'full', 'duplicate', 'invitation', 'expired'));
