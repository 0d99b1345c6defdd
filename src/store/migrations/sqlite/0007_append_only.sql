-- The record behind every root cause cannot be rewritten: events are
-- append-only, and a run changes only once, from LIVE to its outcome
-- (its attribution never: trg_runs_attribution_immutable; nor a completed
-- run: trg_runs_completion_final).
CREATE TRIGGER trg_events_no_update
BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'trg_events_no_update: events are append-only');
END;

CREATE TRIGGER trg_events_no_delete
BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'trg_events_no_delete: events are append-only');
END;

CREATE TRIGGER trg_runs_only_complete
BEFORE UPDATE ON runs
FOR EACH ROW WHEN NEW.goal IS NOT OLD.goal
    OR NEW.provider_type IS NOT OLD.provider_type
    OR NEW.risk_level IS NOT OLD.risk_level
    OR (OLD.state = 'LIVE' AND NEW.state = 'LIVE' AND (NEW.status IS NOT OLD.status OR NEW.completed_at IS NOT OLD.completed_at))
BEGIN
    SELECT RAISE(ABORT, 'trg_runs_only_complete: a run changes only once, from LIVE to its outcome');
END;

CREATE TRIGGER trg_runs_no_delete
BEFORE DELETE ON runs
BEGIN
    SELECT RAISE(ABORT, 'trg_runs_no_delete: runs are append-only');
END;
