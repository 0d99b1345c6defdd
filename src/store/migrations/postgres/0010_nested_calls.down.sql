DROP INDEX ix_events_parent;
CREATE INDEX ix_events_nested ON events (occurred_at) WHERE parent_event_id IS NOT NULL;
