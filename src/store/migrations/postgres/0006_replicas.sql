-- Several servers on one database. Every change to incidents takes the one
-- desk_head row FOR UPDATE, so changes happen one at a time across servers,
-- in the order of their versions. The row says where the database stands:
-- the change-feed version, the configuration version (agent controls,
-- catalog, routing), a counter that moves when pages were queued, the last
-- event stored and which server wrote last. A server that finds another's
-- name there catches up from the database before it changes anything.
CREATE TABLE desk_head (
    id             INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version        BIGINT  NOT NULL,
    config_version BIGINT  NOT NULL DEFAULT 0,
    paging         BIGINT  NOT NULL DEFAULT 0,
    event_seq      BIGINT  NOT NULL DEFAULT 0,
    writer         TEXT    NOT NULL DEFAULT ''
);
INSERT INTO desk_head (id, version) SELECT 1, COALESCE(MAX(version), 0) FROM incidents;

-- The order events were stored in, across servers: catching up replays them.
ALTER TABLE events ADD COLUMN stored_seq BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX ix_events_stored_seq ON events (stored_seq);
UPDATE desk_head SET event_seq = (SELECT COALESCE(MAX(stored_seq), 0) FROM events);

-- Every committed change tells every server (LISTEN mandate_changes):
-- "version config_version paging writer".
CREATE FUNCTION fn_desk_head_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mandate_changes',
        NEW.version || ' ' || NEW.config_version || ' ' || NEW.paging || ' ' || NEW.writer);
    RETURN NEW;
END $$;
CREATE TRIGGER trg_desk_head_notify AFTER UPDATE ON desk_head
FOR EACH ROW EXECUTE FUNCTION fn_desk_head_notify();

-- Incidents whose analysis (pattern signature, routing with the suspect
-- known) is due: written with the change, worked off by the server that
-- holds the background duties, whichever server made the change.
CREATE TABLE analysis_due (
    incident_id BIGINT NOT NULL PRIMARY KEY,
    due_version BIGINT NOT NULL
);
