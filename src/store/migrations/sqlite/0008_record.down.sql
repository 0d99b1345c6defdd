-- loses: events WHERE chain_hash IS NOT NULL
-- loses: retention_grants
-- loses: access_log
-- loses: disputes
-- loses: candidate_verdicts WHERE while_disputed <> 0
ALTER TABLE candidate_verdicts DROP COLUMN while_disputed;
DROP INDEX ix_disputes_run;
DROP INDEX ux_disputes_open;
DROP TABLE disputes;
DROP INDEX ix_access_log_at;
DROP TABLE access_log;
DROP TRIGGER trg_runs_no_delete;
DROP TRIGGER trg_events_no_delete;
DROP TABLE retention_grants;

-- As 0007 wrote them: nothing is ever deleted.
CREATE TRIGGER trg_events_no_delete
BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'trg_events_no_delete: events are append-only');
END;

CREATE TRIGGER trg_runs_no_delete
BEFORE DELETE ON runs
BEGIN
    SELECT RAISE(ABORT, 'trg_runs_no_delete: runs are append-only');
END;

ALTER TABLE events DROP COLUMN chain_hash;
