-- The interventions on an incident, for its detail and timeline.
CREATE INDEX interventions_by_incident ON interventions (incident_id, created_at);
