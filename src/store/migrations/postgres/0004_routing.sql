-- The routing configuration, versioned like the catalog.
CREATE TABLE routing_versions (
    version    BIGINT NOT NULL PRIMARY KEY,
    document   TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT   NOT NULL
);
