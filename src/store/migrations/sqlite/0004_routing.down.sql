-- loses: routing_versions
-- loses: routing_decisions
DROP INDEX ix_routing_decisions_at;
DROP INDEX ix_routing_decisions_incident;
DROP TABLE routing_decisions;
DROP TABLE routing_versions;
