DROP TRIGGER trg_runs_no_delete;
DROP TRIGGER trg_runs_only_complete;
DROP TRIGGER trg_events_no_delete;
DROP TRIGGER trg_events_no_update;
