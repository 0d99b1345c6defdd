//! Events to incidents (seed 7.1): the same resource and error within a
//! window, the same actor's consecutive failures, or the same trace id belong
//! to one incident. The window runs from the incident's latest error, so it
//! extends while errors keep coming.

use crate::api::Event;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy)]
pub struct GroupingConfig {
    /// Errors closer than this to an incident's latest error join it.
    pub window: Duration,
}

impl Default for GroupingConfig {
    fn default() -> Self {
        GroupingConfig { window: Duration::minutes(15) }
    }
}

/// Where an event lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Not an error and not related to an open incident.
    None,
    /// An error that opened a new incident.
    Opened(i64),
    /// An error added to an open incident.
    Joined(i64),
    /// A success on a failing resource of an open incident.
    Recovered(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    ResourceError(String, String),
    Resource(String),
    Actor(String),
    Trace(String),
}

#[derive(Debug, Clone)]
struct Group {
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
}

/// The grouping state: which keys point at which open incident. Feed it
/// events in the order they are stored; it is rebuilt after a restart by
/// replaying the last window's events.
#[derive(Debug, Default, Clone)]
pub struct Grouper {
    config: GroupingConfig,
    groups: HashMap<i64, Group>,
    keys: HashMap<Key, i64>,
    /// Agents whose latest event was an error.
    failing_agents: HashMap<String, i64>,
}

impl Grouper {
    pub fn new(config: GroupingConfig) -> Self {
        Grouper { config, ..Grouper::default() }
    }

    fn live(&self, key: &Key, at: DateTime<Utc>) -> Option<i64> {
        let incident = *self.keys.get(key)?;
        let group = self.groups.get(&incident)?;
        let near = at - group.last_at < self.config.window && group.first_at - at < self.config.window;
        near.then_some(incident)
    }

    /// Places one event; `next_id` makes a new incident's id when one opens.
    pub fn place(&mut self, event: &Event, mut next_id: impl FnMut() -> i64) -> Placement {
        let at = event.occurred_at;
        if !event.is_error() {
            if let Some(agent) = &event.agent_id {
                self.failing_agents.remove(agent);
            }
            let recovered = event.resource.as_ref().and_then(|r| self.live(&Key::Resource(r.clone()), at));
            return match recovered {
                Some(incident) => Placement::Recovered(incident),
                None => Placement::None,
            };
        }
        let trace = event.trace_id.clone().map(Key::Trace);
        let resource_error = event
            .resource
            .as_ref()
            .map(|r| Key::ResourceError(r.clone(), event.error_code.clone().unwrap_or_default()));
        let actor =
            event.agent_id.as_ref().filter(|a| self.failing_agents.contains_key(*a)).map(|a| Key::Actor(a.clone()));
        // A monitor's alert is evidence about its resource's health: it joins
        // the resource's open incident whatever that incident's errors are.
        let health = event.resource.as_ref().filter(|_| event.is_alert()).map(|r| Key::Resource(r.clone()));
        let existing =
            [&trace, &resource_error, &actor, &health].into_iter().flatten().find_map(|key| self.live(key, at));
        match existing {
            Some(id) => {
                self.register(event, id);
                Placement::Joined(id)
            }
            None => {
                let id = next_id();
                self.register(event, id);
                Placement::Opened(id)
            }
        }
    }

    /// Registers an error event already stored under `incident`, to rebuild
    /// the state after a restart; successes only clear an agent's failing run.
    pub fn restore(&mut self, event: &Event, incident: Option<i64>) {
        match (event.is_error(), incident) {
            (true, Some(id)) => self.register(event, id),
            (false, _) => {
                if let Some(agent) = &event.agent_id {
                    self.failing_agents.remove(agent);
                }
            }
            (true, None) => {}
        }
    }

    fn register(&mut self, event: &Event, incident: i64) {
        let at = event.occurred_at;
        let group = self.groups.entry(incident).or_insert(Group { first_at: at, last_at: at });
        group.last_at = group.last_at.max(at);
        group.first_at = group.first_at.min(at);
        let mut keys: Vec<Key> = Vec::new();
        keys.extend(event.trace_id.clone().map(Key::Trace));
        if let Some(r) = &event.resource {
            keys.push(Key::ResourceError(r.clone(), event.error_code.clone().unwrap_or_default()));
            keys.push(Key::Resource(r.clone()));
        }
        if let Some(agent) = &event.agent_id {
            keys.push(Key::Actor(agent.clone()));
            self.failing_agents.insert(agent.clone(), incident);
        }
        for key in keys {
            self.keys.insert(key, incident);
        }
    }

    /// Incident `from` was merged into `into`: what would have joined it
    /// joins the survivor, whose window now spans both.
    pub fn merge(&mut self, from: i64, into: i64) {
        if let Some(gone) = self.groups.remove(&from) {
            let group = self.groups.entry(into).or_insert(gone.clone());
            group.first_at = group.first_at.min(gone.first_at);
            group.last_at = group.last_at.max(gone.last_at);
        }
        for id in self.keys.values_mut().chain(self.failing_agents.values_mut()) {
            if *id == from {
                *id = into;
            }
        }
    }

    /// Forgets incidents whose window has passed, so memory stays bounded.
    pub fn expire(&mut self, now: DateTime<Utc>) {
        let window = self.config.window;
        self.groups.retain(|_, g| now - g.last_at < window);
        let groups = &self.groups;
        self.keys.retain(|_, id| groups.contains_key(id));
        self.failing_agents.retain(|_, id| groups.contains_key(id));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::{Event, Outcome};

    pub(crate) fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T14:00:00Z").unwrap().with_timezone(&Utc) + Duration::minutes(minutes)
    }

