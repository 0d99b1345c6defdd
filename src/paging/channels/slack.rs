//! Slack incoming webhooks: a Block Kit message (a header, a section per
//! notification, the command that opens it) with `text` as the fallback
//! shown in notifications. Slack answers 200 "ok", or 400/403/404/410 with a
//! reason that retrying cannot fix, or 429 with Retry-After, or 5xx.

use super::super::config::SlackReceiver;
use super::super::message::{Item, Outgoing};
use super::{Refusal, post_json};
use crate::api::NoticeKind;
use crate::slack::buttons::Target;
use std::time::Duration;

/// Slack's limit on a section's text.
const SECTION_TEXT: usize = 3000;
/// Slack's limit on blocks per message.
const BLOCKS: usize = 50;

/// Slack's mrkdwn control characters, escaped as Slack asks.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn clip(text: String, max: usize) -> String {
    if text.chars().count() <= max { text } else { text.chars().take(max - 1).chain(['…']).collect() }
}

fn section(text: String) -> serde_json::Value {
    serde_json::json!({ "type": "section", "text": { "type": "mrkdwn", "text": clip(text, SECTION_TEXT) } })
}

/// The message for `out`; `interactive`: with each page's buttons (see
/// [`crate::slack::buttons`]).
pub fn message(out: &Outgoing, interactive: bool) -> serde_json::Value {
    let mut blocks = vec![serde_json::json!({
        "type": "header",
        "text": { "type": "plain_text", "text": clip(out.subject(), 150) }
    })];
    let actionable = |i: &Item| interactive && i.page.kind == NoticeKind::Page && i.context.incident_id != 0;
    // A page with buttons takes two blocks.
    let mut room = 0;
    let mut used = 0;
    for item in &out.items {
        used += if actionable(item) { 2 } else { 1 };
        if used > BLOCKS - 2 {
            break;
        }
        room += 1;
    }
    for (n, item) in out.items.iter().take(room).enumerate() {
        let mut text = format!("*{}*", escape(&item.headline()));
        for line in item.body() {
            // A long message (a weekly status) goes on in further sections
            // rather than being cut at Slack's limit.
            if item.message().is_some() && text.chars().count() + line.chars().count() + 1 > SECTION_TEXT {
                blocks.push(section(std::mem::take(&mut text)));
            }
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&escape(&line));
        }
        blocks.push(section(text));
        if actionable(item) {
            let c = &item.context;
            let target = Target { incident: c.incident_id, agent: c.suspect_agent.clone() };
            blocks.push(crate::slack::buttons::controls(&crate::slack::buttons::block_id(c.incident_id, n), &target));
        }
    }
    blocks.truncate(BLOCKS - 1);
    let more = out.items.len().saturating_sub(room);
    let footer = if more > 0 {
        format!("{more} more not shown: `mandate` → :notifications · for {}", escape(&out.target))
    } else {
        format!("for {} · delivery {}", escape(&out.target), out.id)
    };
    blocks.push(serde_json::json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": footer }] }));
    serde_json::json!({ "text": clip(out.subject(), SECTION_TEXT), "blocks": blocks })
}

pub(super) async fn send(
    http: &reqwest::Client,
    receiver: &SlackReceiver,
    out: &Outgoing,
    timeout: Duration,
) -> Result<(), Refusal> {
    let url = receiver.url.read().map_err(|e| Refusal::permanent(format!("slack webhook URL: {e}")))?;
    post_json(http.post(url.expose()), &message(out, receiver.interactive()), timeout).await.map(|_| ())
}
