-- The record: events chained by hash, the only way anything leaves it
-- (the retention job), who looked at it, and disputed attribution.

-- Each event holds SHA-256(previous event's chain_hash, the event as
-- stored), in the order events were stored (rowid here). Events stored
-- before this migration have none and are reported as unchained.
ALTER TABLE events ADD COLUMN chain_hash TEXT;

-- The retention job's permission, written and removed inside its own
-- transaction: outside a prune no row exists, and the triggers refuse.
CREATE TABLE retention_grants (
    kind    TEXT    NOT NULL PRIMARY KEY CHECK (kind IN ('events', 'runs')),
    through INTEGER NOT NULL
);

DROP TRIGGER trg_events_no_delete;
CREATE TRIGGER trg_events_no_delete
BEFORE DELETE ON events
FOR EACH ROW WHEN NOT EXISTS (SELECT 1 FROM retention_grants WHERE kind = 'events' AND OLD.rowid <= through)
BEGIN
    SELECT RAISE(ABORT, 'trg_events_no_delete: events are append-only (only the retention job removes expired ones)');
END;

DROP TRIGGER trg_runs_no_delete;
CREATE TRIGGER trg_runs_no_delete
BEFORE DELETE ON runs
FOR EACH ROW WHEN OLD.state = 'LIVE'
    OR NOT EXISTS (SELECT 1 FROM retention_grants WHERE kind = 'runs' AND OLD.created_at < through)
BEGIN
    SELECT RAISE(ABORT, 'trg_runs_no_delete: runs are append-only (only the retention job removes expired ones)');
END;

-- Who looked: reads of incident detail and of the audit log by people.
CREATE TABLE access_log (
    id        INTEGER NOT NULL PRIMARY KEY,
    at        INTEGER NOT NULL,
    principal TEXT    NOT NULL,
    role      TEXT    NOT NULL,
    what      TEXT    NOT NULL,
    target    TEXT    NOT NULL
);
CREATE INDEX ix_access_log_at ON access_log (at);

-- "This was not me / not this agent": one open dispute per event at a time.
CREATE TABLE disputes (
    id          INTEGER NOT NULL PRIMARY KEY,
    event_id    TEXT    NOT NULL,
    run_id      TEXT,
    incident_id INTEGER,
    claim       TEXT    NOT NULL CHECK (claim IN ('not_me', 'not_this_agent')),
    reason      TEXT    NOT NULL,
    opened_by   TEXT    NOT NULL,
    opened_at   INTEGER NOT NULL,
    resolution  TEXT    CHECK (resolution IN ('upheld', 'overturned')),
    resolved_by TEXT,
    resolved_at INTEGER,
    note        TEXT,
    CONSTRAINT chk_disputes_resolution_complete
        CHECK ((resolution IS NULL AND resolved_by IS NULL AND resolved_at IS NULL)
            OR (resolution IS NOT NULL AND resolved_by IS NOT NULL AND resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX ux_disputes_open ON disputes (event_id) WHERE resolution IS NULL;
CREATE INDEX ix_disputes_run ON disputes (run_id) WHERE run_id IS NOT NULL;

-- A verdict given while its candidate's attribution was disputed says so.
ALTER TABLE candidate_verdicts ADD COLUMN while_disputed INTEGER NOT NULL DEFAULT 0;
