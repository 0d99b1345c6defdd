-- Runs in the record: a run's creation and its completion are each a
-- record in a hash chain of their own, in the order they were written, so
-- rewriting a run (its attribution, its outcome), completing it by hand or
-- removing it outside retention is named by `mandate audit verify`.
CREATE TABLE run_records (
    position   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id     TEXT   NOT NULL,
    kind       TEXT   NOT NULL CHECK (kind IN ('created', 'completed')),
    record     TEXT   NOT NULL,
    chain_hash TEXT   NOT NULL,
    CONSTRAINT chk_run_records_position_positive CHECK (position > 0)
);
CREATE INDEX ix_run_records_run ON run_records (run_id);

CREATE FUNCTION fn_run_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'trg_run_records_append_only: run records are append-only (% refused)', TG_OP
        USING ERRCODE = 'check_violation';
END;
$$;

CREATE TRIGGER trg_run_records_append_only
BEFORE UPDATE OR DELETE ON run_records
FOR EACH ROW EXECUTE FUNCTION fn_run_records_append_only();

CREATE TRIGGER trg_run_records_no_truncate
BEFORE TRUNCATE ON run_records
FOR EACH STATEMENT EXECUTE FUNCTION fn_run_records_append_only();

-- The runs stored before the record began: the only runs allowed to have
-- no creation record.
CREATE TABLE runs_before_record (run_id TEXT NOT NULL PRIMARY KEY);
INSERT INTO runs_before_record (run_id) SELECT run_id FROM runs;

CREATE TRIGGER trg_runs_before_record_fixed
BEFORE INSERT OR UPDATE OR DELETE ON runs_before_record
FOR EACH ROW EXECUTE FUNCTION fn_run_records_append_only();
