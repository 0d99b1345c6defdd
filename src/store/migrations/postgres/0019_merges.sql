-- A duplicate incident merged into another points to the survivor. Its
-- events keep their incident id (it is part of the events' chain): the
-- survivor reads them, and its own, through this link.
ALTER TABLE incidents ADD COLUMN merged_into BIGINT;
CREATE INDEX incidents_by_survivor ON incidents (merged_into);
