//! Ownership problems (seed chapter 6) as flags, and who to notify because of them.

use super::{OwnerStatus, Service};
pub use mandate_contract::api::OwnershipFlag;

pub fn ownership_flags(service: &Service) -> Vec<OwnershipFlag> {
    let mut flags = Vec::new();
    let fallback = service.backup.clone().or_else(|| service.on_call.clone());
    match (&service.owner, service.owner_status) {
        (None, _) if service.external.is_none() => flags.push(OwnershipFlag::NoOwner),
        (Some(owner), OwnerStatus::Unavailable) => {
            flags.push(OwnershipFlag::OwnerUnavailable { owner: owner.clone(), route_to: fallback.clone() })
        }
        (Some(owner), OwnerStatus::Departed) => {
            flags.push(OwnershipFlag::OrphanedOwner { owner: owner.clone(), route_to: fallback.clone() })
        }
        _ => {}
    }
    if !service.also_claimed_by.is_empty() {
        let claimants = service.owner.iter().chain(&service.also_claimed_by).cloned().collect();
        flags.push(OwnershipFlag::Ambiguous { claimants });
    }
    if let Some(ext) = &service.external {
        flags.push(OwnershipFlag::External {
            name: ext.name.clone(),
            contact: ext.contact.clone(),
            channel: ext.channel.clone(),
            sla: ext.sla.clone(),
            escalation: ext.escalation.clone(),
        });
    }
    flags
}

/// Who hears about an incident on this service: the owner when reachable,
/// else the backup; every claimant when ownership is ambiguous (AND, not OR);
/// the external contact and its internal sponsor; the on-call when nobody owns it.
pub fn notify_targets(service: &Service) -> Vec<String> {
    let mut targets: Vec<String> = Vec::new();
    let mut add = |t: &Option<String>| {
        if let Some(t) = t.as_ref().filter(|t| !targets.contains(t)) {
            targets.push(t.clone());
        }
    };
    match service.owner_status {
        OwnerStatus::Available => add(&service.owner),
        OwnerStatus::Unavailable | OwnerStatus::Departed => add(&service.backup.clone().or(service.on_call.clone())),
    }
    for claimant in &service.also_claimed_by {
        add(&Some(claimant.clone()));
    }
    if let Some(ext) = &service.external {
        add(&Some(ext.contact.clone()));
        add(&ext.escalation);
    }
    if service.owner.is_none() && service.external.is_none() {
        add(&service.on_call);
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, ExternalOwner};

    fn service(toml: &str) -> Service {
        Catalog::from_toml(&format!("[[service]]\nname = \"s\"\n{toml}"), "t").unwrap().get("s").unwrap().clone()
    }

    #[test]
    fn unavailable_owner_routes_to_backup() {
        let s = service("owner = \"@alice\"\nowner_status = \"unavailable\"\nbackup = \"@bob\"\n");
        assert_eq!(
            ownership_flags(&s),
            [OwnershipFlag::OwnerUnavailable { owner: "@alice".into(), route_to: Some("@bob".into()) }]
        );
        assert_eq!(notify_targets(&s), ["@bob"]);
    }

    #[test]
    fn departed_owner_is_orphaned() {
        let s = service("owner = \"@carol\"\nowner_status = \"departed\"\non_call = \"@payments-oncall\"\n");
        assert!(
            matches!(&ownership_flags(&s)[0], OwnershipFlag::OrphanedOwner { route_to: Some(r), .. } if r == "@payments-oncall")
        );
        assert_eq!(notify_targets(&s), ["@payments-oncall"]);
    }

    #[test]
    fn ambiguous_ownership_notifies_every_claimant() {
        let s = service("owner = \"@team-a\"\nalso_claimed_by = [\"@team-b\", \"@team-c\"]\n");
        assert_eq!(
            ownership_flags(&s),
            [OwnershipFlag::Ambiguous { claimants: vec!["@team-a".into(), "@team-b".into(), "@team-c".into()] }]
        );
        assert_eq!(notify_targets(&s), ["@team-a", "@team-b", "@team-c"]);
    }

    #[test]
    fn no_owner_is_flagged_and_goes_to_on_call() {
        let s = service("on_call = \"@platform-oncall\"\n");
        assert_eq!(ownership_flags(&s), [OwnershipFlag::NoOwner]);
        assert_eq!(notify_targets(&s), ["@platform-oncall"]);
    }

    #[test]
    fn external_owner_carries_channel_sla_and_sponsor() {
        let mut s = service("");
        s.external = Some(ExternalOwner {
            name: "Acme Consulting".into(),
            contact: "oncall@acme.example".into(),
            channel: "email".into(),
            sla: "4h".into(),
            escalation: Some("@internal-sponsor".into()),
        });
        assert!(matches!(&ownership_flags(&s)[0], OwnershipFlag::External { sla, .. } if sla == "4h"));
        assert_eq!(notify_targets(&s), ["oncall@acme.example", "@internal-sponsor"]);
    }
}
