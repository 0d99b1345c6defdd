//! Acting from Slack. A page in Slack carries buttons (acknowledge,
//! escalate, stop the suspected agent, resolve with a reason) when the
//! routing file gives the Slack app's signing secret. A click comes back to
//! `POST /api/v1/slack/interactions`, signed by Slack; the person is found
//! in the catalog by their Slack id, the action is taken in their name with
//! HUMAN attribution as from the console, and the message is updated in
//! place.
//!
//! - [`signature`]: Slack's request signature and timestamp, verified.
//! - [`interaction`]: the `block_actions` payload Slack posts, read.
//! - [`buttons`]: the blocks a page carries, and what each click asks.
//! - [`reply`]: the message updated in place (`chat.update`, or the
//!   interaction's `response_url`), and the polite refusals only the
//!   clicker sees.

pub mod buttons;
pub mod interaction;
pub mod reply;
pub mod signature;

/// The `agent_id` of the attribution of what people do from Slack: the
/// console says `mandate-console`.
pub const SLACK_AGENT: &str = "mandate-slack";
