-- loses: notifications
DROP INDEX ix_notifications_target;
DROP INDEX ix_notifications_incident;
DROP INDEX ix_notifications_due;
DROP TABLE notifications;
