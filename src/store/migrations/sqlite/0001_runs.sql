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
    origin_ts        INTEGER,
    origin_ip        TEXT,
    created_at       INTEGER NOT NULL,
    completed_at     INTEGER,
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

CREATE TRIGGER trg_runs_agent_id_not_legacy
BEFORE INSERT ON runs
FOR EACH ROW WHEN NEW.agent_id = 'legacy-unknown'
BEGIN
    SELECT RAISE(ABORT, 'trg_runs_agent_id_not_legacy: agent_id cannot be the legacy sentinel ''legacy-unknown''');
END;

CREATE TRIGGER trg_runs_origin_system_not_legacy
BEFORE INSERT ON runs
FOR EACH ROW WHEN NEW.origin_system_id = 'legacy-migration'
BEGIN
    SELECT RAISE(ABORT, 'trg_runs_origin_system_not_legacy: origin_system_id cannot be the legacy sentinel ''legacy-migration''');
END;

-- Attribution is written once, at ingress, and never repaired afterwards.
CREATE TRIGGER trg_runs_attribution_immutable
BEFORE UPDATE ON runs
FOR EACH ROW WHEN NEW.run_id IS NOT OLD.run_id
    OR NEW.agent_id IS NOT OLD.agent_id
    OR NEW.actor_type IS NOT OLD.actor_type
    OR NEW.actor_id IS NOT OLD.actor_id
    OR NEW.origin_system_id IS NOT OLD.origin_system_id
    OR NEW.source IS NOT OLD.source
    OR NEW.origin_ts IS NOT OLD.origin_ts
    OR NEW.origin_ip IS NOT OLD.origin_ip
    OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'trg_runs_attribution_immutable: a run''s attribution cannot change after insert');
END;

-- A completed run stays completed.
CREATE TRIGGER trg_runs_completion_final
BEFORE UPDATE ON runs
FOR EACH ROW WHEN OLD.state = 'COMPLETED'
BEGIN
    SELECT RAISE(ABORT, 'trg_runs_completion_final: a completed run cannot change');
END;

-- The analytical projection: every dimension the panels may cut by.
CREATE VIEW v_runs_o2 AS
SELECT run_id, agent_id, actor_id, actor_type, origin_system_id, state,
       provider_type, risk_level, source, status, created_at, completed_at
FROM runs;

-- run counts per (topic, dimension, value), kept in the same transaction as
-- every write to runs, so that a distribution over millions of runs is a
-- lookup, and always equal to grouping v_runs_o2.
CREATE TABLE runs_o2_counts (
    state     TEXT    NOT NULL,
    dim       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    run_count INTEGER NOT NULL,
    PRIMARY KEY (state, dim, value)
) WITHOUT ROWID;

CREATE TRIGGER trg_runs_o2_counts_insert
AFTER INSERT ON runs
FOR EACH ROW
BEGIN
    INSERT INTO runs_o2_counts (state, dim, value, run_count) VALUES
        (NEW.state, 'agent_id', NEW.agent_id, 1),
        (NEW.state, 'provider_type', NEW.provider_type, 1),
        (NEW.state, 'source', NEW.source, 1),
        (NEW.state, 'risk_level', NEW.risk_level, 1),
        (NEW.state, 'status', NEW.status, 1)
    ON CONFLICT (state, dim, value) DO UPDATE SET run_count = run_count + 1;
END;

CREATE TRIGGER trg_runs_o2_counts_update
AFTER UPDATE OF state, status ON runs
FOR EACH ROW WHEN OLD.state IS NOT NEW.state OR OLD.status IS NOT NEW.status
BEGIN
    UPDATE runs_o2_counts SET run_count = run_count - 1 WHERE state = OLD.state AND dim = 'agent_id' AND value = OLD.agent_id;
    UPDATE runs_o2_counts SET run_count = run_count - 1 WHERE state = OLD.state AND dim = 'provider_type' AND value = OLD.provider_type;
    UPDATE runs_o2_counts SET run_count = run_count - 1 WHERE state = OLD.state AND dim = 'source' AND value = OLD.source;
    UPDATE runs_o2_counts SET run_count = run_count - 1 WHERE state = OLD.state AND dim = 'risk_level' AND value = OLD.risk_level;
    UPDATE runs_o2_counts SET run_count = run_count - 1 WHERE state = OLD.state AND dim = 'status' AND value = OLD.status;
    INSERT INTO runs_o2_counts (state, dim, value, run_count) VALUES
        (NEW.state, 'agent_id', NEW.agent_id, 1),
        (NEW.state, 'provider_type', NEW.provider_type, 1),
        (NEW.state, 'source', NEW.source, 1),
        (NEW.state, 'risk_level', NEW.risk_level, 1),
        (NEW.state, 'status', NEW.status, 1)
    ON CONFLICT (state, dim, value) DO UPDATE SET run_count = run_count + 1;
END;

CREATE TRIGGER trg_runs_o2_counts_delete
AFTER DELETE ON runs
FOR EACH ROW
BEGIN
    UPDATE runs_o2_counts SET run_count = run_count - 1 WHERE state = OLD.state AND dim = 'agent_id' AND value = OLD.agent_id;
    UPDATE runs_o2_counts SET run_count = run_count - 1 WHERE state = OLD.state AND dim = 'provider_type' AND value = OLD.provider_type;
    UPDATE runs_o2_counts SET run_count = run_count - 1 WHERE state = OLD.state AND dim = 'source' AND value = OLD.source;
    UPDATE runs_o2_counts SET run_count = run_count - 1 WHERE state = OLD.state AND dim = 'risk_level' AND value = OLD.risk_level;
    UPDATE runs_o2_counts SET run_count = run_count - 1 WHERE state = OLD.state AND dim = 'status' AND value = OLD.status;
END;
