-- Runs in the record: a run's creation and its completion are each a
-- record in a hash chain of their own, in the order they were written, so
-- rewriting a run (its attribution, its outcome), completing it by hand or
-- removing it outside retention is named by `mandate audit verify`.
CREATE TABLE run_records (
    position   INTEGER NOT NULL PRIMARY KEY,
    run_id     TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('created', 'completed')),
    record     TEXT    NOT NULL,
    chain_hash TEXT    NOT NULL
);
CREATE INDEX ix_run_records_run ON run_records (run_id);

CREATE TRIGGER trg_run_records_no_update BEFORE UPDATE ON run_records
BEGIN
    SELECT RAISE(ABORT, 'trg_run_records_no_update: run records are append-only');
END;

CREATE TRIGGER trg_run_records_no_delete BEFORE DELETE ON run_records
BEGIN
    SELECT RAISE(ABORT, 'trg_run_records_no_delete: run records are append-only');
END;

CREATE TRIGGER trg_run_records_position_positive AFTER INSERT ON run_records
WHEN NEW.position <= 0
BEGIN
    SELECT RAISE(ABORT, 'trg_run_records_position_positive: run records are stored at positions from 1 on');
END;

-- The runs stored before the record began: the only runs allowed to have
-- no creation record.
CREATE TABLE runs_before_record (run_id TEXT NOT NULL PRIMARY KEY);
INSERT INTO runs_before_record (run_id) SELECT run_id FROM runs;

CREATE TRIGGER trg_runs_before_record_no_insert BEFORE INSERT ON runs_before_record
BEGIN
    SELECT RAISE(ABORT, 'trg_runs_before_record_no_insert: the runs before the record are fixed');
END;
