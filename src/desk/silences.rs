//! Silences made and lifted by people, recorded in the audit log. A silence
//! is read from the database whenever an incident's paging is decided (see
//! `paging.rs`), so every server of a database holds by the same ones; a
//! lifted silence releases the pages it held at once. The routing file's
//! silences are brought into force whenever the file is applied.

use super::change::Committed;
use super::{Desk, InterventionError};
use crate::api::{Silence, SilenceMatch, SilenceResult, WeeklyWindow};
use crate::routing::{Routing, RoutingSilence};
use crate::store::{NewSilence, Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

/// A person's silence, validated.
#[derive(Debug, Clone)]
pub struct SilenceRequest {
    pub matches: SilenceMatch,
    pub reason: String,
    /// None: now, by the paging clock.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: DateTime<Utc>,
    pub weekly: Option<WeeklyWindow>,
    pub incident_id: Option<i64>,
    pub actor_id: String,
    pub attribution: serde_json::Value,
}

impl Desk {
    /// Makes a silence. It holds the paging of incidents whose paging is
    /// decided while it is in force; incidents already paged stay paged.
    pub async fn make_silence(&self, request: SilenceRequest) -> Result<SilenceResult, InterventionError> {
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        if let Some(id) = request.incident_id
            && self.store.get_incident_in(&mut tx, id).await?.is_none()
        {
            return Err(InterventionError::NotFound("INCIDENT_NOT_FOUND", format!("no incident #{id}")));
        }
        let new = NewSilence {
            matches: &request.matches,
            owner: &request.actor_id,
            reason: &request.reason,
            starts_at: request.starts_at.unwrap_or_else(|| self.clock.now()),
            ends_at: request.ends_at,
            weekly: request.weekly.as_ref(),
            incident_id: request.incident_id,
            at: now,
            routing_name: None,
        };
        let silence = self.store.insert_silence(&mut tx, &new).await?;
        let details = serde_json::json!({
            "match": silence.matches, "reason": silence.reason, "starts_at": silence.starts_at,
            "ends_at": silence.ends_at, "weekly": silence.weekly, "incident_id": request.incident_id,
            "attribution": request.attribution,
        });
        let target = format!("silence:{}", silence.id);
        let entry = self.store.append_audit(&mut tx, now, &request.actor_id, "silence", &target, details).await?;
        let version = state.version;
        self.commit_change(&mut state, tx, Committed { version, config: false, paging: false }).await?;
        let when = match &silence.weekly {
            Some(w) => format!("{}, until {}", w.describe(), silence.ends_at.format("%Y-%m-%d %H:%M UTC")),
            None if silence.starts_at > now => format!(
                "from {} until {}",
                silence.starts_at.format("%Y-%m-%d %H:%M"),
                silence.ends_at.format("%Y-%m-%d %H:%M UTC")
            ),
            None => format!("until {}", silence.ends_at.format("%Y-%m-%d %H:%M UTC")),
        };
        Ok(SilenceResult {
            message: format!(
                "silence #{} on {}: paging of new matching incidents held {when}; they are still recorded and analysed",
                silence.id,
                silence.matches.describe()
            ),
            silence,
            audit_seq: Some(entry.seq),
        })
    }

    /// Ends silence `id` now: the incidents it held that are still open are
    /// paged at once (each escalation level keeps its spacing).
    pub async fn lift_silence(
        &self,
        id: i64,
        actor_id: &str,
        reason: Option<String>,
        attribution: serde_json::Value,
    ) -> Result<SilenceResult, InterventionError> {
        let (mut state, mut tx) = self.begin_change().await?;
        // The paging clock: the held pages are due from it.
        let now = self.clock.now();
        let Some(silence) = self.store.silence(id, now).await? else {
            return Err(InterventionError::NotFound("SILENCE_NOT_FOUND", format!("no silence #{id}")));
        };
        let version = state.version + 1;
        let details = serde_json::json!({ "reason": reason, "attribution": attribution });
        let Some((released, entry)) = end_silence(&self.store, &mut tx, id, actor_id, now, version, details).await?
        else {
            return Err(InterventionError::Conflict(
                "SILENCE_ENDED",
                format!("silence #{id} has already ended ({})", silence.state),
            ));
        };
        let paging = !released.is_empty();
        self.commit_change(&mut state, tx, Committed { version, config: false, paging }).await?;
        if paging {
            self.queued(released.len());
        }
        let silence = self.store.silence(id, now).await?.unwrap_or(silence);
        let released = match released.len() {
            0 => "no open incident was held".to_owned(),
            n => format!(
                "{n} held incident{} paged now: {}",
                if n == 1 { " is" } else { "s are" },
                released.iter().map(|i| format!("#{i}")).collect::<Vec<_>>().join(", ")
            ),
        };
        Ok(SilenceResult { message: format!("silence #{id} lifted: {released}"), silence, audit_seq: Some(entry.seq) })
    }

    pub async fn list_silences(&self) -> Result<Vec<Silence>, StoreError> {
        self.store.list_silences(Utc::now()).await
    }
}

/// Ends silence `id` at `now` in `tx`: the open incidents it held are paged
/// now (their marks at change `version`), and it is audited as
/// `lift_silence` under `by`, with `details` and what it released. None
/// when it had already ended (nothing is recorded).
async fn end_silence(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    id: i64,
    by: &str,
    now: DateTime<Utc>,
    version: i64,
    mut details: serde_json::Value,
) -> Result<Option<(Vec<i64>, crate::audit::AuditEntry)>, StoreError> {
    if !store.lift_silence(tx, id, by, now).await? {
        return Ok(None);
    }
    let released = store.release_silenced(tx, id, now, version).await?;
    details["released"] = serde_json::json!(released);
    let entry = store.append_audit(tx, now, by, "lift_silence", &format!("silence:{id}"), details).await?;
    Ok(Some((released, entry)))
}

/// What applying a routing file did to its silences.
#[derive(Debug, Default)]
pub(super) struct RoutingSilencesApplied {
    pub made: usize,
    pub ended: usize,
    /// Open incidents an ended silence held: paged now.
    pub released: Vec<i64>,
}

/// Brings the routing file's silences into force in `tx`, at `now` by the
/// paging clock: one unchanged since the file was last applied is kept (as
/// it stands, lifted or not); one changed or removed ends now, releasing
/// what it held; one new or changed is made, owned by its `owner`. Each is
/// recorded in the audit log under `by`.
pub(super) async fn apply_routing_silences(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    routing: &Routing,
    by: &str,
    now: DateTime<Utc>,
    version: i64,
) -> Result<RoutingSilencesApplied, StoreError> {
    let wanted = &routing.document().silences;
    let existing = store.routing_silences(tx, now).await?;
    let same = |w: &RoutingSilence, s: &Silence| {
        s.matches == w.matches()
            && s.owner == w.owner_name()
            && s.reason == w.reason
            && s.weekly == w.weekly
            // Stored to the millisecond.
            && s.ends_at.timestamp_millis() == w.until.timestamp_millis()
            && w.from.is_none_or(|from| from.timestamp_millis() == s.starts_at.timestamp_millis())
    };
    let mut applied = RoutingSilencesApplied::default();
    for old in &existing {
        let name = old.routing_name.as_deref().unwrap_or_default();
        let why = match wanted.iter().find(|w| w.name == name) {
            Some(w) if same(w, old) => continue,
            Some(_) => "changed in the routing file",
            None => "removed from the routing file",
        };
        let details = serde_json::json!({ "reason": why, "routing_name": name });
        let Some((released, _)) = end_silence(store, tx, old.id, by, now, version, details).await? else {
            continue; // it had ended already
        };
        applied.ended += 1;
        applied.released.extend(released);
    }
    for w in wanted.iter().filter(|w| w.until > now) {
        if existing.iter().any(|s| s.routing_name.as_deref() == Some(w.name.as_str()) && same(w, s)) {
            continue;
        }
        let matches = w.matches();
        let new = NewSilence {
            matches: &matches,
            owner: w.owner_name(),
            reason: &w.reason,
            starts_at: w.from.unwrap_or(now),
            ends_at: w.until,
            weekly: w.weekly.as_ref(),
            incident_id: None,
            at: now,
            routing_name: Some(&w.name),
        };
        let silence = store.insert_silence(tx, &new).await?;
        let details = serde_json::json!({
            "match": silence.matches, "reason": silence.reason, "owner": silence.owner,
            "starts_at": silence.starts_at, "ends_at": silence.ends_at, "weekly": silence.weekly,
            "routing_name": w.name, "source": "routing file",
        });
        store.append_audit(tx, now, by, "silence", &format!("silence:{}", silence.id), details).await?;
        applied.made += 1;
    }
    Ok(applied)
}
