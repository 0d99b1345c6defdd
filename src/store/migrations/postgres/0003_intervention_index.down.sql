DROP INDEX interventions_by_incident;
