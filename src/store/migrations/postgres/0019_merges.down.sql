-- loses: incidents WHERE merged_into IS NOT NULL
DROP INDEX incidents_by_survivor;
ALTER TABLE incidents DROP COLUMN merged_into;
