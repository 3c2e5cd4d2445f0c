-- The worker's transaction, statement for statement (internal/postgres/bookings.go):
-- lock the person, look for an earlier outcome, take a place with the
-- conditional UPDATE, insert the booking. Each client books new people
-- spread over the 8 bench slots, so every transaction confirms.
\set person random(1, 4000000000000000)
\set slot random(0, 7)
BEGIN;
SELECT pg_advisory_xact_lock(hashtextextended(:client_id || '-' || :person, 20211));
SELECT b.reference, b.status, COALESCE(b.existing_reference, ''),
       COALESCE(s.id, ''), COALESCE(c.id, ''), COALESCE(c.name, ''), COALESCE(c.address, ''),
       COALESCE(to_char(s.slot_date, 'YYYY-MM-DD'), ''), COALESCE(s.time_range, ''), b.lang
FROM bookings b
LEFT JOIN slots s ON s.id = b.slot_id
LEFT JOIN centers c ON c.id = s.center_id
WHERE b.reference = 'PG' || :client_id || 'X' || :person OR (b.id_number = :client_id || '-' || :person AND b.status = 'confirmed');
UPDATE slots s SET booked = s.booked + 1
FROM centers c
WHERE s.id = 'slot-' || :slot AND s.booked < s.capacity AND c.id = s.center_id
RETURNING s.id, c.id, c.name, c.address, to_char(s.slot_date, 'YYYY-MM-DD'), s.time_range;
INSERT INTO bookings (reference, id_number, status, slot_id, existing_reference, state_code,
                      name, phone, email, lang, preferences, message_id, submitted_at)
VALUES ('PG' || :client_id || 'X' || :person, :client_id || '-' || :person, 'confirmed', 'slot-' || :slot, NULL, 'selangor',
        'Orang Ujian', '+60123456789', 'p@loadtest.example', 'ms', ARRAY['slot-' || :slot], 'pgbench', now());
END;
