ALTER TABLE events DROP CONSTRAINT chk_events_stored_seq_positive;
