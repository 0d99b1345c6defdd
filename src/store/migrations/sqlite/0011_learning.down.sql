-- loses: candidate_verdicts WHERE scored IS NOT NULL
-- loses: candidate_verdicts WHERE band IS NOT NULL
-- loses: candidate_verdicts WHERE cause_type IS NOT NULL
-- loses: candidate_verdicts WHERE cause_resource IS NOT NULL
-- loses: candidate_verdicts WHERE evidence IS NOT NULL
-- loses: candidate_verdicts WHERE read_ms IS NOT NULL
-- loses: suggestion_outcomes
-- loses: patterns
-- loses: pattern_incidents
-- loses: incidents WHERE cause_event_id IS NOT NULL
-- loses: incidents WHERE undetermined <> 0
-- loses: learned_rules
-- loses: rule_firings
DROP INDEX ix_access_log_target;
DROP INDEX ix_incidents_cause;
DROP INDEX ux_rule_firings_event;
DROP INDEX ux_rule_firings_incident;
DROP INDEX ix_rule_firings_rule;
DROP TABLE rule_firings;
DROP INDEX ux_learned_rules_pattern;
DROP TABLE learned_rules;
ALTER TABLE incidents DROP COLUMN undetermined;
ALTER TABLE incidents DROP COLUMN cause_event_id;
DROP INDEX ix_pattern_incidents_incident;
DROP TABLE pattern_incidents;
DROP TABLE patterns;
DROP INDEX ix_suggestion_outcomes_shown;
DROP TABLE suggestion_outcomes;
DROP INDEX ix_candidate_verdicts_at;
ALTER TABLE candidate_verdicts DROP COLUMN read_ms;
ALTER TABLE candidate_verdicts DROP COLUMN evidence;
ALTER TABLE candidate_verdicts DROP COLUMN cause_resource;
ALTER TABLE candidate_verdicts DROP COLUMN cause_type;
ALTER TABLE candidate_verdicts DROP COLUMN band;
ALTER TABLE candidate_verdicts DROP COLUMN scored;
