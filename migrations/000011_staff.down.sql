ALTER TABLE bookings DROP COLUMN attendance, DROP COLUMN attendance_at, DROP COLUMN attendance_by;
ALTER TABLE slots DROP COLUMN closed_at;
DROP TABLE audit_log;
DROP TABLE staff;
