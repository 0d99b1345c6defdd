-- Runs: the attribution contract's third layer. Whatever the API or SDK does,
-- the database alone refuses a run without complete attribution.
CREATE TABLE runs (
    run_id           TEXT    NOT NULL PRIMARY KEY,
    goal             TEXT    NOT NULL,
    agent_id         TEXT    NOT NULL,
    actor_type       TEXT    NOT NULL,
    actor_id         TEXT,
    origin_system_id TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    provider_type    TEXT    NOT NULL,
    risk_level       TEXT    NOT NULL,
    origin_ts        BIGINT,
    origin_ip        TEXT,
    created_at       BIGINT  NOT NULL,
    completed_at     BIGINT,
    CONSTRAINT chk_runs_actor_type_valid
        CHECK (actor_type IN ('HUMAN', 'SYSTEM', 'SERVICE')),
    CONSTRAINT chk_runs_actor_id_human_required
        CHECK (actor_type <> 'HUMAN' OR (actor_id IS NOT NULL AND trim(actor_id) <> '')),
    CONSTRAINT chk_runs_actor_id_nonhuman_null
        CHECK (actor_type = 'HUMAN' OR actor_id IS NULL),
    CONSTRAINT chk_runs_source_valid
        CHECK (source IN ('SDK', 'API', 'SYSTEM')),
    CONSTRAINT chk_runs_risk_level_valid
        CHECK (risk_level IN ('low', 'medium', 'high', 'critical')),
    CONSTRAINT chk_runs_state_status_consistent
        CHECK ((state = 'LIVE' AND status = 'running' AND completed_at IS NULL)
            OR (state = 'COMPLETED' AND status IN ('succeeded', 'failed', 'cancelled') AND completed_at IS NOT NULL))
);

CREATE INDEX ix_runs_created ON runs (created_at DESC, run_id DESC);
CREATE INDEX ix_runs_agent_created ON runs (agent_id, created_at DESC, run_id DESC);

CREATE FUNCTION fn_runs_agent_id_not_legacy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.agent_id = 'legacy-unknown' THEN
        RAISE EXCEPTION 'trg_runs_agent_id_not_legacy: agent_id cannot be the legacy sentinel ''legacy-unknown'''
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER trg_runs_agent_id_not_legacy
BEFORE INSERT ON runs
FOR EACH ROW EXECUTE FUNCTION fn_runs_agent_id_not_legacy();

CREATE FUNCTION fn_runs_origin_system_not_legacy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.origin_system_id = 'legacy-migration' THEN
        RAISE EXCEPTION 'trg_runs_origin_system_not_legacy: origin_system_id cannot be the legacy sentinel ''legacy-migration'''
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER trg_runs_origin_system_not_legacy
BEFORE INSERT ON runs
FOR EACH ROW EXECUTE FUNCTION fn_runs_origin_system_not_legacy();

-- Attribution is written once, at ingress, and never repaired afterwards;
-- a completed run stays completed.
CREATE FUNCTION fn_runs_attribution_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.run_id IS DISTINCT FROM OLD.run_id
        OR NEW.agent_id IS DISTINCT FROM OLD.agent_id
        OR NEW.actor_type IS DISTINCT FROM OLD.actor_type
        OR NEW.actor_id IS DISTINCT FROM OLD.actor_id
        OR NEW.origin_system_id IS DISTINCT FROM OLD.origin_system_id
        OR NEW.source IS DISTINCT FROM OLD.source
        OR NEW.origin_ts IS DISTINCT FROM OLD.origin_ts
        OR NEW.origin_ip IS DISTINCT FROM OLD.origin_ip
        OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'trg_runs_attribution_immutable: a run''s attribution cannot change after insert'
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.state = 'COMPLETED' THEN
        RAISE EXCEPTION 'trg_runs_completion_final: a completed run cannot change'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER trg_runs_attribution_immutable
BEFORE UPDATE ON runs
FOR EACH ROW EXECUTE FUNCTION fn_runs_attribution_immutable();

-- The analytical projection: every dimension the panels may cut by.
CREATE VIEW v_runs_o2 AS
SELECT run_id, agent_id, actor_id, actor_type, origin_system_id, state,
       provider_type, risk_level, source, status, created_at, completed_at
FROM runs;

-- Run counts per (topic, dimension, value), kept in the same transaction as
-- every write to runs, so that a distribution over millions of runs is a
-- lookup, and always equal to grouping v_runs_o2.
CREATE TABLE runs_o2_counts (
    state     TEXT   NOT NULL,
    dim       TEXT   NOT NULL,
    value     TEXT   NOT NULL,
    run_count BIGINT NOT NULL,
    PRIMARY KEY (state, dim, value)
);

CREATE FUNCTION fn_runs_o2_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE runs_o2_counts SET run_count = run_count - 1
        WHERE state = OLD.state AND (dim, value) IN (
            ('agent_id', OLD.agent_id), ('provider_type', OLD.provider_type), ('source', OLD.source),
            ('risk_level', OLD.risk_level), ('status', OLD.status));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO runs_o2_counts (state, dim, value, run_count) VALUES
            (NEW.state, 'agent_id', NEW.agent_id, 1),
            (NEW.state, 'provider_type', NEW.provider_type, 1),
            (NEW.state, 'source', NEW.source, 1),
            (NEW.state, 'risk_level', NEW.risk_level, 1),
            (NEW.state, 'status', NEW.status, 1)
        ON CONFLICT (state, dim, value) DO UPDATE SET run_count = runs_o2_counts.run_count + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER trg_runs_o2_counts_insert_delete
AFTER INSERT OR DELETE ON runs
FOR EACH ROW EXECUTE FUNCTION fn_runs_o2_counts();

CREATE TRIGGER trg_runs_o2_counts_update
AFTER UPDATE OF state, status ON runs
FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION fn_runs_o2_counts();
