-- loses: stops
-- loses: agents WHERE paused_until IS NOT NULL
-- loses: agents WHERE last_contact IS NOT NULL
ALTER TABLE agents DROP COLUMN last_contact;
ALTER TABLE agents DROP COLUMN paused_until;
DROP INDEX stops_in_force;
DROP TABLE stops;
