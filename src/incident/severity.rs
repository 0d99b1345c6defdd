//! Severity from the affected resources' sensitivity and the breadth of the
//! impact; the escalation path from the primary resource's owners (seed 5.3).

use crate::api::{BlastRadius, Severity};
use crate::catalog::{Catalog, Sensitivity, notify_targets};

/// The most sensitive definitely-affected service sets the level; an impact
/// that reaches five or more services raises it one step.
pub fn severity(catalog: &Catalog, radius: &BlastRadius) -> Severity {
    let base = radius
        .definitely
        .iter()
        .filter_map(|a| catalog.get(&a.service))
        .map(|s| s.sensitivity)
        .max()
        .unwrap_or(Sensitivity::Medium);
    let level = match base {
        Sensitivity::Low => 0,
        Sensitivity::Medium => 1,
        Sensitivity::High => 2,
        Sensitivity::Critical => 3,
    };
    let breadth = radius.definitely.len() + radius.likely.len();
    let level = if breadth >= 5 { (level + 1).min(3) } else { level };
    [Severity::Low, Severity::Medium, Severity::High, Severity::Critical][level]
}

/// Primary owners, then the on-call, then the catalog's escalation tiers.
/// Empty when the resource is not in the catalog.
pub fn escalation_path(catalog: &Catalog, primary_resource: Option<&str>) -> Vec<String> {
    let mut path = Vec::new();
    if let Some(service) = primary_resource.and_then(|r| catalog.get(r)) {
        let tiers =
            notify_targets(service).into_iter().chain(service.on_call.clone()).chain(service.escalation.clone());
        for target in tiers {
            if !path.contains(&target) {
                path.push(target);
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::blast_radius;
    use crate::incident::blast_radius::tests::seed_catalog;

    #[test]
    fn sensitivity_and_breadth_set_severity() {
        let c = seed_catalog();
        assert_eq!(severity(&c, &blast_radius(&c, &[], &["payments-db".into()])), Severity::Critical);
        assert_eq!(severity(&c, &blast_radius(&c, &[], &["notifications".into()])), Severity::Medium);
        assert_eq!(severity(&c, &blast_radius(&c, &[], &["mystery".into()])), Severity::Medium);
    }

    #[test]
    fn the_path_climbs_from_owner_to_leadership() {
        let c = seed_catalog();
        assert_eq!(
            escalation_path(&c, Some("payments-service")),
            ["@alice", "@payments-oncall", "@payments-lead", "@vp-engineering"]
        );
        assert!(escalation_path(&c, None).is_empty());
    }
}
