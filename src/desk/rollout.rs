//! The attribution rollout at the desk: its status from the store, the
//! catalog and the routing's plan; the weekly status queued once a week
//! whichever server is first; the outreach to an owner, audited.

use super::Desk;
use super::paging::LEGACY_TITLE;
use crate::api::{Breach, ComplianceStatus, OutreachSent, OwnerTarget, Phase, RolloutStatus};
use crate::paging::message::MESSAGE_LEVEL;
use crate::rollout::{Filter, NO_ORIGIN, RolloutPlan, outreach_message, rollout_status, weekly_status};
use crate::store::StoreError;

/// Why an outreach was not sent.
#[derive(Debug, thiserror::Error)]
pub enum OutreachRefused {
    #[error("no origin system {0:?} has created or attempted a run in the last 35 days")]
    Unknown(String),
    #[error("runs without an origin_system_id name no service to reach: find them by agent in :agents")]
    NoOrigin,
    #[error("{service} is {status}: there is nothing to reach out about")]
    Compliant { service: String, status: ComplianceStatus },
    #[error("{service}'s owner was already sent this today ({at} by {by}); see :notifications to resend it")]
    AlreadySent { service: String, at: String, by: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long the rollout's figures are shared before they are read again.
pub const ROLLOUT_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(10);

struct Cached {
    computed: std::time::Instant,
    epoch: u64,
    status: std::sync::Arc<RolloutStatus>,
}

/// The last figures computed; the lock makes readers arriving during a
/// computation wait for it rather than start their own.
#[derive(Default)]
pub(super) struct RolloutCache(tokio::sync::Mutex<Option<Cached>>);

impl Desk {
    /// The plan under `[attribution]` in the routing; none: an empty plan.
    pub fn rollout_plan(&self) -> RolloutPlan {
        self.routing().document().attribution.clone().unwrap_or_default()
    }

    /// The phase in force: with no plan, hard.
    pub fn rollout_phase(&self, now: chrono::DateTime<chrono::Utc>) -> Phase {
        self.rollout_plan().phase_at(now)
    }

    /// Where the rollout stands now, services kept by `filter`. Computed at
    /// most once per [`ROLLOUT_MAX_AGE`] for every reader (a 35-day history
    /// of hourly counts is not read per console refresh); an outreach or a
    /// configuration change, or the clock moving on, computes it again.
    pub async fn rollout_status(&self, filter: &Filter) -> Result<RolloutStatus, StoreError> {
        let now = self.clock.now();
        let epoch = self.config.epoch();
        let mut cached = self.caches.rollout.0.lock().await;
        let fresh = cached.as_ref().filter(|c| {
            c.epoch == epoch
                && c.computed.elapsed() < ROLLOUT_MAX_AGE
                && (now - c.status.now).abs() < chrono::Duration::from_std(ROLLOUT_MAX_AGE).unwrap_or_default()
        });
        let status = match fresh {
            Some(c) => c.status.clone(),
            None => {
                let status = std::sync::Arc::new(self.compute_rollout(now).await?);
                *cached = Some(Cached { computed: std::time::Instant::now(), epoch, status: status.clone() });
                status
            }
        };
        drop(cached);
        let mut status = (*status).clone();
        status.services.retain(|s| filter.keeps(s));
        Ok(status)
    }

    /// The rollout as the database has it this instant: for what acts on
    /// it (an outreach quotes its counts, the weekly status is sent once).
    /// Readers share the result.
    pub async fn rollout_status_now(&self) -> Result<RolloutStatus, StoreError> {
        let now = self.clock.now();
        let epoch = self.config.epoch();
        let status = self.compute_rollout(now).await?;
        let shared = std::sync::Arc::new(status.clone());
        *self.caches.rollout.0.lock().await =
            Some(Cached { computed: std::time::Instant::now(), epoch, status: shared });
        Ok(status)
    }

    /// Queues a message (not about an incident: see [`MESSAGE_LEVEL`]) to
    /// each of `targets` on each of `channels`, in `tx`; a channel without a
    /// receiver is recorded as undeliverable. How many were new: a message
    /// already queued under `level` is not queued twice.
    pub(super) async fn queue_message(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        targets: &[&str],
        channels: &[String],
        level: &str,
        message: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, StoreError> {
        let routing = self.routing();
        let mut queued = 0;
        for target in targets {
            for channel in channels {
                let undeliverable = (!routing.receivers().has(channel)).then(|| crate::paging::no_receiver(channel));
                queued += usize::from(
                    self.store.queue_digest(tx, (target, channel), level, message, undeliverable, now).await?,
                );
            }
        }
        Ok(queued)
    }

    /// What the figures show changed here: the next reader computes them.
    pub(super) async fn rollout_changed(&self) {
        *self.caches.rollout.0.lock().await = None;
    }

    async fn compute_rollout(&self, now: chrono::DateTime<chrono::Utc>) -> Result<RolloutStatus, StoreError> {
        let (activity, notes, breach) = tokio::try_join!(
            self.store.rollout_activity(now),
            self.store.outreach_notes(),
            self.store.latest_incident_titled(LEGACY_TITLE),
        )?;
        let breach = breach.map(|s| Breach {
            incident_id: s.id,
            status: s.status,
            opened_at: s.started_at,
            runs: s.event_count,
        });
        let plan = self.rollout_plan();
        Ok(rollout_status(&activity, &plan, &self.catalog(), &*self.routing(), &notes, breach, now))
    }

    /// Seed 000 §6 from live figures: (subject, Markdown).
    pub async fn weekly_status(&self) -> Result<(String, String), StoreError> {
        let status = self.rollout_status_now().await?;
        Ok(weekly_status(&status, &self.rollout_plan()))
    }

    /// Queues this week's status once its slot has passed: once across
    /// servers (the outbox's key), and computed at most once a week here.
    pub async fn queue_weekly_status(&self) -> Result<bool, StoreError> {
        let plan = self.rollout_plan();
        if !plan.is_planned() {
            return Ok(false);
        }
        let now = self.clock.now();
        let slot = plan.last_status_slot(now);
        // A slot missed by more than a day (every server down, or a plan
        // written mid-week) waits for the next: a status is news only on time.
        if now - slot > chrono::Duration::days(1) {
            return Ok(false);
        }
        let level = format!("{MESSAGE_LEVEL}status {}", slot.format("%G-W%V"));
        if self.paging.status_week.lock().as_deref() == Some(level.as_str()) {
            return Ok(false);
        }
        if self.store.notification_level_exists(&level).await? {
            *self.paging.status_week.lock() = Some(level);
            return Ok(false);
        }
        let (subject, body) = self.weekly_status().await?;
        let routing = self.routing();
        let (to, channels) = crate::rollout::status_route(&plan, &*routing);
        let reason = format!("{subject}\n\n{body}");
        let mut tx = self.store.write.begin().await?;
        let queued = self.queue_message(&mut tx, &[to.as_str()], &channels, &level, &reason, now).await?;
        if queued == 0 {
            // Another server queued it first: nothing to record here.
            drop(tx);
            *self.paging.status_week.lock() = Some(level);
            return Ok(false);
        }
        let details = serde_json::json!({ "to": to, "channels": channels, "subject": subject });
        self.store.append_audit(&mut tx, now, super::ROUTING_ACTOR, "attribution_status_sent", &level, details).await?;
        tx.commit().await?;
        *self.paging.status_week.lock() = Some(level);
        self.queued(queued);
        Ok(queued > 0)
    }

    /// Seed 000 §5: the direct message to a non-compliant service's owner,
    /// through the owner's channel, recorded in the audit log under `by`
    /// with the HUMAN `attribution` the request carried.
    pub async fn reach_out(
        &self,
        service: &str,
        by: &str,
        attribution: serde_json::Value,
        reason: Option<&str>,
    ) -> Result<OutreachSent, OutreachRefused> {
        if service == NO_ORIGIN {
            return Err(OutreachRefused::NoOrigin);
        }
        let status = self.rollout_status_now().await?;
        let Some(s) = status.services.iter().find(|s| s.name == service) else {
            return Err(OutreachRefused::Unknown(service.to_owned()));
        };
        if matches!(s.status, ComplianceStatus::Compliant | ComplianceStatus::Silent) {
            return Err(OutreachRefused::Compliant { service: service.to_owned(), status: s.status });
        }
        let now = self.clock.now();
        let plan = self.rollout_plan();
        let routing = self.routing();
        // A vendor is reached on its own channel (the catalog's `external`).
        let vendor = self.catalog().get(service).and_then(|c| c.external.as_ref().map(|e| e.channel.clone()));
        let channels = match vendor {
            Some(channel) if ["slack", "email", "webhook"].contains(&channel.as_str()) => vec![channel],
            _ => crate::rollout::outreach_channels(&plan, &*routing),
        };
        let owners: Vec<OwnerTarget> = s.owners.clone();
        let names: Vec<&str> = owners.iter().map(|o| o.who.as_str()).collect();
        let (subject, body) = outreach_message(s, &status, &plan, &names.join(", "));
        let level = format!("{MESSAGE_LEVEL}outreach {service} {}", now.format("%Y-%m-%d"));
        let message = format!("{subject}\n\n{body}");
        let mut tx = self.store.write.begin().await.map_err(StoreError::from)?;
        let queued = self.queue_message(&mut tx, &names, &channels, &level, &message, now).await?;
        if queued == 0 {
            drop(tx);
            let note = s.last_outreach.clone();
            return Err(OutreachRefused::AlreadySent {
                service: service.to_owned(),
                at: note.as_ref().map(|n| n.at.format("%H:%M UTC").to_string()).unwrap_or_else(|| "earlier".into()),
                by: note.map(|n| n.by).unwrap_or_else(|| "someone".into()),
            });
        }
        let details = serde_json::json!({
            "to": names,
            "channels": channels,
            "status": s.status,
            "violations_24h": s.violations_24h,
            "codes": s.violations_by_code,
            "reason": reason,
            "attribution": attribution,
        });
        let entry = self
            .store
            .append_audit(&mut tx, now, by, "attribution_outreach", &format!("service:{service}"), details)
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.queued(queued);
        self.rollout_changed().await;
        Ok(OutreachSent {
            service: service.to_owned(),
            sent_to: owners,
            channels,
            subject,
            message: body,
            audit_seq: entry.seq,
        })
    }
}
