-- Silences and maintenance windows. Each matches like a routing rule
-- (match_json), has an owner, a reason and an end; a weekly window
-- (weekly_json) makes it recur until that end. Never deleted: an ended
-- silence stays, with how many incidents it held (none: unused).
CREATE TABLE silences (
    id          INTEGER NOT NULL PRIMARY KEY,
    match_json  TEXT   NOT NULL,
    owner       TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL CHECK (ends_at > starts_at),
    weekly_json TEXT,
    incident_id BIGINT,
    created_at  BIGINT NOT NULL,
    lifted_at   BIGINT,
    lifted_by   TEXT,
    incidents   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX silences_by_end ON silences (ends_at);

-- The silence holding an incident's paging (or that held it), as the
-- incident shows it.
ALTER TABLE incidents ADD COLUMN silence TEXT;
ALTER TABLE incidents ADD COLUMN silence_id BIGINT;
