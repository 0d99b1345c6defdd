-- Silences written in the routing file carry their name there: applying
-- the file again keeps an unchanged one, ends one changed or removed, and
-- makes the new ones.
ALTER TABLE silences ADD COLUMN routing_name TEXT;
CREATE INDEX silences_by_routing_name ON silences (routing_name);
