-- loses: analysis_due
DROP TABLE analysis_due;
DROP TRIGGER trg_desk_head_notify ON desk_head;
DROP FUNCTION fn_desk_head_notify();
DROP INDEX ix_events_stored_seq;
ALTER TABLE events DROP COLUMN stored_seq;
DROP TABLE desk_head;
