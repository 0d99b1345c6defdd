-- loses: slow_burn_checks
-- loses: degradations
DROP INDEX degradations_by_time;
DROP INDEX degradations_one_open;
DROP TABLE degradations;
DROP TABLE slow_burn_checks;