    pub(crate) fn event(id: &str, minutes: i64, resource: &str, outcome: Outcome) -> Event {
        Event {
            event_id: id.into(),
            agent_id: Some("agent-x".into()),
            actor_type: Some(crate::attribution::ActorType::System),
            actor_id: None,
            origin_system_id: Some("o".into()),
            run_id: None,
            parent_event_id: None,
            action_type: Some("tool_call".into()),
            tool: None,
            resource: Some(resource.into()),
            scope: vec![],
            outcome,
            error_code: (outcome == Outcome::Error).then(|| "TIMEOUT".into()),
            error_message: None,
            trace_id: None,
            seq: None,
            occurred_at: at(minutes),
            received_at: at(minutes),
            metadata: Default::default(),
            flags: vec![],
            incident_id: None,
        }
    }

    fn counter() -> impl FnMut() -> i64 {
        let mut next = 122;
        move || {
            next += 1;
            next
        }
    }

    #[test]
    fn the_seeds_fifteen_minute_example() {
        let mut g = Grouper::new(GroupingConfig::default());
        let mut ids = counter();
        let mut place = |m, id: &str| g.place(&event(id, m, "payments-service", Outcome::Error), &mut ids);
        assert_eq!(place(0, "e1"), Placement::Opened(123));
        assert_eq!(place(1, "e2"), Placement::Joined(123));
        assert_eq!(place(5, "e3"), Placement::Joined(123));
        assert_eq!(place(20, "e4"), Placement::Opened(124), "15 minutes after the latest error: a new incident");
    }

    #[test]
    fn the_window_extends_while_errors_keep_coming() {
        let mut g = Grouper::new(GroupingConfig::default());
        let mut ids = counter();
        for m in (0..=60).step_by(10) {
            let placed = g.place(&event(&format!("e{m}"), m, "db", Outcome::Error), &mut ids);
            assert_eq!(placed, if m == 0 { Placement::Opened(123) } else { Placement::Joined(123) }, "minute {m}");
        }
    }

    #[test]
    fn a_different_error_on_the_same_resource_from_another_actor_is_another_incident() {
        let mut g = Grouper::new(GroupingConfig::default());
        let mut ids = counter();
        assert_eq!(g.place(&event("a", 0, "db", Outcome::Error), &mut ids), Placement::Opened(123));
        let mut other = event("b", 1, "db", Outcome::Error);
        other.error_code = Some("DISK_FULL".into());
        other.agent_id = Some("agent-y".into());
        assert_eq!(g.place(&other, &mut ids), Placement::Opened(124));
    }

    #[test]
    fn the_same_actors_consecutive_failures_group_until_it_succeeds() {
        let mut g = Grouper::new(GroupingConfig::default());
        let mut ids = counter();
        assert_eq!(g.place(&event("a", 0, "svc-a", Outcome::Error), &mut ids), Placement::Opened(123));
        assert_eq!(g.place(&event("b", 2, "svc-b", Outcome::Error), &mut ids), Placement::Joined(123));
        assert_eq!(g.place(&event("c", 3, "svc-c", Outcome::Ok), &mut ids), Placement::None);
        assert_eq!(g.place(&event("d", 4, "svc-d", Outcome::Error), &mut ids), Placement::Opened(124));
    }

    #[test]
    fn a_shared_trace_id_groups_across_resources_and_actors() {
        let mut g = Grouper::new(GroupingConfig::default());
        let mut ids = counter();
        let mut first = event("a", 0, "api-gateway", Outcome::Error);
        first.trace_id = Some("t-1".into());
        let mut second = event("b", 1, "user-service", Outcome::Error);
        second.trace_id = Some("t-1".into());
        second.agent_id = Some("agent-other".into());
        second.error_code = Some("HTTP_500".into());
        assert_eq!(g.place(&first, &mut ids), Placement::Opened(123));
        assert_eq!(g.place(&second, &mut ids), Placement::Joined(123));
    }

    #[test]
    fn what_joined_a_merged_incident_joins_its_survivor() {
        let mut g = Grouper::new(GroupingConfig::default());
        let mut ids = counter();
        assert_eq!(g.place(&event("a", 0, "db", Outcome::Error), &mut ids), Placement::Opened(123));
        let mut other = event("b", 1, "cache", Outcome::Error);
        other.agent_id = Some("agent-y".into());
        assert_eq!(g.place(&other, &mut ids), Placement::Opened(124));
        g.merge(124, 123);
        let mut again = event("c", 2, "cache", Outcome::Error);
        again.agent_id = Some("agent-z".into());
        assert_eq!(g.place(&again, &mut ids), Placement::Joined(123));
        assert_eq!(g.place(&event("d", 3, "cache", Outcome::Ok), &mut ids), Placement::Recovered(123));
    }

    #[test]
    fn success_on_a_failing_resource_is_a_recovery() {
        let mut g = Grouper::new(GroupingConfig::default());
        let mut ids = counter();
        g.place(&event("a", 0, "db", Outcome::Error), &mut ids);
        assert_eq!(g.place(&event("b", 1, "db", Outcome::Ok), &mut ids), Placement::Recovered(123));
        assert_eq!(g.place(&event("c", 1, "elsewhere", Outcome::Ok), &mut ids), Placement::None);
        g.expire(at(30));
        assert_eq!(g.place(&event("d", 30, "db", Outcome::Ok), &mut ids), Placement::None);
    }
}
