-- The admin role reads only the booking columns its pages and their
-- changes need (internal/postgres/admin.go, and manage.go's cancel, which
-- closing a session goes through): who is booked where and how to tell
-- them, the ID hash a centre searches by, and what check-in and
-- cancellation recorded. Migration 11 gave it the whole row; staff have no
-- use for the raw ID number of older rows, the reference a duplicate
-- pointed at, a person's other preferences or the queue's message id.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vaxbook_admin') THEN
        -- Revoking the table's SELECT also revokes any column's; the
        -- UPDATE grants of migration 11 stay.
        REVOKE SELECT ON bookings FROM vaxbook_admin;
        GRANT SELECT (reference, status, slot_id, state_code, sequence, manage_hash,
                      name, email, phone, contact, lang, id_hash,
                      attendance, attendance_at, attendance_by, cancelled_at)
            ON bookings TO vaxbook_admin;
    END IF;
END
$$;
