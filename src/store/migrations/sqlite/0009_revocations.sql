-- Revoked tokens, shared by every server on the database: a token revoked
-- in one server's tokens file is refused by all of them, even one whose own
-- file still holds it. Only SHA-256 digests are stored.
CREATE TABLE revoked_tokens (
    sha256     TEXT   NOT NULL PRIMARY KEY,
    name       TEXT   NOT NULL,
    revoked_at BIGINT NOT NULL
);
