use mandate_contract::wire_enum;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

wire_enum! {
    /// How much harm an incident on the service does; drives severity.
    #[derive(Default)]
    pub enum Sensitivity {
        Low = "low",
        #[default]
        Medium = "medium",
        High = "high",
        Critical = "critical",
    }
}

wire_enum! {
    /// What the resource is. Data stores are what "shares Y" in a blast radius means.
    #[derive(Default)]
    pub enum ServiceKind {
        #[default]
        Service = "service",
        Datastore = "datastore",
        Queue = "queue",
        External = "external",
    }
}

wire_enum! {
    /// Whether the listed owner can be reached (seed 6.1, 6.2).
    #[derive(Default)]
    pub enum OwnerStatus {
        #[default]
        Available = "available",
        /// Out of office or otherwise away: route to the backup.
        Unavailable = "unavailable",
        /// No longer with the company: the resource is orphaned.
        Departed = "departed",
    }
}

/// A vendor or contractor that owns a service (seed 6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalOwner {
    pub name: String,
    pub contact: String,
    /// email, phone, … — often not chat.
    pub channel: String,
    /// Their response commitment, e.g. "4h".
    pub sla: String,
    /// The internal sponsor to escalate to.
    pub escalation: Option<String>,
}

/// One service, data store or dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    #[serde(default)]
    pub kind: ServiceKind,
    /// The owning person or group, e.g. "@alice".
    #[serde(default)]
    pub owner: Option<String>,
    /// Further claimants: more than one owner in total is ambiguous ownership.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_claimed_by: Vec<String>,
    #[serde(default)]
    pub owner_status: OwnerStatus,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub on_call: Option<String>,
    #[serde(default)]
    pub backup: Option<String>,
    #[serde(default)]
    pub external: Option<ExternalOwner>,
    /// Who to escalate to after the owners and the on-call, in order
    /// (team lead, management, executive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation: Vec<String>,
    #[serde(default)]
    pub sensitivity: Sensitivity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Services this one needs to work.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// A person Mandate knows by their accounts elsewhere: what they do from
/// Slack is done in their name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Their Mandate name, as their token and the catalog's `@handles` say
    /// it: `@alice` or `alice`.
    pub name: String,
    /// Their Slack user id (`U0123ABCD`), as Slack's interactions name them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<String>,
}

/// The catalog as written in TOML or JSON: `[[service]]` tables, and the tools
/// that must never be suggested for disabling (seed 9.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogDocument {
    #[serde(default, rename = "service")]
    pub services: Vec<Service>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub critical_tools: Vec<String>,
    /// `[[person]]` tables: people and their accounts elsewhere.
    #[serde(default, rename = "person", skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Person>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("catalog {source_name}: {message}")]
    Invalid { source_name: String, message: String },
}

/// A validated catalog with its reverse edges.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    document: CatalogDocument,
    by_name: BTreeMap<String, usize>,
    dependents: BTreeMap<String, BTreeSet<String>>,
}

impl Catalog {
    /// Checks names are unique and every dependency exists.
    pub fn new(document: CatalogDocument, source_name: &str) -> Result<Catalog, CatalogError> {
        let invalid = |message: String| CatalogError::Invalid { source_name: source_name.to_owned(), message };
        let mut by_name = BTreeMap::new();
        for (i, service) in document.services.iter().enumerate() {
            if service.name.trim().is_empty() {
                return Err(invalid(format!("service[{i}].name is empty")));
            }
            if by_name.insert(service.name.clone(), i).is_some() {
                return Err(invalid(format!("service[{i}].name {:?} appears twice", service.name)));
            }
        }
        let mut dependents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (i, service) in document.services.iter().enumerate() {
            for dep in &service.depends_on {
                if !by_name.contains_key(dep) {
                    return Err(invalid(format!(
                        "service[{i}] ({}) depends_on {dep:?}, which is not in the catalog",
                        service.name
                    )));
                }
                dependents.entry(dep.clone()).or_default().insert(service.name.clone());
            }
        }
        let mut slack_ids = BTreeSet::new();
        for (i, person) in document.people.iter().enumerate() {
            if person.name.trim_start_matches('@').trim().is_empty() {
                return Err(invalid(format!("person[{i}].name is empty")));
            }
            if let Some(id) = &person.slack
                && !slack_ids.insert(id.clone())
            {
                return Err(invalid(format!(
                    "person[{i}] ({}): slack {id:?} is another person's too: one Slack account acts for one person",
                    person.name
                )));
            }
        }
        Ok(Catalog { document, by_name, dependents })
    }

    /// The Mandate name (without `@`) of the person with Slack user id `id`.
    pub fn person_by_slack(&self, id: &str) -> Option<&str> {
        let person = self.document.people.iter().find(|p| p.slack.as_deref() == Some(id))?;
        Some(person.name.trim_start_matches('@'))
    }

    pub fn from_toml(text: &str, source_name: &str) -> Result<Catalog, CatalogError> {
        let document: CatalogDocument = toml::from_str(text)
            .map_err(|e| CatalogError::Invalid { source_name: source_name.to_owned(), message: e.to_string() })?;
        Catalog::new(document, source_name)
    }

    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| CatalogError::Invalid { source_name: name.clone(), message: format!("cannot read: {e}") })?;
        Catalog::from_toml(&text, &name)
    }

    pub fn document(&self) -> &CatalogDocument {
        &self.document
    }

    pub fn get(&self, name: &str) -> Option<&Service> {
        self.by_name.get(name).map(|&i| &self.document.services[i])
    }

    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.document.services.iter()
    }

    /// Services that list `name` in their `depends_on`.
    pub fn dependents(&self, name: &str) -> impl Iterator<Item = &str> {
        self.dependents.get(name).into_iter().flatten().map(String::as_str)
    }

    pub fn is_critical_tool(&self, tool: &str) -> bool {
        self.document.critical_tools.iter().any(|t| t == tool)
    }

    pub fn len(&self) -> usize {
        self.document.services.len()
    }

    pub fn is_empty(&self) -> bool {
        self.document.services.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catalog_with_dangling_or_duplicate_names_is_refused_by_name() {
        let err = Catalog::from_toml("[[service]]\nname = \"a\"\ndepends_on = [\"b\"]\n", "catalog.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "catalog catalog.toml: service[0] (a) depends_on \"b\", which is not in the catalog"
        );
        let err = Catalog::from_toml("[[service]]\nname = \"a\"\n[[service]]\nname = \"a\"\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("service[1].name \"a\" appears twice"));
        let err = Catalog::from_toml("[[service]]\nname = \"a\"\nsensitivity = \"extreme\"\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("c.toml") && err.to_string().contains("extreme"), "{err}");
        let err = Catalog::from_toml("[[service]]\nname = \"a\"\nownr = \"@x\"\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("ownr"), "{err}");
    }

    #[test]
    fn dependents_are_the_reverse_edges() {
        let c = Catalog::from_toml(
            "[[service]]\nname = \"db\"\nkind = \"datastore\"\n[[service]]\nname = \"a\"\ndepends_on = [\"db\"]\n[[service]]\nname = \"b\"\ndepends_on = [\"db\", \"a\"]\n",
            "c",
        )
        .unwrap();
        assert_eq!(c.dependents("db").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(c.dependents("a").collect::<Vec<_>>(), ["b"]);
        assert_eq!(c.dependents("b").count(), 0);
        assert_eq!(c.get("db").unwrap().kind, ServiceKind::Datastore);
    }
}
