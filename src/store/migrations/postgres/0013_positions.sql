-- An event's storage position (stored_seq) is what the chain is verified in
-- the order of, from 1 on; a row at 0 or below is refused, as no server
-- writes one. NOT VALID: a database that already holds such a row still
-- starts, and `mandate audit verify` names the row.
ALTER TABLE events ADD CONSTRAINT chk_events_stored_seq_positive CHECK (stored_seq > 0) NOT VALID;
