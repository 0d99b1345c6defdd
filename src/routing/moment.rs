//! A moment written in the routing file (a freeze, an on-call schedule or
//! override, a rollout milestone): an RFC 3339 string, TOML's own unquoted
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

#[cfg(test)]
mod tests {
    use crate::routing::Routing;
    use chrono::{DateTime, Utc};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// The built-in routing with `section` added.
    fn read(section: &str) -> Result<Routing, String> {
        Routing::from_toml(&format!("{}\n{section}\n", super::super::BUILTIN), "routing.toml")
            .map_err(|e| e.to_string())
    }

    #[test]
    fn dates_are_read_quoted_unquoted_or_as_a_day_and_a_missing_offset_is_named() {
        for date in [
            "\"2026-12-14T00:00:00Z\"",
            "2026-12-14T00:00:00Z",
            "2026-12-14T01:00:00+01:00",
            "2026-12-14",
            "\"2026-12-14\"",
        ] {
            let routing =
                read(&format!("[attribution]\nhard_fail_begins = {date}")).unwrap_or_else(|e| panic!("{date}: {e}"));
            let plan = routing.document().attribution.clone().unwrap();
            assert_eq!(plan.hard_fail_begins, Some(at("2026-12-14T00:00:00Z")), "{date}");
            // A freeze is written the same way.
            let routing = read(&format!("[[change_freeze]]\nfrom = {date}\nuntil = 2026-12-15"))
                .unwrap_or_else(|e| panic!("{date}: {e}"));
            assert_eq!(routing.document().change_freeze[0].from, at("2026-12-14T00:00:00Z"), "{date}");
        }
        let e = read("[attribution]\nhard_fail_begins = 2026-12-14T00:00:00").unwrap_err();
        assert!(e.contains("attribution.hard_fail_begins") && e.contains("has no offset: add Z"), "{e}");
        let e = read("[attribution]\nsoft_fail_begins = \"next monday\"").unwrap_err();
        assert!(e.contains("attribution.soft_fail_begins") && e.contains("\"next monday\" is not a date"), "{e}");
        let e = read("[attribution]\nshadow_begins = 12").unwrap_err();
        assert!(e.contains("attribution.shadow_begins") && e.contains("expected a date and time"), "{e}");
        let e = read("[[change_freeze]]\nfrom = 2026-12-14T09:00:00\nuntil = 2026-12-15").unwrap_err();
        assert!(e.contains("change_freeze[0].from") && e.contains("has no offset"), "{e}");
    }
}
