-- loses: incidents WHERE resolution IS NOT NULL
-- loses: incidents WHERE severity_set_by IS NOT NULL
ALTER TABLE incidents DROP COLUMN severity_set_by;
ALTER TABLE incidents DROP COLUMN resolution;
