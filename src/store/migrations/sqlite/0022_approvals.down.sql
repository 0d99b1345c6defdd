-- loses: approvals
DROP INDEX ix_events_action;
DROP INDEX approvals_by_time;
DROP INDEX approvals_waiting;
DROP TABLE approvals;
