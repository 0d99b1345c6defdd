//! A moment written in a configuration file (in the routing file: a freeze,
//! an on-call schedule or override, a rollout milestone): an RFC 3339 string, TOML's own unquoted
//! date and time with its offset, or a day alone (midnight UTC). One
//! without an offset is refused: whose midnight it would be is not said.
//! And a span written there: "90s", "5m", "2h", "7d".

use chrono::{DateTime, NaiveTime, Utc};
use serde::de::Error;
use serde::{Deserialize, Deserializer};

/// "90s", "5m", "2h", "1d" in seconds.
pub fn parse_duration(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = raw.split_at(split);
    let n: u64 = n.parse().ok()?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(unit)
}

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
