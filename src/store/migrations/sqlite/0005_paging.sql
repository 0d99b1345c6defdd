-- The paging outbox: every notification a routing decision asks for, written
-- in the same transaction as the incident change that caused it, delivered
-- by the paging worker. A row not yet due is an escalation timer.
CREATE TABLE notifications (
    id           TEXT    NOT NULL PRIMARY KEY,   -- stable: receivers deduplicate on it
    incident_id  INTEGER  NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('page', 'acknowledged', 'resolved')),
    target       TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    level        TEXT    NOT NULL,
    step         INTEGER  NOT NULL,            -- 0: the first level paged; -1: not a level
    urgency      TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    digest       INTEGER  NOT NULL DEFAULT 0,
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'dead', 'cancelled')),
    due_at       INTEGER  NOT NULL,            -- when it was first due (the timer)
    next_attempt INTEGER  NOT NULL,            -- when the worker may take it next
    attempts     INTEGER  NOT NULL DEFAULT 0,
    last_error   TEXT,
    delivery     TEXT,                       -- the delivery (grouped message) that carries it
    sent_at      INTEGER,
    created_at   INTEGER  NOT NULL,
    UNIQUE (incident_id, kind, target, channel, level)
);
CREATE INDEX ix_notifications_due ON notifications (state, next_attempt);
CREATE INDEX ix_notifications_incident ON notifications (incident_id);
CREATE INDEX ix_notifications_target ON notifications (target, channel, sent_at);
