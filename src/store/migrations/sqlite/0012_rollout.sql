-- The attribution rollout (seed 000 §5, §6): compliance by origin system.

-- The attribution fields of a refused request, so its owner can be shown
-- what was sent: values of the attribution fields (clipped), and only
-- whether an actor_id, origin_ts or origin_ip was there. Never the goal or
-- anything else a request may carry.
ALTER TABLE attribution_rejections ADD COLUMN payload TEXT;
CREATE INDEX ix_attribution_rejections_origin ON attribution_rejections (origin_system_id, at);
CREATE INDEX ix_runs_origin_created ON runs (origin_system_id, created_at);
