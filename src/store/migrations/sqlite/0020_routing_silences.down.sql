-- loses: silences WHERE routing_name IS NOT NULL
DROP INDEX silences_by_routing_name;
ALTER TABLE silences DROP COLUMN routing_name;
