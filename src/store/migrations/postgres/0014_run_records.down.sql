-- loses: run_records
-- loses: runs_before_record
DROP TRIGGER trg_runs_before_record_fixed ON runs_before_record;
DROP TABLE runs_before_record;
DROP TRIGGER trg_run_records_no_truncate ON run_records;
DROP TRIGGER trg_run_records_append_only ON run_records;
DROP FUNCTION fn_run_records_append_only();
DROP INDEX ix_run_records_run;
DROP TABLE run_records;
