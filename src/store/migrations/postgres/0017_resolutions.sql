-- An incident resolved by hand says how (cause confirmed, undetermined, not
-- an incident), by whom, when and why: one JSON document, cleared when the
-- incident opens again. While it is set, the analysis no longer decides the
-- incident's cause.
ALTER TABLE incidents ADD COLUMN resolution TEXT;

-- A severity a person set holds: new events no longer recompute it.
ALTER TABLE incidents ADD COLUMN severity_set_by TEXT;
