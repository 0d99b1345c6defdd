-- Whether a stop holds: the attempts a stopped agent's SDK refused since
-- the stop began, as its SDK reports them. Reset by each new stop.
ALTER TABLE agents ADD COLUMN refused_since_stop BIGINT NOT NULL DEFAULT 0;
