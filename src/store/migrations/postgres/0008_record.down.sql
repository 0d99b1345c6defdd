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

-- As 0007 wrote them: nothing is ever deleted.
CREATE OR REPLACE FUNCTION fn_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'trg_events_append_only: events are append-only (% refused)', TG_OP
        USING ERRCODE = 'check_violation';
END;
$$;

CREATE OR REPLACE FUNCTION fn_runs_only_complete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'trg_runs_append_only: runs are append-only (% refused)', TG_OP
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.goal IS DISTINCT FROM OLD.goal
        OR NEW.provider_type IS DISTINCT FROM OLD.provider_type
        OR NEW.risk_level IS DISTINCT FROM OLD.risk_level
        OR (OLD.state = 'LIVE' AND NEW.state = 'LIVE' AND (NEW.status IS DISTINCT FROM OLD.status
            OR NEW.completed_at IS DISTINCT FROM OLD.completed_at)) THEN
        RAISE EXCEPTION 'trg_runs_only_complete: a run changes only once, from LIVE to its outcome'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

DROP TABLE retention_grants;
ALTER TABLE events DROP COLUMN chain_hash;
