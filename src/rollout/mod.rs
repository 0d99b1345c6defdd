//! The attribution rollout, run from the console (seed 000): where each
//! origin system stands, the fleet's trends, the plan's phases and
//! milestones, the weekly status and the outreach to owners.
//!
//! - [`plan`]: the dates and where the messages go (`[attribution]` in the routing file).
//! - [`compliance`]: statuses and trends from hourly counts.
//! - [`status`]: the whole picture the API serves and the console shows.
//! - [`report`]: the seed's §6 weekly status and §5 direct message, in Markdown.

mod compliance;
mod plan;
mod report;
mod status;

pub use compliance::{
    Activity, HISTORY_DAYS, HourCounts, ServiceActivity, Standing, TREND_DAYS, fails_in, hour_of, standing, trends,
};
pub use plan::{DEFAULT_STATUS_AT, RolloutPlan, days_until};
pub use report::{in_days, outreach_message, value_text, weekly_status};
pub use status::{Directory, Filter, outreach_channels, rollout_status, status_route};

use crate::attribution::AttributionContext;

/// The name refusals without an origin_system_id are listed under.
pub const NO_ORIGIN: &str = "(no origin_system_id)";

/// Longest value kept of a refused request's attribution field.
const FIELD_CHARS: usize = 64;

/// What a refused request's attribution said, kept so its owner can be shown
/// (seed 000 §5): the values of agent_id, actor_type and origin_system_id,
/// clipped; only whether actor_id, origin_ts and origin_ip were there (a
/// person's id or an address is not for a broadcast message).
pub fn sent_fields(ctx: &AttributionContext) -> serde_json::Value {
    let clip = |v: &str| -> String { v.chars().take(FIELD_CHARS).collect() };
    let mut fields = serde_json::Map::new();
    for (name, value) in
        [("agent_id", &ctx.agent_id), ("actor_type", &ctx.actor_type), ("origin_system_id", &ctx.origin_system_id)]
    {
        fields.insert(name.to_owned(), value.as_deref().map(clip).unwrap_or_else(|| "(missing)".to_owned()).into());
    }
    let present = |yes: bool| if yes { "(present)" } else { "(missing)" };
    fields.insert("actor_id".to_owned(), present(ctx.actor_id.is_some()).into());
    fields.insert("origin_ts".to_owned(), present(ctx.origin_ts.is_some()).into());
    fields.insert("origin_ip".to_owned(), present(ctx.origin_ip.is_some()).into());
    serde_json::Value::Object(fields)
}
