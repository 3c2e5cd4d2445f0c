-- States, vaccination centres (PPV) and their slots. The slot row carries its
-- own booked counter so the worker's conditional UPDATE is the single point
-- that decides whether a place is left; the CHECK is the last line of defence
-- against overbooking.
CREATE TABLE states (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE centers (
    id         TEXT PRIMARY KEY,
    state_code TEXT NOT NULL REFERENCES states (code),
    name       TEXT NOT NULL,
    address    TEXT NOT NULL
);
CREATE INDEX centers_state_code ON centers (state_code);

CREATE TABLE slots (
    id         TEXT PRIMARY KEY,
    center_id  TEXT NOT NULL REFERENCES centers (id),
    slot_date  DATE NOT NULL,
    time_range TEXT NOT NULL,
    capacity   INTEGER NOT NULL CHECK (capacity >= 0),
    booked     INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT slots_booked_within_capacity CHECK (booked >= 0 AND booked <= capacity)
);
CREATE INDEX slots_center_id ON slots (center_id);

-- Every accepted reference ends here exactly once, whatever its outcome, so
-- "accepted but lost" can be checked by counting. Only confirmed bookings hold
-- a person's place: someone whose choices were full may try again.
CREATE TABLE bookings (
    reference          TEXT PRIMARY KEY,
    id_number          TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('confirmed', 'full', 'duplicate')),
    slot_id            TEXT REFERENCES slots (id),
    existing_reference TEXT,
    state_code         TEXT NOT NULL,
    name               TEXT NOT NULL,
    phone              TEXT NOT NULL,
    email              TEXT NOT NULL,
    lang               TEXT NOT NULL,
    preferences        TEXT[] NOT NULL,
    message_id         TEXT NOT NULL,
    submitted_at       TIMESTAMPTZ NOT NULL,
    processed_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT bookings_slot_iff_confirmed CHECK ((status = 'confirmed') = (slot_id IS NOT NULL))
);
CREATE UNIQUE INDEX bookings_one_confirmed_per_person ON bookings (id_number) WHERE status = 'confirmed';
CREATE INDEX bookings_slot_id ON bookings (slot_id) WHERE slot_id IS NOT NULL;

-- Messages the worker could not understand: kept for a human, acknowledged so
-- Pub/Sub does not redeliver them forever.
CREATE TABLE rejected_messages (
    message_id   TEXT PRIMARY KEY,
    subscription TEXT NOT NULL,
    data         BYTEA NOT NULL,
    attributes   JSONB NOT NULL DEFAULT '{}',
    reason       TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
