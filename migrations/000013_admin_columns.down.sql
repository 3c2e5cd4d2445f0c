-- Back to migration 11's SELECT on the whole row; the REVOKE first drops
-- the column grants too, so nothing of the narrowed grant is left.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vaxbook_admin') THEN
        REVOKE SELECT ON bookings FROM vaxbook_admin;
        GRANT SELECT ON bookings TO vaxbook_admin;
    END IF;
END
$$;
