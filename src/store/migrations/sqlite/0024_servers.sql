-- The servers serving this database and the release each runs: during a
-- rolling upgrade old and new stand side by side, and `mandate migrate
-- status` names them before anyone applies a contract migration. A server
-- writes its row when it starts and every 30 s, and removes it when it
-- stops; a row not refreshed for 2 minutes is a server that died.
CREATE TABLE servers (
    name       TEXT   NOT NULL PRIMARY KEY,
    version    TEXT   NOT NULL,
    api        TEXT   NOT NULL,
    started_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL
);
