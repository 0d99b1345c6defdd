//! Blast radius (seed 8.1, 8.2): definitely affected (in an action's scope, or
//! failed), likely (direct dependents, services sharing a data store),
//! possibly (transitive dependents); owners to notify from the first two.

use crate::api::{AffectedBecause, AffectedService, BlastRadius};
use crate::catalog::{Catalog, ServiceKind, notify_targets, ownership_flags};
use std::collections::{BTreeMap, VecDeque};

fn describe(catalog: &Catalog, name: &str, because: Vec<AffectedBecause>) -> AffectedService {
    match catalog.get(name) {
        Some(s) => AffectedService {
            service: name.to_owned(),
            in_catalog: true,
            owner: s.owner.clone(),
            team: s.team.clone(),
            on_call: s.on_call.clone(),
            because,
            ownership: ownership_flags(s),
        },
        None => AffectedService {
            service: name.to_owned(),
            in_catalog: false,
            owner: None,
            team: None,
            on_call: None,
            because,
            ownership: vec![],
        },
    }
}

/// `in_scope`: resources named in the incident's actions' scopes;
/// `failed`: resources that reported errors.
pub fn blast_radius(catalog: &Catalog, in_scope: &[String], failed: &[String]) -> BlastRadius {
    // BTreeMaps keep the order stable for the screen and for tests.
    let mut definitely: BTreeMap<String, Vec<AffectedBecause>> = BTreeMap::new();
    for r in in_scope {
        definitely.entry(r.clone()).or_default().push(AffectedBecause::InScope);
    }
    for r in failed {
        let reasons = definitely.entry(r.clone()).or_default();
        if !reasons.contains(&AffectedBecause::Failed) {
            reasons.push(AffectedBecause::Failed);
        }
    }

    let mut likely: BTreeMap<String, Vec<AffectedBecause>> = BTreeMap::new();
    let mut add_likely = |name: &str, because: AffectedBecause| {
        if !definitely.contains_key(name) {
            let reasons = likely.entry(name.to_owned()).or_default();
            if !reasons.contains(&because) {
                reasons.push(because);
            }
        }
    };
    for name in definitely.keys() {
        for dependent in catalog.dependents(name) {
            add_likely(dependent, AffectedBecause::DependsOn { service: name.clone() });
        }
        let Some(service) = catalog.get(name) else { continue };
        for store in &service.depends_on {
            // A store that is itself definitely affected already brings its
            // dependents in as "depends on".
            if !definitely.contains_key(store) && catalog.get(store).is_some_and(|s| s.kind == ServiceKind::Datastore) {
                for sharer in catalog.dependents(store).filter(|s| s != name) {
                    add_likely(sharer, AffectedBecause::Shares { datastore: store.clone() });
                }
            }
        }
    }

    // Everything further downstream, breadth first, remembering the way in.
    let mut possibly: BTreeMap<String, Vec<AffectedBecause>> = BTreeMap::new();
    let mut queue: VecDeque<String> = likely.keys().cloned().collect();
    while let Some(name) = queue.pop_front() {
        for dependent in catalog.dependents(&name) {
            let known = definitely.contains_key(dependent) || likely.contains_key(dependent);
            if !known && !possibly.contains_key(dependent) {
                possibly.insert(dependent.to_owned(), vec![AffectedBecause::Transitive { via: name.clone() }]);
                queue.push_back(dependent.to_owned());
            }
        }
    }

    let mut owners_to_notify: Vec<String> = Vec::new();
    for name in definitely.keys().chain(likely.keys()) {
        if let Some(service) = catalog.get(name) {
            for target in notify_targets(service) {
                if !owners_to_notify.contains(&target) {
                    owners_to_notify.push(target);
                }
            }
        }
    }
    let list =
        |m: BTreeMap<String, Vec<AffectedBecause>>| m.into_iter().map(|(n, b)| describe(catalog, &n, b)).collect();
    BlastRadius { definitely: list(definitely), likely: list(likely), possibly: list(possibly), owners_to_notify }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The seed's example: a deploy to payments-service that hits payments-db.
    pub(crate) fn seed_catalog() -> Catalog {
        Catalog::from_toml(
            r#"
            [[service]]
            name = "payments-db"
            kind = "datastore"
            owner = "@dana"
            team = "data"
            sensitivity = "critical"
            [[service]]
            name = "payments-service"
            owner = "@alice"
            team = "payments"
            on_call = "@payments-oncall"
            escalation = ["@payments-lead", "@vp-engineering"]
            sensitivity = "critical"
            depends_on = ["payments-db"]
            [[service]]
            name = "user-service"
            owner = "@umar"
            team = "users"
            depends_on = ["payments-service", "user-db"]
            [[service]]
            name = "user-db"
            kind = "datastore"
            owner = "@dana"
            [[service]]
            name = "billing-service"
            owner = "@bea"
            team = "billing"
            depends_on = ["payments-db"]
            [[service]]
            name = "api-gateway"
            owner = "@gus"
            depends_on = ["user-service"]
            [[service]]
            name = "notifications"
            owner = "@nina"
            depends_on = ["api-gateway"]
            "#,
            "seed",
        )
        .unwrap()
    }

    fn names(list: &[AffectedService]) -> Vec<&str> {
        list.iter().map(|a| a.service.as_str()).collect()
    }

    #[test]
    fn the_seeds_blast_radius() {
        let catalog = seed_catalog();
        let br = blast_radius(&catalog, &["payments-service".into()], &["payments-db".into()]);
        assert_eq!(names(&br.definitely), ["payments-db", "payments-service"]);
        assert_eq!(br.definitely[1].because, [AffectedBecause::InScope]);
        assert_eq!(br.definitely[0].because, [AffectedBecause::Failed]);
        assert_eq!(names(&br.likely), ["billing-service", "user-service"]);
        assert_eq!(br.likely[0].because, [AffectedBecause::DependsOn { service: "payments-db".into() }]);
        assert_eq!(br.likely[1].because, [AffectedBecause::DependsOn { service: "payments-service".into() }]);
        assert_eq!(names(&br.possibly), ["api-gateway", "notifications"]);
        assert_eq!(br.possibly[1].because, [AffectedBecause::Transitive { via: "api-gateway".into() }]);
        assert_eq!(br.owners_to_notify, ["@dana", "@alice", "@bea", "@umar"], "4 owners, from definitely + likely");
    }

    #[test]
    fn sharing_a_data_store_is_likely() {
        let catalog = seed_catalog();
        let br = blast_radius(&catalog, &[], &["billing-service".into()]);
        let payments = br.likely.iter().find(|a| a.service == "payments-service").unwrap();
        assert_eq!(payments.because, [AffectedBecause::Shares { datastore: "payments-db".into() }]);
    }

    #[test]
    fn a_resource_outside_the_catalog_is_listed_without_an_owner() {
        let br = blast_radius(&seed_catalog(), &[], &["mystery-box".into()]);
        assert_eq!(names(&br.definitely), ["mystery-box"]);
        assert!(!br.definitely[0].in_catalog);
        assert!(br.likely.is_empty() && br.owners_to_notify.is_empty());
    }
}
