-- Calls nested under an incident's events are found by their parent, level
-- by level, rather than by reading every nested call of the window: spans
-- from OpenTelemetry are almost all nested.
DROP INDEX ix_events_nested;
CREATE INDEX ix_events_parent ON events (parent_event_id) WHERE parent_event_id IS NOT NULL;
