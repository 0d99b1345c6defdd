-- Stops wider or narrower than one agent: a run, the agents whose names
-- start with a prefix ("deployer-*"), or the whole fleet. One agent's stop
-- stays its pause on the agents table. A stop holds from since until it is
-- lifted or its end passes; it is never deleted, so the record of who
-- stopped what, and whether it held, stays.
CREATE TABLE stops (
    id          INTEGER NOT NULL PRIMARY KEY,
    scope       TEXT   NOT NULL CHECK (scope IN ('run', 'agents', 'fleet')),
    target      TEXT   NOT NULL,
    -- A run's agent, when the run is known.
    agent_id    TEXT,
    incident_id BIGINT,
    stopped_by  TEXT   NOT NULL,
    reason      TEXT,
    since       BIGINT NOT NULL,
    until       BIGINT,
    refused     BIGINT NOT NULL DEFAULT 0,
    lifted_at   BIGINT,
    lifted_by   TEXT
);
CREATE INDEX stops_in_force ON stops (lifted_at, scope, target);

-- One agent's stop may end by itself, like the wider ones.
ALTER TABLE agents ADD COLUMN paused_until BIGINT;
-- When the agent's SDK last asked for its controls, so that agents out of
-- contact can be listed. Written in batches by each server.
ALTER TABLE agents ADD COLUMN last_contact BIGINT;
