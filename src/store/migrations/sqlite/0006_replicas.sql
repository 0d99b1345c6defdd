-- Incidents whose analysis (pattern signature, routing with the suspect
-- known) is due: written with the change, worked off in the background, so
-- a killed server resumes it after a restart.
CREATE TABLE analysis_due (
    incident_id INTEGER NOT NULL PRIMARY KEY,
    due_version INTEGER NOT NULL
);
