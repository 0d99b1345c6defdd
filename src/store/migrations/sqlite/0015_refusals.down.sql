-- loses: agents WHERE refused_since_stop <> 0
ALTER TABLE agents DROP COLUMN refused_since_stop;
