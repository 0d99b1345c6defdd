//! The simulated fleet: who the agents are, how they are attributed, what
//! they run and touch. Their everyday work touches resources the scenarios
//! do not, so it neither resolves the scenarios' incidents nor crowds their
//! root causes.

use crate::api::RiskLevel;

/// How an agent's runs are attributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acting {
    System,
    /// A person working through the agent.
    Human(&'static str),
    Service,
}

#[derive(Debug, Clone, Copy)]
pub struct Agent {
    pub id: &'static str,
    pub origin: &'static str,
    pub acting: Acting,
    pub provider: &'static str,
    pub risk: RiskLevel,
    pub tool: &'static str,
    pub resource: &'static str,
    pub goal: &'static str,
}

pub const FLEET: [Agent; 14] = [
    Agent {
        id: "deployer",
        origin: "ci-pipeline",
        acting: Acting::System,
        provider: "anthropic",
        risk: RiskLevel::High,
        tool: "helm",
        resource: "staging-cluster",
        goal: "roll out payments-service",
    },
    Agent {
        id: "config-gen",
        origin: "config-service",
        acting: Acting::System,
        provider: "openai",
        risk: RiskLevel::Medium,
        tool: "config_writer",
        resource: "config-repo",
        goal: "regenerate service configs",
    },
    Agent {
        id: "payment-processor",
        origin: "payments-service",
        acting: Acting::Service,
        provider: "internal",
        risk: RiskLevel::Critical,
        tool: "charge_card",
        resource: "ledger",
        goal: "settle card payments",
    },
    Agent {
        id: "report-generator",
        origin: "analytics",
        acting: Acting::System,
        provider: "anthropic",
        risk: RiskLevel::Low,
        tool: "sql",
        resource: "warehouse",
        goal: "build the daily revenue report",
    },
    Agent {
        id: "cache-warmer",
        origin: "platform",
        acting: Acting::System,
        provider: "local",
        risk: RiskLevel::Low,
        tool: "cdn_purge",
        resource: "cdn-edge",
        goal: "warm the product cache",
    },
    Agent {
        id: "policy-bot",
        origin: "governance",
        acting: Acting::System,
        provider: "openai",
        risk: RiskLevel::Medium,
        tool: "policy_apply",
        resource: "policy-store",
        goal: "apply rate-limit policies",
    },
    Agent {
        id: "db-migrator",
        origin: "dba-console",
        acting: Acting::Human("priya"),
        provider: "anthropic",
        risk: RiskLevel::High,
        tool: "migrate",
        resource: "migrations-db",
        goal: "add an index to users",
    },
    Agent {
        id: "backup-agent",
        origin: "platform",
        acting: Acting::System,
        provider: "local",
        risk: RiskLevel::Low,
        tool: "snapshot",
        resource: "backup-bucket",
        goal: "snapshot payments-db",
    },
    Agent {
        id: "cost-optimizer",
        origin: "finops",
        acting: Acting::System,
        provider: "openai",
        risk: RiskLevel::Medium,
        tool: "scale",
        resource: "compute-pool",
        goal: "right-size the gateway",
    },
    Agent {
        id: "security-scanner",
        origin: "secops",
        acting: Acting::Service,
        provider: "internal",
        risk: RiskLevel::Low,
        tool: "scan",
        resource: "image-registry",
        goal: "scan auth-service images",
    },
    Agent {
        id: "ticket-triage",
        origin: "support-desk",
        acting: Acting::Human("sam"),
        provider: "anthropic",
        risk: RiskLevel::Low,
        tool: "ticket_update",
        resource: "support-portal",
        goal: "triage support tickets",
    },
    Agent {
        id: "invoice-runner",
        origin: "billing-service",
        acting: Acting::Service,
        provider: "internal",
        risk: RiskLevel::Medium,
        tool: "send_invoice",
        resource: "invoice-queue",
        goal: "send due invoices",
    },
    Agent {
        id: "search-indexer",
        origin: "search-team",
        acting: Acting::System,
        provider: "local",
        risk: RiskLevel::Low,
        tool: "reindex",
        resource: "search-index",
        goal: "reindex the catalog",
    },
    Agent {
        id: "notifier",
        origin: "notifications",
        acting: Acting::Service,
        provider: "internal",
        risk: RiskLevel::Low,
        tool: "send_push",
        resource: "push-provider",
        goal: "send order updates",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fleet_has_a_dozen_agents_in_every_attribution() {
        assert!(FLEET.len() >= 12);
        for acting in [Acting::System, Acting::Service] {
            assert!(FLEET.iter().any(|a| a.acting == acting));
        }
        assert!(FLEET.iter().any(|a| matches!(a.acting, Acting::Human(_))));
        let ids: std::collections::BTreeSet<_> = FLEET.iter().map(|a| a.id).collect();
        assert_eq!(ids.len(), FLEET.len());
    }
}
