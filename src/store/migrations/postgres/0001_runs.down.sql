-- loses: runs
-- loses: runs_o2_counts
DROP TRIGGER trg_runs_o2_counts_update ON runs;
DROP TRIGGER trg_runs_o2_counts_insert_delete ON runs;
DROP FUNCTION fn_runs_o2_counts();
DROP TABLE runs_o2_counts;
DROP VIEW v_runs_o2;
DROP TRIGGER trg_runs_attribution_immutable ON runs;
DROP FUNCTION fn_runs_attribution_immutable();
DROP TRIGGER trg_runs_origin_system_not_legacy ON runs;
DROP FUNCTION fn_runs_origin_system_not_legacy();
DROP TRIGGER trg_runs_agent_id_not_legacy ON runs;
DROP FUNCTION fn_runs_agent_id_not_legacy();
DROP INDEX ix_runs_agent_created;
DROP INDEX ix_runs_created;
DROP TABLE runs;
