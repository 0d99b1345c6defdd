//! The blocks a page carries in Slack, and what a click on each asks.
//!
//! Under each incident of a message, one `actions` block (its `block_id`
//! names the incident) holds: Acknowledge, Escalate, Stop <suspect>,
//! Resolve. Escalating (it pages people) and stopping an agent take a
//! second step, as in the console: the first click turns the block into
//! "Escalate now / Cancel"; resolving asks for the reason, typed into the
//! message and sent with Enter. What was done replaces the block, so
//! everyone in the channel sees who did what.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const ACKNOWLEDGE: &str = "mandate_acknowledge";
pub const ESCALATE: &str = "mandate_escalate";
pub const ESCALATE_CONFIRMED: &str = "mandate_escalate_confirmed";
pub const STOP: &str = "mandate_stop";
pub const STOP_CONFIRMED: &str = "mandate_stop_confirmed";
pub const RESOLVE: &str = "mandate_resolve";
pub const RESOLVE_REASON: &str = "mandate_resolve_reason";
pub const CANCEL: &str = "mandate_cancel";

/// What a button carries: its incident, and the agent it would stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    #[serde(rename = "i")]
    pub incident: i64,
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// One click, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Click {
    Acknowledge(Target),
    Escalate(Target),
    EscalateConfirmed(Target),
    Stop(Target),
    StopConfirmed(Target),
    Resolve(Target),
    /// The reason typed, sent with Enter.
    Resolved(Target, String),
    Cancel(Target),
}

fn button(text: &str, action_id: &str, target: &Target, style: Option<&str>) -> Value {
    let mut b = json!({
        "type": "button", "action_id": action_id,
        "text": { "type": "plain_text", "text": text, "emoji": false },
        "value": serde_json::to_string(target).expect("a target encodes"),
    });
    if let Some(style) = style {
        b["style"] = style.into();
    }
    b
}

/// The block id of an incident's controls: `mandate:<incident>:<n>`, unique
/// within the message.
pub fn block_id(incident: i64, n: usize) -> String {
    format!("mandate:{incident}:{n}")
}

/// An incident's buttons.
pub fn controls(block_id: &str, target: &Target) -> Value {
    let mut elements =
        vec![button("Acknowledge", ACKNOWLEDGE, target, Some("primary")), button("Escalate…", ESCALATE, target, None)];
    if let Some(agent) = &target.agent {
        elements.push(button(&clip(&format!("Stop {agent}…"), 75), STOP, target, Some("danger")));
    }
    elements.push(button("Resolve…", RESOLVE, target, None));
    json!({ "type": "actions", "block_id": block_id, "elements": elements })
}

/// The second step of escalating or stopping: the question (a [`said`]
/// block) and "do it now" or "cancel".
pub fn question_and_buttons(block_id: &str, target: &Target, escalate: bool) -> Vec<Value> {
    let (ask, yes, id) = if escalate {
        (format!("Escalate #{}? The next level is paged now.", target.incident), "Escalate now", ESCALATE_CONFIRMED)
    } else {
        let agent = target.agent.as_deref().unwrap_or("?");
        (
            format!(
                "Stop agent {agent}? Its SDK refuses its next actions, and its new runs are refused, until resumed."
            ),
            "Stop it now",
            STOP_CONFIRMED,
        )
    };
    vec![
        said(block_id, &ask),
        json!({
            "type": "actions", "block_id": block_id,
            "elements": [button(yes, id, target, Some("danger")), button("Cancel", CANCEL, target, None)],
        }),
    ]
}

/// The reason for resolving, typed into the message and sent with Enter.
pub fn reason_input(block_id: &str, target: &Target) -> Value {
    json!({
        "type": "input", "block_id": block_id, "dispatch_action": true,
        "label": { "type": "plain_text", "text": format!("Why is #{} resolved? (Enter resolves it)", target.incident) },
        "element": {
            "type": "plain_text_input", "action_id": RESOLVE_REASON, "min_length": 3, "max_length": 2000,
            "dispatch_action_config": { "trigger_actions_on": ["on_enter_pressed"] },
        },
    })
}

/// A line above an incident's buttons: what was done, or what is asked.
/// Its block id is `<block_id>:said`; the next [`replace`] takes it away.
pub fn said(block_id: &str, text: &str) -> Value {
    json!({
        "type": "section", "block_id": format!("{block_id}{SAID}"),
        "text": { "type": "plain_text", "text": clip(text, 3000), "emoji": false },
    })
}

const SAID: &str = ":said";

/// The incident's controls block that `block_id` (a click's) belongs to.
pub fn base(block_id: &str) -> &str {
    block_id.strip_suffix(SAID).unwrap_or(block_id)
}

