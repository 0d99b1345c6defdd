//! A moment written in a configuration file (in the routing file: a freeze,
//! an on-call schedule or override, a rollout milestone): an RFC 3339 string, TOML's own unquoted
//! date and time with its offset, or a day alone (midnight UTC). One
//! without an offset is refused: whose midnight it would be is not said.

use chrono::{DateTime, NaiveTime, Utc};
use serde::de::Error;
use serde::{Deserialize, Deserializer};

/// For `#[serde(deserialize_with = "…::moment::required")]`.
pub fn required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Text(String),
        Toml(toml::value::Datetime),
    }
    let written = Written::deserialize(deserializer).map_err(|_| {
        D::Error::custom("expected a date and time such as \"2026-12-14T00:00:00Z\", or a day such as 2026-12-14")
    })?;
    let text = match written {
        Written::Text(text) => text,
        Written::Toml(datetime) => datetime.to_string(),
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(&text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        return Ok(day.and_time(NaiveTime::MIN).and_utc());
    }
    if chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f").is_ok() {
        return Err(D::Error::custom(format!("{text} has no offset: add Z for UTC, or one such as +01:00")));
    }
    Err(D::Error::custom(format!(
        "{text:?} is not a date and time such as \"2026-12-14T00:00:00Z\", nor a day such as 2026-12-14"
    )))
}

/// For an optional moment: with `#[serde(default, deserialize_with = "…::moment::optional")]`.
pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    required(deserializer).map(Some)
}
