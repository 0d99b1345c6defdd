DROP TRIGGER trg_runs_no_truncate ON runs;
DROP TRIGGER trg_runs_only_complete ON runs;
DROP FUNCTION fn_runs_only_complete();
DROP TRIGGER trg_events_no_truncate ON events;
DROP TRIGGER trg_events_append_only ON events;
DROP FUNCTION fn_events_append_only();
