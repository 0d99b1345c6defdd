-- The routing configuration, versioned like the catalog.
CREATE TABLE routing_versions (
    version    INTEGER NOT NULL PRIMARY KEY,
    document   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT    NOT NULL
);