/// Asking for the reason to resolve, with a way back.
pub fn reason_blocks(block_id: &str, target: &Target) -> Vec<Value> {
    vec![
        reason_input(block_id, target),
        json!({ "type": "actions", "block_id": format!("{block_id}{SAID}"), "elements": [button("Cancel", CANCEL, target, None)] }),
    ]
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_owned() } else { text.chars().take(max - 1).chain(['…']).collect() }
}

/// Reads one action of an interaction.
pub fn read(action_id: &str, block_id: &str, value: Option<&str>) -> Result<Click, String> {
    let target = || -> Result<Target, String> {
        if action_id == RESOLVE_REASON {
            // An input carries no value of ours: the incident is in the block id.
            let incident = block_id.split(':').nth(1).and_then(|n| n.parse().ok()).ok_or("no incident in block_id")?;
            return Ok(Target { incident, agent: None });
        }
        serde_json::from_str(value.ok_or("the button carries no value")?).map_err(|e| format!("its value: {e}"))
    };
    Ok(match action_id {
        ACKNOWLEDGE => Click::Acknowledge(target()?),
        ESCALATE => Click::Escalate(target()?),
        ESCALATE_CONFIRMED => Click::EscalateConfirmed(target()?),
        STOP | STOP_CONFIRMED => {
            let t = target()?;
            if t.agent.is_none() {
                return Err("a stop names its agent".into());
            }
            if action_id == STOP { Click::Stop(t) } else { Click::StopConfirmed(t) }
        }
        RESOLVE => Click::Resolve(target()?),
        RESOLVE_REASON => {
            let reason = value.map(str::trim).filter(|r| !r.is_empty()).ok_or("a resolution needs a reason")?;
            Click::Resolved(target()?, reason.to_owned())
        }
        CANCEL => Click::Cancel(target()?),
        other => return Err(format!("{other:?} is not one of Mandate's buttons")),
    })
}

/// `blocks` with the block `block_id` replaced by `with`; its [`said`]
/// line goes too.
pub fn replace(blocks: &[Value], block_id: &str, with: Vec<Value>) -> Vec<Value> {
    let question = format!("{block_id}{SAID}");
    let mut out = Vec::with_capacity(blocks.len() + with.len());
    let mut with = Some(with);
    for block in blocks {
        let id = block["block_id"].as_str().unwrap_or_default();
        if id == question {
            continue;
        }
        if id == block_id {
            out.extend(with.take().unwrap_or_default());
        } else {
            out.push(block.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_button_reads_back_as_what_it_asks() {
        let t = Target { incident: 12, agent: Some("deployer-7".into()) };
        let block = controls(&block_id(12, 0), &t);
        let ids: Vec<&str> =
            block["elements"].as_array().unwrap().iter().map(|b| b["action_id"].as_str().unwrap()).collect();
        assert_eq!(ids, [ACKNOWLEDGE, ESCALATE, STOP, RESOLVE]);
        let value = block["elements"][2]["value"].as_str().unwrap();
        assert_eq!(read(STOP, "mandate:12:0", Some(value)), Ok(Click::Stop(t.clone())));
        assert_eq!(
            read(RESOLVE_REASON, "mandate:12:0", Some(" rolled back ")),
            Ok(Click::Resolved(Target { incident: 12, agent: None }, "rolled back".into()))
        );
        assert!(read(RESOLVE_REASON, "mandate:12:0", Some("  ")).is_err());
        assert!(read("mandate_delete_everything", "mandate:12:0", Some(value)).is_err());
        assert!(read(STOP, "mandate:12:0", Some(r#"{"i":12}"#)).is_err(), "a stop without its agent");
    }

    #[test]
    fn replacing_a_block_keeps_the_rest_of_a_grouped_message() {
        let t = Target { incident: 3, agent: None };
        let blocks = vec![json!({"type": "header"}), controls("mandate:3:0", &t), controls("mandate:4:1", &t)];
        let asked = replace(&blocks, "mandate:3:0", question_and_buttons("mandate:3:0", &t, true));
        assert_eq!(asked.len(), 4);
        assert_eq!(asked[1]["block_id"], "mandate:3:0:said");
        let done = replace(&asked, "mandate:3:0", vec![said("mandate:3:0", "escalated")]);
        assert_eq!(done.len(), 3, "the question goes with the buttons");
        assert_eq!(done[1]["block_id"], "mandate:3:0:said");
        assert_eq!(done[2]["block_id"], "mandate:4:1");
        assert_eq!(base("mandate:3:0:said"), "mandate:3:0");
    }
}
