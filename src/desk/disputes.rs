//! Disputed attribution (seed 13.2): a person says an action is not theirs,
//! or not this agent's; the candidate and the run show DISPUTED until an
//! admin finds the attribution upheld or overturned. Both steps are in the
//! audit log, and the incident the event belongs to moves to a new version
//! so every console shows it.

use super::Desk;
use super::change::Committed;
use super::interventions::InterventionError;
use crate::api::{Dispute, DisputeClaim, DisputeResolution};
use chrono::Utc;

impl Desk {
    /// `incident_id`: the incident the event is disputed in (it is a
    /// candidate there); without it, the incident the event belongs to.
    pub async fn open_dispute(
        &self,
        event_id: &str,
        incident_id: Option<i64>,
        claim: DisputeClaim,
        reason: &str,
        by: &str,
    ) -> Result<Dispute, InterventionError> {
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let Some((run_id, own_incident)) = self.store.event_context(&mut tx, event_id).await? else {
            return Err(InterventionError::NotFound("EVENT_NOT_FOUND", format!("no event {event_id:?}")));
        };
        if let Some(id) = incident_id
            && self.store.get_incident_in(&mut tx, id).await?.is_none()
        {
            return Err(InterventionError::NotFound("INCIDENT_NOT_FOUND", format!("no incident #{id}")));
        }
        let incident_id = incident_id.or(own_incident);
        if let Some(open) = self.store.open_dispute_for(&mut tx, event_id).await? {
            return Err(InterventionError::Conflict(
                "DISPUTE_OPEN",
                format!(
                    "the attribution of {event_id:?} is already disputed (dispute #{}, by {})",
                    open.id, open.opened_by
                ),
            ));
        }
        let dispute = self
            .store
            .insert_dispute(&mut tx, event_id, run_id.as_deref(), incident_id, claim, reason, by, now)
            .await?;
        let details = serde_json::json!({
            "dispute": dispute.id, "claim": claim.as_str(), "reason": reason,
            "run_id": dispute.run_id, "incident_id": dispute.incident_id,
        });
        self.store.append_audit(&mut tx, now, by, "dispute_opened", &format!("event:{event_id}"), details).await?;
        let version = self.touch_incident(&mut tx, state.version, incident_id, now).await?;
        self.commit_change(&mut state, tx, Committed::version(version)).await?;
        Ok(dispute)
    }

    pub async fn resolve_dispute(
        &self,
        id: i64,
        resolution: DisputeResolution,
        note: Option<&str>,
        by: &str,
    ) -> Result<Dispute, InterventionError> {
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let Some(found) = self.store.dispute_in(&mut tx, id).await? else {
            return Err(InterventionError::NotFound("DISPUTE_NOT_FOUND", format!("no dispute #{id}")));
        };
        let Some(dispute) = self.store.resolve_dispute(&mut tx, id, resolution, by, note, now).await? else {
            return Err(InterventionError::Conflict(
                "DISPUTE_RESOLVED",
                format!(
                    "dispute #{id} was resolved already ({}, by {})",
                    found.state,
                    found.resolved_by.as_deref().unwrap_or("?")
                ),
            ));
        };
        let details = serde_json::json!({
            "dispute": id, "resolution": resolution.as_str(), "note": note,
            "claim": dispute.claim.as_str(), "opened_by": dispute.opened_by,
        });
        let target = format!("event:{}", dispute.event_id);
        self.store.append_audit(&mut tx, now, by, "dispute_resolved", &target, details).await?;
        let version = self.touch_incident(&mut tx, state.version, dispute.incident_id, now).await?;
        self.commit_change(&mut state, tx, Committed::version(version)).await?;
        Ok(dispute)
    }

    /// The incident moves to a new version (its detail changed); the
    /// version the change feed is at after it.
    async fn touch_incident(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        version: i64,
        incident_id: Option<i64>,
        now: chrono::DateTime<Utc>,
    ) -> Result<i64, InterventionError> {
        let Some(mut record) = (match incident_id {
            Some(id) => self.store.get_incident_in(tx, id).await?,
            None => None,
        }) else {
            return Ok(version);
        };
        let version = version + 1;
        record.summary.updated_at = now;
        record.summary.version = version;
        self.store.save_incident(tx, &record).await?;
        self.store.mark_analysis_due(tx, &[record.summary.id], version).await?;
        Ok(version)
    }
}
