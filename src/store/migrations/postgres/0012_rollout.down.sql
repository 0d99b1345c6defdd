-- loses: attribution_rejections WHERE payload IS NOT NULL
DROP INDEX ix_runs_origin_created;
DROP INDEX ix_attribution_rejections_origin;
ALTER TABLE attribution_rejections DROP COLUMN payload;
