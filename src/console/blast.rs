//! The blast-radius tree as plain data: Definitely / Likely / Possibly
//! affected → service → owner, team, on-call and why it is there. The view
//! turns it into a tui-tree-widget; `update` walks it to move the selection,
//! so both read the same structure.

use super::theme::StyleKey;
use crate::api::{AffectedService, BlastRadius};
use crate::catalog::OwnershipFlag;
use std::collections::BTreeSet;

/// One line of the tree: its identifier among its siblings, its text in
/// styled pieces, and its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub text: Vec<(String, StyleKey)>,
    pub children: Vec<Node>,
}

impl Node {
    fn leaf(id: String, text: Vec<(String, StyleKey)>) -> Node {
        Node { id, text, children: vec![] }
    }
}

pub const BANDS: [&str; 3] = ["definitely", "likely", "possibly"];

pub fn nodes(br: &BlastRadius) -> Vec<Node> {
    let bands = [
        ("definitely", "Definitely affected", &br.definitely, StyleKey::SeverityCritical),
        ("likely", "Likely affected", &br.likely, StyleKey::SeverityHigh),
        ("possibly", "Possibly affected", &br.possibly, StyleKey::SeverityMedium),
    ];
    bands
        .into_iter()
        .map(|(id, label, services, key)| Node {
            id: id.to_owned(),
            text: vec![(format!("{label} ({})", services.len()), key)],
            children: services.iter().map(service).collect(),
        })
        .collect()
}

fn service(s: &AffectedService) -> Node {
    let mut text = vec![(s.service.clone(), StyleKey::Text)];
    match (&s.owner, s.in_catalog) {
        (Some(owner), _) => text.push((format!("  owner {owner}"), StyleKey::Muted)),
        (None, false) => text.push(("  not in the catalog".to_owned(), StyleKey::Warning)),
        (None, true) => {}
    }
    for flag in &s.ownership {
        text.push((format!("  [{}]", flag_label(flag)), StyleKey::Warning));
    }
    let mut children = Vec::new();
    let who = [("owner", &s.owner), ("team", &s.team), ("on-call", &s.on_call)]
        .iter()
        .map(|(what, v)| format!("{what} {}", v.as_deref().unwrap_or("—")))
        .collect::<Vec<_>>()
        .join(", ");
    children.push(Node::leaf("who".into(), vec![(who, StyleKey::Text)]));
    for (n, b) in s.because.iter().enumerate() {
        children.push(Node::leaf(format!("why{n}"), vec![(format!("why: {}", b.describe()), StyleKey::Muted)]));
    }
    for (n, flag) in s.ownership.iter().enumerate() {
        children.push(Node::leaf(format!("flag{n}"), vec![(flag_detail(flag), StyleKey::Warning)]));
    }
    Node { id: s.service.clone(), text, children }
}

pub fn flag_label(f: &OwnershipFlag) -> &'static str {
    match f {
        OwnershipFlag::OwnerUnavailable { .. } => "OWNER AWAY",
        OwnershipFlag::OrphanedOwner { .. } => "ORPHANED",
        OwnershipFlag::Ambiguous { .. } => "AMBIGUOUS",
        OwnershipFlag::NoOwner => "NO OWNER",
        OwnershipFlag::External { .. } => "EXTERNAL",
    }
}

fn flag_detail(f: &OwnershipFlag) -> String {
    let route = |r: &Option<String>| r.as_deref().map(|r| format!("; notify {r}")).unwrap_or_default();
    match f {
        OwnershipFlag::OwnerUnavailable { owner, route_to } => {
            format!("owner {owner} is unavailable{}", route(route_to))
        }
        OwnershipFlag::OrphanedOwner { owner, route_to } => {
            format!("owner {owner} has left: orphaned{}", route(route_to))
        }
        OwnershipFlag::Ambiguous { claimants } => format!("claimed by {}: all are notified", claimants.join(", ")),
        OwnershipFlag::NoOwner => "nobody owns it: the on-call team or an admin is notified".to_owned(),
        OwnershipFlag::External { name, contact, channel, sla, escalation } => {
            let esc = escalation.as_deref().map(|e| format!(", escalation {e}")).unwrap_or_default();
            format!("external: {name}, {contact} via {channel}, SLA {sla}{esc}")
        }
    }
}

