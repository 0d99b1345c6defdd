-- Events at tool-call granularity, and what Mandate builds from them.
CREATE TABLE events (
    event_id         TEXT    NOT NULL PRIMARY KEY,
    agent_id         TEXT,
    actor_type       TEXT,
    actor_id         TEXT,
    origin_system_id TEXT,
    run_id           TEXT,
    parent_event_id  TEXT,
    action_type      TEXT,
    tool             TEXT,
    resource         TEXT,
    scope            TEXT    NOT NULL DEFAULT '[]',
    outcome          TEXT    NOT NULL CHECK (outcome IN ('ok', 'error')),
    error_code       TEXT,
    error_message    TEXT,
    trace_id         TEXT,
    seq              INTEGER,
    occurred_at      INTEGER NOT NULL,
    received_at      INTEGER NOT NULL,
    metadata         TEXT    NOT NULL DEFAULT '{}',
    flags            TEXT    NOT NULL DEFAULT '[]',
    incident_id      INTEGER
);
CREATE INDEX ix_events_occurred ON events (occurred_at);
CREATE INDEX ix_events_resource ON events (resource, occurred_at);
-- Most events belong to no incident, carry no trace and have no parent:
-- partial indexes keep ingest from paying for what is usually absent.
CREATE INDEX ix_events_incident ON events (incident_id, occurred_at) WHERE incident_id IS NOT NULL;
CREATE INDEX ix_events_trace ON events (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX ix_events_nested ON events (occurred_at) WHERE parent_event_id IS NOT NULL;
CREATE INDEX ix_events_tool ON events (tool, incident_id) WHERE tool IS NOT NULL AND incident_id IS NOT NULL;
-- Errors rebuild the grouping state at start; changes feed rollback suggestions.
CREATE INDEX ix_events_errors ON events (occurred_at) WHERE outcome = 'error';
CREATE INDEX ix_events_changes ON events (resource, occurred_at)
    WHERE action_type IN ('deploy', 'config_change', 'migration', 'db_migration', 'schema_migration');

CREATE TABLE sequence_gaps (
    agent_id      TEXT    NOT NULL,
    first_missing INTEGER NOT NULL,
    last_missing  INTEGER NOT NULL,
    after_ts      INTEGER NOT NULL,
    before_ts     INTEGER NOT NULL,
    PRIMARY KEY (agent_id, first_missing)
);

CREATE TABLE incidents (
    id                 INTEGER NOT NULL PRIMARY KEY,
    title              TEXT    NOT NULL,
    severity           TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status             TEXT    NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    started_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_error_at      INTEGER NOT NULL,
    resolved_at        INTEGER,
    resources          TEXT    NOT NULL DEFAULT '[]',
    responders         TEXT    NOT NULL DEFAULT '[]',
    coordinator        TEXT,
    escalation_level   INTEGER NOT NULL DEFAULT 0,
    auto_recovered     INTEGER NOT NULL DEFAULT 0,
    flagged_for_review INTEGER NOT NULL DEFAULT 0,
    event_count        INTEGER NOT NULL DEFAULT 0,
    created_by         TEXT,
    signature          TEXT,
    version            INTEGER NOT NULL
);
CREATE INDEX ix_incidents_version ON incidents (version);
CREATE INDEX ix_incidents_started ON incidents (started_at DESC, id DESC);

CREATE TABLE incident_resources (
    incident_id INTEGER NOT NULL,
    resource    TEXT    NOT NULL,
    PRIMARY KEY (resource, incident_id)
);

CREATE TABLE candidate_verdicts (
    incident_id INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    verdict     TEXT    NOT NULL CHECK (verdict IN ('confirmed', 'rejected', 'investigate')),
    actor_id    TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (incident_id, event_id)
);

CREATE TABLE agents (
    agent_id       TEXT    NOT NULL PRIMARY KEY,
    status         TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    paused_at      INTEGER,
    paused_by      TEXT,
    disabled_tools TEXT    NOT NULL DEFAULT '[]',
    last_seen      INTEGER NOT NULL,
    last_seq       INTEGER,
    last_seq_at    INTEGER
);


-- Per-agent outcomes by hour, so failure rates never scan a day of rows.
CREATE TABLE agent_hourly (
    agent_id    TEXT    NOT NULL,
    hour        INTEGER  NOT NULL,
    events      INTEGER  NOT NULL DEFAULT 0,
    errors      INTEGER  NOT NULL DEFAULT 0,
    runs_done   INTEGER  NOT NULL DEFAULT 0,
    runs_failed INTEGER  NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_id, hour)
);

CREATE TRIGGER trg_runs_agent_hourly
AFTER UPDATE OF state ON runs
FOR EACH ROW WHEN OLD.state = 'LIVE' AND NEW.state = 'COMPLETED'
BEGIN
    INSERT INTO agent_hourly (agent_id, hour, runs_done, runs_failed)
    VALUES (NEW.agent_id, NEW.completed_at / 3600000, 1, CASE WHEN NEW.status = 'failed' THEN 1 ELSE 0 END)
    ON CONFLICT (agent_id, hour) DO UPDATE SET
        runs_done = runs_done + 1,
        runs_failed = runs_failed + CASE WHEN NEW.status = 'failed' THEN 1 ELSE 0 END;
END;

CREATE TABLE interventions (
    id          INTEGER NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL,
    incident_id INTEGER,
    agent_id    TEXT,
    actor_id    TEXT    NOT NULL,
    reason      TEXT,
    details     TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL
);

CREATE TABLE idempotency_keys (
    principal    TEXT    NOT NULL,
    idem_key     TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('in_flight', 'done')),
    status       INTEGER,
    body         TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (principal, idem_key)
);

-- Append-only, hash-chained: each row holds the hash of the previous one.
CREATE TABLE audit_log (
    seq       INTEGER NOT NULL PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    details   TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);

CREATE TRIGGER trg_audit_log_no_update
BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'trg_audit_log_no_update: the audit log is append-only');
END;

CREATE TRIGGER trg_audit_log_no_delete
BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'trg_audit_log_no_delete: the audit log is append-only');
END;

CREATE TABLE catalog_versions (
    version    INTEGER NOT NULL PRIMARY KEY,
    document   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT    NOT NULL
);

-- Rejected runs and events are counted here, never stored as runs.
CREATE TABLE attribution_rejections (
    id               INTEGER NOT NULL PRIMARY KEY,
    at               INTEGER NOT NULL,
    subject          TEXT    NOT NULL CHECK (subject IN ('run', 'event')),
    agent_id         TEXT,
    origin_system_id TEXT,
    codes            TEXT    NOT NULL,
    override_claimed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_attribution_rejections_at ON attribution_rejections (at);
