-- The roles stay: they belong to the server, and other databases on it may
-- still grant to them. Only this database's grants go.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    REVOKE USAGE, SELECT ON SEQUENCES FROM vaxbook_invite, vaxbook_worker;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM vaxbook_cachefill, vaxbook_invite, vaxbook_worker;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM vaxbook_cachefill, vaxbook_invite, vaxbook_worker;
REVOKE USAGE ON SCHEMA public FROM vaxbook_cachefill, vaxbook_invite, vaxbook_worker;
