-- loses: silences
-- loses: incidents WHERE silence IS NOT NULL
-- loses: incidents WHERE silence_id IS NOT NULL
ALTER TABLE incidents DROP COLUMN silence_id;
ALTER TABLE incidents DROP COLUMN silence;
DROP INDEX silences_by_end;
DROP TABLE silences;
