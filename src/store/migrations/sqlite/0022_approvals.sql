-- Gated actions waiting for (or given) a person's decision. A request is
-- found again by its agent's key (request_key: the SDK asks once per
-- action, again after a lost answer or a restart); its fixed fields are
-- what the approver is shown, digested in digest. Never deleted.
CREATE TABLE approvals (
    id               INTEGER NOT NULL PRIMARY KEY,
    request_key      TEXT   NOT NULL UNIQUE,
    agent_id         TEXT   NOT NULL,
    run_id           TEXT,
    on_behalf_of     TEXT,
    action_type      TEXT   NOT NULL,
    resource         TEXT,
    summary          TEXT   NOT NULL,
    critical_point   TEXT,
    rule_name        TEXT,
    reason           TEXT   NOT NULL,
    context_json     TEXT   NOT NULL DEFAULT '{}',
    incident_id      BIGINT,
    status           TEXT   NOT NULL DEFAULT 'waiting'
                     CHECK (status IN ('waiting', 'approved', 'denied', 'timed_out', 'abandoned')),
    proceed          BIGINT NOT NULL DEFAULT 0 CHECK (proceed IN (0, 1)),
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL CHECK (expires_at > created_at),
    on_timeout       TEXT   NOT NULL CHECK (on_timeout IN ('deny', 'approve')),
    four_eyes        BIGINT NOT NULL DEFAULT 0 CHECK (four_eyes IN (0, 1)),
    approvals_needed BIGINT NOT NULL DEFAULT 1 CHECK (approvals_needed IN (1, 2)),
    approvals_json   TEXT   NOT NULL DEFAULT '[]',
    decided_at       BIGINT,
    decided_by       TEXT,
    decision_reason  TEXT,
    digest           TEXT   NOT NULL,
    waited_at        BIGINT NOT NULL,
    CHECK ((status = 'waiting') = (decided_at IS NULL))
);
CREATE INDEX approvals_waiting ON approvals (status, expires_at);
CREATE INDEX approvals_by_time ON approvals (created_at);

-- Past incidents involving an action type, as an approval request shows them.
CREATE INDEX ix_events_action ON events (action_type, occurred_at) WHERE incident_id IS NOT NULL;
