-- The record behind every root cause cannot be rewritten: events are
-- append-only, and a run changes only once, from LIVE to its outcome
-- (its attribution never: trg_runs_attribution_immutable; nor a completed
-- run: trg_runs_completion_final).
CREATE FUNCTION fn_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'trg_events_append_only: events are append-only (% refused)', TG_OP
        USING ERRCODE = 'check_violation';
END;
$$;

CREATE TRIGGER trg_events_append_only
BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION fn_events_append_only();

CREATE TRIGGER trg_events_no_truncate
BEFORE TRUNCATE ON events
FOR EACH STATEMENT EXECUTE FUNCTION fn_events_append_only();

CREATE FUNCTION fn_runs_only_complete() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER trg_runs_only_complete
BEFORE UPDATE OR DELETE ON runs
FOR EACH ROW EXECUTE FUNCTION fn_runs_only_complete();

CREATE TRIGGER trg_runs_no_truncate
BEFORE TRUNCATE ON runs
FOR EACH STATEMENT EXECUTE FUNCTION fn_runs_only_complete();
