-- The learning loop (seed 004 2.2, 3.7, 9.4, 10, 11.2–11.3).

-- What the machine said of a candidate when a human judged it: its score
-- before any verdict, band, cause type and resource, and evidence; and how
-- long after first opening the incident's detail the judge gave it.
ALTER TABLE candidate_verdicts ADD COLUMN scored INTEGER;
ALTER TABLE candidate_verdicts ADD COLUMN band TEXT;
ALTER TABLE candidate_verdicts ADD COLUMN cause_type TEXT;
ALTER TABLE candidate_verdicts ADD COLUMN cause_resource TEXT;
ALTER TABLE candidate_verdicts ADD COLUMN evidence TEXT;
ALTER TABLE candidate_verdicts ADD COLUMN read_ms INTEGER;
CREATE INDEX ix_candidate_verdicts_at ON candidate_verdicts (at);

-- Each suggestion shown on an incident, and what became of it.
CREATE TABLE suggestion_outcomes (
    incident_id  INTEGER NOT NULL,
    key          TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    intervention TEXT,
    target       TEXT,
    first_shown  INTEGER NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('shown', 'acted', 'superseded', 'ignored')),
    acted_kind   TEXT,
    acted_by     TEXT,
    closed_at    INTEGER,
    PRIMARY KEY (incident_id, key)
);
CREATE INDEX ix_suggestion_outcomes_shown ON suggestion_outcomes (first_shown);

-- Recurring incident signatures, and the incidents that matched them.
CREATE TABLE patterns (
    id                 INTEGER NOT NULL PRIMARY KEY,
    key                TEXT    NOT NULL UNIQUE,
    signature          TEXT    NOT NULL,
    first_seen         INTEGER NOT NULL,
    last_seen          INTEGER NOT NULL,
    escalated_incident INTEGER
);
CREATE TABLE pattern_incidents (
    pattern_id  INTEGER NOT NULL,
    incident_id INTEGER NOT NULL,
    level       TEXT    NOT NULL CHECK (level IN ('exact', 'similar', 'possible')),
    score       INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (pattern_id, incident_id)
);
CREATE INDEX ix_pattern_incidents_incident ON pattern_incidents (incident_id);
-- The cause an incident's analysis puts first, and whether it found none.
ALTER TABLE incidents ADD COLUMN cause_event_id TEXT;
ALTER TABLE incidents ADD COLUMN undetermined INTEGER NOT NULL DEFAULT 0;

-- Rules learned from incidents: proposed, approved by an admin, active,
-- then sunset (or rejected).
CREATE TABLE learned_rules (
    id                  INTEGER NOT NULL PRIMARY KEY,
    name                TEXT    NOT NULL,
    pattern_id          INTEGER,
    match_json          TEXT    NOT NULL,
    decision            TEXT    NOT NULL CHECK (decision IN ('flagged', 'gated', 'auto')),
    automation          TEXT    CHECK (automation IN ('pause_agent', 'escalate')),
    state               TEXT    NOT NULL CHECK (state IN ('proposed', 'approved', 'active', 'sunset', 'rejected')),
    source              TEXT    NOT NULL,
    proposed_by         TEXT    NOT NULL,
    proposed_at         INTEGER NOT NULL,
    decided_by          TEXT,
    decided_at          INTEGER,
    activated_at        INTEGER,
    ended_at            INTEGER,
    sunset_proposed_at  INTEGER,
    last_fired_at       INTEGER
);
CREATE UNIQUE INDEX ux_learned_rules_pattern ON learned_rules (pattern_id)
    WHERE pattern_id IS NOT NULL AND state IN ('proposed', 'approved', 'active');
CREATE TABLE rule_firings (
    id          INTEGER NOT NULL PRIMARY KEY,
    rule_id     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    event_id    TEXT,
    incident_id INTEGER,
    decision    TEXT    NOT NULL,
    interrupted INTEGER NOT NULL
);
CREATE INDEX ix_rule_firings_rule ON rule_firings (rule_id, at);
CREATE UNIQUE INDEX ux_rule_firings_incident ON rule_firings (rule_id, incident_id) WHERE incident_id IS NOT NULL;
CREATE UNIQUE INDEX ux_rule_firings_event ON rule_firings (rule_id, event_id) WHERE event_id IS NOT NULL;

-- Incidents sharing a first cause are found by it; a verdict's reading
-- time by the judge's first read of the incident.
CREATE INDEX ix_incidents_cause ON incidents (cause_event_id) WHERE cause_event_id IS NOT NULL;
CREATE INDEX ix_access_log_target ON access_log (target, principal, at);
