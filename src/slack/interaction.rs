//! What Slack posts when someone clicks a button or submits an input in a
//! message (a `block_actions` payload, form-encoded as `payload=<JSON>`).
//! Only what Mandate uses is read; Slack's other fields are ignored.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Payload {
    #[serde(rename = "type")]
    pub kind: String,
    pub user: User,
    #[serde(default)]
    pub team: Option<Team>,
    #[serde(default)]
    pub channel: Option<Channel>,
    #[serde(default)]
    pub container: Option<Container>,
    /// The message clicked in, as it is now (its blocks are what is updated).
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub response_url: Option<String>,
    #[serde(default)]
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Team {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Channel {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Container {
    #[serde(default)]
    pub message_ts: Option<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub ts: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub blocks: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Action {
    pub action_id: String,
    #[serde(default)]
    pub block_id: String,
    /// A button's value, or the text typed in an input.
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub action_ts: String,
}

impl Payload {
    /// Reads a request body: `payload=<JSON>`, form-encoded.
    pub fn from_form(body: &[u8]) -> Result<Payload, String> {
        let json = form_urlencoded::parse(body)
            .find(|(k, _)| k == "payload")
            .map(|(_, v)| v.into_owned())
            .ok_or("the body has no payload field: Slack posts payload=<JSON>, form-encoded")?;
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(&json))
            .map_err(|e| format!("payload {}: {}", e.path(), e.inner()))
    }

    /// The channel and timestamp of the message clicked in.
    pub fn message_at(&self) -> Option<(String, String)> {
        let container = self.container.as_ref();
        let channel =
            container.and_then(|c| c.channel_id.clone()).or_else(|| self.channel.as_ref().map(|c| c.id.clone()));
        let ts = container.and_then(|c| c.message_ts.clone()).or_else(|| self.message.as_ref().map(|m| m.ts.clone()));
        channel.zip(ts)
    }
}
