//! The demo's gated agent: `schema-janitor`, on the Rust SDK, now and then
//! asks to drop a legacy table on `user-db`, a critical datastore. The
//! routing's critical point gates it: the request appears in `:approvals`,
//! its owner is paged on the demo's receivers, and what the operator
//! decides changes what the agent does next. Approved, it drops the table
//! and vacuums the database; denied (or unanswered), it archives the table
//! instead and waits longer before asking again.

use crate::sdk::{Action, Agent, Client, OutOfContact, Refusal};
use std::time::Duration;
use tokio::sync::watch;

pub const AGENT: &str = "schema-janitor";
/// The first request comes this long after the demo starts (at speed 1).
const FIRST: Duration = Duration::from_secs(20);
/// Between requests: longer after a refusal.
const AFTER_APPROVAL: Duration = Duration::from_secs(60);
const AFTER_REFUSAL: Duration = Duration::from_secs(180);

/// Runs until `stop` says so.
pub async fn run(api: String, token: String, speed: f64, mut stop: watch::Receiver<bool>) {
    let Ok(client) = Client::new(&api, &token) else { return };
    let attribution = crate::attribution::AttributionContext::system(AGENT, "demo-maintenance");
    let Ok(agent) = Agent::start(&client, attribution, OutOfContact::KeepActing) else { return };
    let scaled = |d: Duration| d.div_f64(speed.max(0.1));
    let mut wait = scaled(FIRST);
    for round in 1u32.. {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        let table = format!("sessions_{}", 2019 + round % 5);
        let drop = Action::tool_call("psql", "user-db")
            .of_type("drop_table")
            .described(&format!("DROP TABLE {table} on user-db: a legacy table no query has read for 90 days"));
        let done = tokio::select! {
            done = agent.act(&drop, async { Ok::<(), String>(()) }) => done,
            _ = stop.changed() => return,
        };
        match done {
            Ok(_) => {
                let vacuum = Action::tool_call("psql", "user-db").of_type("vacuum");
                let _ = agent.act(&vacuum, async { Ok::<(), String>(()) }).await;
                wait = scaled(AFTER_APPROVAL);
            }
            Err(Refusal::Denied { .. } | Refusal::ApprovalTimedOut { .. }) => {
                let archive = Action::tool_call("pg_dump", "user-db").of_type("archive_table");
                let _ = agent.act(&archive, async { Ok::<(), String>(()) }).await;
                wait = scaled(AFTER_REFUSAL);
            }
            Err(_) => wait = scaled(AFTER_REFUSAL),
        }
    }
}
