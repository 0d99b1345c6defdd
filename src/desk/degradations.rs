//! The slow-burn watch (see [`crate::metrics_in`]): the server holding the
//! background duties asks the team's Prometheus each rule of the routing
//! file's `[metrics]` as often as the rule says, records its last word, and
//! opens or clears the rule's degradation. Opening one tells the service's
//! owner (by the channels outreach to owners uses) with the figures, the
//! trend and the changes made to the service in the window; a degradation
//! is not an incident, and pages nobody. A Prometheus that cannot be asked
//! leaves an open degradation open and says the metrics are unavailable.

use super::Desk;
use super::change::Committed;
use crate::api::{Degradation, DegradationStatus, SlowBurnCheck, WatchState, WindowChange};
use crate::metrics_in::slow_burn::{Figures, trend_url};
use crate::metrics_in::{Check, MetricsSource, SlowBurnRule, evaluate};
use crate::paging::message::DEGRADATION_LEVEL;
use crate::rollout::Directory;
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Weak;
use std::time::Instant;

/// Who the audit log says opened and cleared degradations.
pub const WATCH_ACTOR: &str = "mandate-watch";
/// Changes in the window a degradation lists.
const CHANGES_LISTED: usize = 20;

fn message(d: &Degradation, rule: &SlowBurnRule) -> String {
    let sign = |v: f64| if v >= 0.0 { format!("+{v:.1}") } else { format!("{v:.1}") };
    let mut text = format!(
        "DEGRADATION {}: {} {} % ({} against the {} before)\n\n",
        d.service,
        d.rule,
        sign(d.change_pct),
        d.window,
        d.baseline_window
    );
    text.push_str(&format!(
        "The mean of `{}` over the last {} is {:.4}, against {:.4} over the {} before: {} % (threshold {} %).\n\n",
        rule.query.trim(),
        d.window,
        d.recent,
        d.baseline,
        d.baseline_window,
        sign(d.change_pct),
        sign(d.threshold)
    ));
    text.push_str(&format!("Trend: {}\n\n", d.trend_url));
    if d.changes.is_empty() {
        text.push_str(&format!("No change on {} was recorded in the window.\n", d.service));
    } else {
        text.push_str(&format!("Changes on {} in the window, newest first:\n", d.service));
        for c in d.changes.iter().take(10) {
            let by = c.agent_id.as_deref().or(c.actor_id.as_deref()).unwrap_or("an unknown actor");
            let what = c.action_type.as_deref().unwrap_or("an action");
            text.push_str(&format!("- {} {what} by {by} ({})\n", c.occurred_at.format("%m-%d %H:%M"), c.event_id));
        }
    }
    text.push_str("\nNot an incident: nobody is paged. It clears by itself when the metric comes back; `mandate` lists it until then.\n");
    text
}

impl Desk {
    /// Records what `rule` found at `now`: its last word, and its
    /// degradation opened or cleared.
    pub async fn record_check(
        &self,
        source: &MetricsSource,
        rule: &SlowBurnRule,
        check: &Check,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let previous = self.store.checks().await?.into_iter().find(|c| c.rule == rule.name);
        let (state, figures, error) = match check {
            Check::Healthy(f) => (WatchState::Healthy, Some(*f), None),
            Check::Degraded(f) => (WatchState::Degraded, Some(*f), None),
            Check::Unavailable(e) => (WatchState::Unavailable, None, Some(e.clone())),
        };
        let since = previous.as_ref().filter(|p| p.state == state).map_or(now, |p| p.since);
        let record = SlowBurnCheck {
            rule: rule.name.clone(),
            service: rule.service.clone(),
            state,
            checked_at: now,
            since,
            recent: figures.map(|f| f.recent),
            baseline: figures.map(|f| f.baseline),
            change_pct: figures.map(|f| f.change_pct),
            threshold: rule.threshold,
            error,
        };
        // Read before the change: the window's changes, for a degradation.
        let changes = match check {
            Check::Degraded(_) => self.window_changes(rule, now).await?,
            _ => vec![],
        };
        let (mut desk, mut tx) = self.begin_change().await?;
        self.store.save_check(&mut tx, &record).await?;
        let mut moved = previous.as_ref().is_none_or(|p| p.state != state);
        let mut queued = 0;
        let open = self.store.open_degradation(&mut tx, &rule.name).await?;
        match (check, open) {
            (Check::Degraded(f), None) => {
                let (id, told, q) = self.open_degradation(&mut tx, source, rule, f, changes, now).await?;
                tracing::info!(rule = %rule.name, service = %rule.service, id, told = ?told, change_pct = f.change_pct, "a degradation opened");
                queued = q;
                moved = true;
            }
            (Check::Healthy(f), Some(open)) => {
                self.store.clear_degradation(&mut tx, &open, now).await?;
                let details = serde_json::json!({ "rule": rule.name, "service": rule.service, "recent": f.recent, "baseline": f.baseline, "change_pct": f.change_pct });
                let target = format!("degradation:{}", open.id);
                self.store.append_audit(&mut tx, now, WATCH_ACTOR, "degradation_cleared", &target, details).await?;
                tracing::info!(rule = %rule.name, id = open.id, "a degradation cleared");
                moved = true;
            }
            _ => {}
        }
        let version = if moved { desk.version + 1 } else { desk.version };
        self.commit_change(&mut desk, tx, Committed { version, config: false, paging: queued > 0 }).await?;
        drop(desk);
        self.queued(queued);
        Ok(())
    }

