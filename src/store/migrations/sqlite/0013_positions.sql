-- An event's storage position (its rowid) is what the chain is verified in
-- the order of, from 1 on; a row at 0 or below is refused, as no server
-- writes one. An AFTER trigger: a BEFORE trigger does not yet see the rowid.
CREATE TRIGGER trg_events_position_positive AFTER INSERT ON events
WHEN NEW.rowid <= 0
BEGIN
    SELECT RAISE(ABORT, 'trg_events_position_positive: events are stored at positions from 1 on');
END;