/// The paths shown with `opened` nodes open, top to bottom.
pub fn visible_paths(nodes: &[Node], opened: &BTreeSet<Vec<String>>) -> Vec<Vec<String>> {
    fn walk(nodes: &[Node], prefix: &[String], opened: &BTreeSet<Vec<String>>, out: &mut Vec<Vec<String>>) {
        for n in nodes {
            let mut path = prefix.to_vec();
            path.push(n.id.clone());
            out.push(path.clone());
            if !n.children.is_empty() && opened.contains(&path) {
                walk(&n.children, &path, opened, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(nodes, &[], opened, &mut out);
    out
}

/// Whether the node at `path` has children.
/// Every node that has children: what "expand all" opens.
pub fn parents(nodes: &[Node]) -> BTreeSet<Vec<String>> {
    fn walk(nodes: &[Node], prefix: &[String], out: &mut BTreeSet<Vec<String>>) {
        for n in nodes.iter().filter(|n| !n.children.is_empty()) {
            let mut path = prefix.to_vec();
            path.push(n.id.clone());
            walk(&n.children, &path, out);
            out.insert(path);
        }
    }
    let mut out = BTreeSet::new();
    walk(nodes, &[], &mut out);
    out
}

pub fn has_children(nodes: &[Node], path: &[String]) -> bool {
    let mut level = nodes;
    let mut found = None;
    for id in path {
        found = level.iter().find(|n| &n.id == id);
        match found {
            Some(n) => level = &n.children,
            None => return false,
        }
    }
    found.is_some_and(|n| !n.children.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AffectedBecause;

    fn affected(name: &str, because: Vec<AffectedBecause>) -> AffectedService {
        AffectedService {
            service: name.into(),
            in_catalog: true,
            owner: Some("alice".into()),
            team: Some("payments".into()),
            on_call: None,
            because,
            ownership: vec![OwnershipFlag::OrphanedOwner { owner: "alice".into(), route_to: Some("bob".into()) }],
        }
    }

    #[test]
    fn bands_count_services_and_services_say_why() {
        let br = BlastRadius {
            definitely: vec![affected("payments-db", vec![AffectedBecause::Failed])],
            likely: vec![affected(
                "payments-service",
                vec![AffectedBecause::DependsOn { service: "payments-db".into() }],
            )],
            possibly: vec![],
            owners_to_notify: vec!["alice".into()],
        };
        let tree = nodes(&br);
        assert_eq!(tree[0].text[0].0, "Definitely affected (1)");
        assert_eq!(tree[2].text[0].0, "Possibly affected (0)");
        let svc = &tree[1].children[0];
        let texts: Vec<String> = svc.children.iter().map(|c| c.text[0].0.clone()).collect();
        assert_eq!(
            texts,
            [
                "owner alice, team payments, on-call —",
                "why: depends on payments-db",
                "owner alice has left: orphaned; notify bob"
            ]
        );
        assert!(svc.text.iter().any(|(t, _)| t.contains("[ORPHANED]")));

        let closed = visible_paths(&tree, &BTreeSet::new());
        assert_eq!(closed.len(), 3);
        let open: BTreeSet<Vec<String>> = [vec!["likely".to_owned()]].into();
        let paths = visible_paths(&tree, &open);
        assert_eq!(paths[2], vec!["likely".to_owned(), "payments-service".to_owned()]);
        assert!(has_children(&tree, &paths[2]));
        assert!(!has_children(&tree, &["possibly".to_owned()]));
    }
}
