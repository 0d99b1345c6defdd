-- Slow-burn degradation (seed 004 §7.3). Each rule's last word, one row per
-- rule of the routing file's [metrics], replaced at each evaluation; and the
-- degradations opened, at most one open per rule, kept when cleared. The
-- figures, the trend link and the changes in the window are in body, as the
-- API gives them.
CREATE TABLE slow_burn_checks (
    rule       TEXT   NOT NULL PRIMARY KEY,
    state      TEXT   NOT NULL CHECK (state IN ('healthy', 'degraded', 'unavailable')),
    checked_at BIGINT NOT NULL,
    body       TEXT   NOT NULL
);

CREATE TABLE degradations (
    id         INTEGER NOT NULL PRIMARY KEY,
    rule       TEXT   NOT NULL,
    service    TEXT   NOT NULL,
    status     TEXT   NOT NULL CHECK (status IN ('open', 'cleared')),
    opened_at  BIGINT NOT NULL,
    cleared_at BIGINT,
    body       TEXT   NOT NULL,
    CHECK ((status = 'open') = (cleared_at IS NULL))
);
CREATE UNIQUE INDEX degradations_one_open ON degradations (rule) WHERE status = 'open';
CREATE INDEX degradations_by_time ON degradations (opened_at);
