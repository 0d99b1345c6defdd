//! Flash incidents (design rule 7.4): an incident that recovers by itself
//! within two minutes is logged, not paged (the flash hold keeps its first
//! page back), and once a day the flash incidents of the day before go out
//! as one digest, per resource, with the week's trend; a resource whose
//! flash incidents tripled this week opens an incident of its own.

use super::change::Committed;
use super::{Desk, ROUTING_ACTOR};
use crate::api::{IncidentStatus, Severity};
use crate::paging::message::FLASH_LEVEL;
use crate::store::{IncidentRecord, StoreError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;

/// A week's flash incidents on a resource rising to this many, and to three
/// times the week before, is a signal of its own.
const RISING_AT_LEAST: i64 = 3;

/// Per resource: (yesterday, the last 7 days, the 7 days before).
type Counts = BTreeMap<String, (i64, i64, i64)>;

fn count(flashes: &[(String, DateTime<Utc>)], today: NaiveDate) -> Counts {
    let mut counts = Counts::new();
    for (resource, at) in flashes {
        let days_ago = (today - at.date_naive()).num_days();
        let c = counts.entry(resource.clone()).or_default();
        match days_ago {
            1 => {
                c.0 += 1;
                c.1 += 1;
            }
            2..=7 => c.1 += 1,
            8..=14 => c.2 += 1,
            _ => {}
        }
    }
    counts
}

/// The digest: a subject, a blank line, and one line per resource.
fn digest(day: NaiveDate, counts: &Counts) -> Option<String> {
    let total: i64 = counts.values().map(|c| c.0).sum();
    if total == 0 {
        return None;
    }
    let mut text = format!(
        "{total} flash incident{} on {day}, all recovered by themselves within two minutes (none paged)\n\n",
        if total == 1 { "" } else { "s" }
    );
    let mut rows: Vec<(&String, &(i64, i64, i64))> = counts.iter().filter(|(_, c)| c.0 > 0).collect();
    rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    for (resource, (day, week, before)) in rows {
        text.push_str(&format!("- {resource}: {day} (this week {week}, the week before {before})\n"));
    }
    Some(text)
}

/// Resources whose flash incidents tripled this week: (resource, this week, the week before).
fn rising(counts: &Counts) -> Vec<(String, i64, i64)> {
    counts
        .iter()
        .filter(|(_, (_, week, before))| *week >= RISING_AT_LEAST && *week >= 3 * *before)
        .map(|(r, (_, week, before))| (r.clone(), *week, *before))
        .collect()
}

impl Desk {
    /// Once a day (the paging worker asks): yesterday's flash incidents to
    /// whoever receives the attribution status, once across servers; and
    /// an incident for each resource where they tripled this week.
    pub async fn queue_flash_digest(&self) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let today = now.date_naive();
        let day = today - Duration::days(1);
        let level = format!("{FLASH_LEVEL}digest {day}");
        if self.paging.flash_day.lock().as_deref() == Some(level.as_str()) {
            return Ok(false);
        }
        if self.store.notification_level_exists(&level).await? {
            *self.paging.flash_day.lock() = Some(level);
            return Ok(false);
        }
        let midnight = today.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let flashes = self.store.flash_incidents(midnight - Duration::days(14), midnight).await?;
        let counts = count(&flashes, today);
        let mut queued = 0;
        if let Some(text) = digest(day, &counts) {
            let routing = self.routing();
            let (to, channels) = crate::rollout::status_route(&self.rollout_plan(), &*routing);
            let mut tx = self.store.write.begin().await?;
            queued = self.queue_message(&mut tx, &[to.as_str()], &channels, &level, &text, now).await?;
            if queued > 0 {
                let details = serde_json::json!({ "to": to, "channels": channels, "day": day });
                self.store.append_audit(&mut tx, now, ROUTING_ACTOR, "flash_digest_sent", &level, details).await?;
                tx.commit().await?;
            }
        }
        *self.paging.flash_day.lock() = Some(level);
        for (resource, week, before) in rising(&counts) {
            self.flash_rising(&resource, week, before).await?;
        }
        self.queued(queued);
        Ok(queued > 0)
    }

    /// The incident that says a resource's flash incidents are rising: one
    /// open at a time, routed like any other.
    async fn flash_rising(&self, resource: &str, week: i64, before: i64) -> Result<(), StoreError> {
        let title = format!("Flash incidents rising on {resource}");
        let (mut state, mut tx) = self.begin_change().await?;
        if self.store.open_incident_titled(&mut tx, &title).await?.is_some() {
            return Ok(());
        }
        let now = self.clock.now();
        let version = state.version + 1;
        let mut record =
            IncidentRecord::opened(state.next_incident, title, Severity::Medium, vec![resource.to_owned()], now);
        record.created_by = Some(ROUTING_ACTOR.to_owned());
        record.summary.version = version;
        self.store.save_incident(&mut tx, &record).await?;
        let radius = crate::incident::blast_radius(&self.catalog(), &[], &record.summary.resources);
        let queued = self.route_in(&mut tx, &record, &radius, Default::default(), now).await?;
        let details = serde_json::json!({
            "resource": resource, "this_week": week, "week_before": before,
            "reason": format!("{week} flash incidents on {resource} in the last 7 days, against {before} the 7 days before"),
        });
        let target = format!("incident:{}", record.summary.id);
        self.store.append_audit(&mut tx, now, ROUTING_ACTOR, "flash_rising", &target, details).await?;
        self.commit_change(&mut state, tx, Committed { version, config: false, paging: queued > 0 }).await?;
        state.next_incident = record.summary.id + 1;
        drop(state);
        self.queued(queued);
        debug_assert_eq!(record.summary.status, IncidentStatus::Open);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yesterday_is_counted_and_a_tripled_week_is_rising() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let at = |days: i64| (today - Duration::days(days)).and_hms_opt(12, 0, 0).unwrap().and_utc();
        let mut flashes =
            vec![("search".to_owned(), at(1)), ("search".to_owned(), at(1)), ("search".to_owned(), at(3))];
        flashes.push(("search".to_owned(), at(10)));
        flashes.push(("db".to_owned(), at(2)));
        let counts = count(&flashes, today);
        assert_eq!(counts["search"], (2, 3, 1));
        assert_eq!(counts["db"], (0, 1, 0));
        let text = digest(today - Duration::days(1), &counts).unwrap();
        assert!(text.starts_with("2 flash incidents on 2026-12-06"), "{text}");
        assert!(text.contains("- search: 2 (this week 3, the week before 1)") && !text.contains("- db"), "{text}");
        assert_eq!(rising(&counts), vec![("search".to_owned(), 3, 1)]);
        assert!(digest(today, &count(&[], today)).is_none(), "no flash, no digest");
    }
}
