-- The routing configuration, versioned like the catalog.
CREATE TABLE routing_versions (
    version    INTEGER NOT NULL PRIMARY KEY,
    document   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT    NOT NULL
);

-- Each routing decision an incident was given, when it changed: its history,
-- and how often each rule matches.
CREATE TABLE routing_decisions (
    id          INTEGER NOT NULL PRIMARY KEY,
    incident_id INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    rule        TEXT,
    decision    TEXT    NOT NULL
);
CREATE INDEX ix_routing_decisions_incident ON routing_decisions (incident_id, id);
CREATE INDEX ix_routing_decisions_at ON routing_decisions (at);
