-- loses: agents WHERE sdk IS NOT NULL
ALTER TABLE agents DROP COLUMN sdk;