    /// The routing file's rules are now `rules`: the others' checks go, and
    /// their open degradations are cleared (nothing would clear them now).
    pub async fn keep_rules(&self, rules: &[String]) -> Result<(), StoreError> {
        if !self.store.holds_other_rules(rules).await? {
            return Ok(());
        }
        let now = Utc::now();
        let (mut desk, mut tx) = self.begin_change().await?;
        let orphans = self.store.drop_checks_except(&mut tx, rules).await?;
        for d in &orphans {
            self.store.clear_degradation(&mut tx, d, now).await?;
            let details =
                serde_json::json!({ "rule": d.rule, "service": d.service, "why": "its rule left the routing file" });
            let target = format!("degradation:{}", d.id);
            self.store.append_audit(&mut tx, now, WATCH_ACTOR, "degradation_cleared", &target, details).await?;
        }
        let version = desk.version + 1;
        self.commit_change(&mut desk, tx, Committed::version(version)).await
    }

    async fn window_changes(&self, rule: &SlowBurnRule, now: DateTime<Utc>) -> Result<Vec<WindowChange>, StoreError> {
        let from = now - chrono::Duration::seconds(rule.window_seconds() as i64);
        let related = self.store.related_actions(from, now, std::slice::from_ref(&rule.service), &[]).await?;
        let mut changes: Vec<WindowChange> = related
            .actions
            .into_iter()
            .filter(|e| !e.is_alert() && e.parent_event_id.is_none())
            .map(|e| WindowChange {
                event_id: e.event_id,
                occurred_at: e.occurred_at,
                agent_id: e.agent_id,
                actor_id: e.actor_id,
                action_type: e.action_type,
                resource: e.resource,
            })
            .collect();
        changes.sort_by_key(|c| std::cmp::Reverse(c.occurred_at));
        changes.truncate(CHANGES_LISTED);
        Ok(changes)
    }

    /// Opens `rule`'s degradation and tells the service's owner: its id, who
    /// was told, how many notifications were queued.
    async fn open_degradation(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        source: &MetricsSource,
        rule: &SlowBurnRule,
        f: &Figures,
        changes: Vec<WindowChange>,
        now: DateTime<Utc>,
    ) -> Result<(i64, Option<String>, usize), StoreError> {
        let routing = self.routing();
        let owner = self.catalog().get(&rule.service).and_then(|s| s.owner.clone()).or_else(|| routing.fallback());
        let mut d = Degradation {
            id: 0,
            rule: rule.name.clone(),
            service: rule.service.clone(),
            status: DegradationStatus::Open,
            opened_at: now,
            cleared_at: None,
            recent: f.recent,
            baseline: f.baseline,
            change_pct: f.change_pct,
            threshold: rule.threshold,
            window: rule.window.clone(),
            baseline_window: rule.baseline.clone(),
            trend_url: trend_url(source, rule),
            told: owner.clone(),
            changes,
        };
        d.id = self.store.insert_degradation(tx, &d).await?;
        let mut queued = 0;
        if let Some(owner) = &owner {
            let channels = crate::rollout::outreach_channels(&self.rollout_plan(), &*routing);
            let level = format!("{DEGRADATION_LEVEL}{} #{}", rule.name, d.id);
            queued = self.queue_message(tx, &[owner.as_str()], &channels, &level, &message(&d, rule), now).await?;
        }
        let details = serde_json::json!({
            "rule": d.rule, "service": d.service, "recent": d.recent, "baseline": d.baseline,
            "change_pct": d.change_pct, "threshold": d.threshold, "told": d.told, "changes": d.changes.len(),
        });
        self.store
            .append_audit(tx, now, WATCH_ACTOR, "degradation_opened", &format!("degradation:{}", d.id), details)
            .await?;
        Ok((d.id, owner, queued))
    }
}

/// Evaluates each rule as often as it says, on the server holding the
/// background duties, until the desk is gone.
pub(super) fn spawn_watch(desk: Weak<Desk>) {
    tokio::spawn(async move {
        let Ok(http) = crate::sdk::http_client_builder().build() else { return };
        let mut last: HashMap<String, Instant> = HashMap::new();
        // None: not read yet (a first pass forgets rules removed while down).
        let mut rules_seen: Vec<String> = vec!["\u{0}".to_owned()];
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            let Some(d) = desk.upgrade() else { return };
            if !d.store.holds_duties() {
                continue;
            }
            let routing = d.routing();
            let source = routing.document().metrics.clone();
            let names: Vec<String> = source.iter().flat_map(|s| &s.slow_burn).map(|r| r.name.clone()).collect();
            if names != rules_seen {
                match d.keep_rules(&names).await {
                    Ok(()) => {
                        last.retain(|k, _| names.contains(k));
                        rules_seen = names;
                    }
                    Err(e) => tracing::warn!(error = %e, "slow-burn: cannot forget the checks of removed rules"),
                }
            }
            let Some(source) = source else { continue };
            let due: Vec<SlowBurnRule> = source
                .slow_burn
                .iter()
                .filter(|r| last.get(&r.name).is_none_or(|at| at.elapsed() >= r.every()))
                .cloned()
                .collect();
            drop(d);
            for rule in due {
                last.insert(rule.name.clone(), Instant::now());
                let now = Utc::now();
                let check = evaluate(&http, &source, &rule, now).await;
                let Some(d) = desk.upgrade() else { return };
                if let Err(e) = d.record_check(&source, &rule, &check, now).await {
                    tracing::warn!(rule = %rule.name, error = %e, "slow-burn: what a rule found was not recorded");
                }
            }
        }
    });
}
