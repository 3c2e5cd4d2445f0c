-- The maintenance switch (`vaxbook state set STATE --closed`): a closed
-- state takes no new bookings or registrations (503 state_closed), while its
-- listing and every status keep being served. It reaches the API the way
-- mode does: the cache-fill loop copies it into GET /states.
ALTER TABLE states ADD COLUMN closed BOOLEAN NOT NULL DEFAULT false;
