//! Versions said out loud. Every answer carries the server's version
//! (`Mandate-Version`) and the API versions it serves (`Mandate-Api`);
//! every SDK says its name and version (`Mandate-Sdk: python/0.2.0`).
//!
//! **The SDK window** (seed 004 §16.4: "backward compatible API for 2
//! versions"). A release is a minor version (0.2, 0.3, …). A server serves
//! SDKs of its own release and the two before it; the oldest of the three
//! is *deprecated*: served, with a `Mandate-Sdk-Warning` the SDK logs once,
//! as the next release will refuse it. Older SDKs are refused with
//! `SDK_UNSUPPORTED`, naming the minimum version. An SDK newer than the
//! server is served (the API is additive within v1). A request that does
//! not say it comes from an SDK (curl, the console, Alertmanager) is
//! served as it is; one whose `Mandate-Sdk` cannot be read is served with
//! a warning, never refused for that alone. Operators may raise the bounds
//! (`--sdk-minimum`, `--sdk-deprecated-below`).

use super::error::ApiError;
use super::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// This server's version.
pub const SERVER: &str = env!("CARGO_PKG_VERSION");
/// The API versions this server serves.
pub const API: &str = "v1";

pub const VERSION_HEADER: HeaderName = HeaderName::from_static("mandate-version");
pub const API_HEADER: HeaderName = HeaderName::from_static("mandate-api");
pub const SDK_HEADER: HeaderName = HeaderName::from_static("mandate-sdk");
pub const WARNING_HEADER: HeaderName = HeaderName::from_static("mandate-sdk-warning");

/// MAJOR.MINOR.PATCH, with any pre-release or build suffix ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    pub fn parse(text: &str) -> Option<Version> {
        let core = text.trim().trim_start_matches('v').split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let mut next = || -> Option<u64> {
            let part = parts.next()?;
            if part.is_empty() || part.len() > 9 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let version = Version(next()?, next()?, next().unwrap_or(0));
        parts.next().is_none().then_some(version)
    }

    /// The release `back` releases before this one's (its minor), if any.
    fn releases_before(self, back: u64) -> Version {
        Version(self.0, self.1.saturating_sub(back), 0)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Which SDK versions this server serves, warns, refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkWindow {
    /// Older is refused.
    pub minimum: Version,
    /// Older (and not below the minimum) is served with a warning.
    pub deprecated_below: Version,
}

impl SdkWindow {
    /// This release and the two before it; the oldest deprecated.
    pub fn of(server: Version) -> SdkWindow {
        SdkWindow { minimum: server.releases_before(2), deprecated_below: server.releases_before(1) }
    }

    pub fn default_for_this_server() -> SdkWindow {
        SdkWindow::of(Version::parse(SERVER).expect("the crate's version is MAJOR.MINOR.PATCH"))
    }

    /// The window with an operator's bounds: each only raises.
    pub fn raised(self, minimum: Option<Version>, deprecated_below: Option<Version>) -> SdkWindow {
        let minimum = minimum.map_or(self.minimum, |m| m.max(self.minimum));
        let deprecated_below =
            deprecated_below.map_or(self.deprecated_below, |d| d.max(self.deprecated_below)).max(minimum);
        SdkWindow { minimum, deprecated_below }
    }

    pub fn judge(&self, sdk: &SdkSaid) -> Judgement {
        match sdk {
            SdkSaid::Nothing => Judgement::Served,
            SdkSaid::Unreadable(raw) => Judgement::Warned(format!(
                "this server (mandate {SERVER}) cannot read the SDK version {raw:?}: served, but it cannot say whether it supports that SDK; send `Mandate-Sdk: NAME/MAJOR.MINOR.PATCH`"
            )),
            SdkSaid::Sdk { name, version } if *version < self.minimum => Judgement::Refused(format!(
                "{name} SDK {version} is older than this server (mandate {SERVER}) serves: upgrade it to {} or later",
                self.minimum
            )),
            SdkSaid::Sdk { name, version } if *version < self.deprecated_below => Judgement::Warned(format!(
                "{name} SDK {version} is deprecated: this server (mandate {SERVER}) still serves it, its next release will not; upgrade it to {} or later",
                self.deprecated_below
            )),
            SdkSaid::Sdk { .. } => Judgement::Served,
        }
    }
}

/// What a request says about the SDK that sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkSaid {
    /// Not an SDK (or one from before the header, which says nothing).
    Nothing,
    /// `Mandate-Sdk` present and not NAME/VERSION: kept printable and short.
    Unreadable(String),
    Sdk {
        name: String,
        version: Version,
    },
}

impl SdkSaid {
    pub fn of(headers: &HeaderMap) -> SdkSaid {
        if let Some(value) = headers.get(SDK_HEADER) {
            let raw = String::from_utf8_lossy(value.as_bytes()).into_owned();
            return Self::parse(&raw).unwrap_or_else(|| {
                SdkSaid::Unreadable(raw.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(64).collect())
            });
        }
        // The Python and TypeScript SDKs from before the header say who
        // they are in User-Agent (the Rust SDK's said `mandate/`, as the
        // console does: not told apart).
        let agent = headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let first = agent.split_whitespace().next().unwrap_or_default();
        let name = match first.split_once('/') {
            Some(("mandate-python", _)) => "python",
            Some(("mandate-node", _)) => "typescript",
            _ => return SdkSaid::Nothing,
        };
        first
            .split_once('/')
            .and_then(|(_, v)| Version::parse(v))
            .map_or(SdkSaid::Nothing, |version| SdkSaid::Sdk { name: name.into(), version })
    }

    fn parse(raw: &str) -> Option<SdkSaid> {
        let (name, version) = raw.trim().split_once('/')?;
        let name_ok =
            !name.is_empty() && name.len() <= 32 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let version = Version::parse(version)?;
        name_ok.then(|| SdkSaid::Sdk { name: name.to_owned(), version })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Served,
    Warned(String),
    Refused(String),
}

/// Says the versions on every answer, and holds SDKs to the window.
pub async fn say(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let judgement = state.sdk_window().judge(&SdkSaid::of(request.headers()));
    let mut response = match &judgement {
        Judgement::Refused(message) => ApiError::invalid_request("SDK_UNSUPPORTED", message.clone()).into_response(),
        _ => next.run(request).await,
    };
    let headers = response.headers_mut();
    headers.insert(VERSION_HEADER, HeaderValue::from_static(SERVER));
    headers.insert(API_HEADER, HeaderValue::from_static(API));
    if let Judgement::Warned(message) = judgement
        && let Ok(value) = HeaderValue::from_str(&message)
    {
        headers.insert(WARNING_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdk(name: &str, version: &str) -> SdkSaid {
        SdkSaid::Sdk { name: name.into(), version: Version::parse(version).unwrap() }
    }

    #[test]
    fn a_release_serves_its_sdks_and_the_two_before_warning_the_oldest() {
        let window = SdkWindow::of(Version(0, 5, 1));
        assert_eq!(window.judge(&sdk("python", "0.5.0")), Judgement::Served);
        assert_eq!(window.judge(&sdk("python", "0.4.9")), Judgement::Served);
        assert_eq!(window.judge(&sdk("python", "0.9.0")), Judgement::Served, "newer SDKs are served");
        let Judgement::Warned(warning) = window.judge(&sdk("python", "0.3.2")) else { panic!() };
        assert!(
            warning.starts_with("python SDK 0.3.2 is deprecated") && warning.ends_with("upgrade it to 0.4.0 or later")
        );
        let Judgement::Refused(refusal) = window.judge(&sdk("typescript", "0.2.7")) else { panic!() };
        assert!(refusal.starts_with("typescript SDK 0.2.7 is older than this server"), "{refusal}");
        assert!(refusal.ends_with("upgrade it to 0.3.0 or later"), "{refusal}");
        assert_eq!(window.judge(&SdkSaid::Nothing), Judgement::Served);
    }

    #[test]
    fn operators_only_raise_the_bounds() {
        let window = SdkWindow::of(Version(0, 5, 0));
        let raised = window.raised(Some(Version(0, 4, 2)), None);
        assert_eq!(raised.minimum, Version(0, 4, 2));
        assert_eq!(raised.deprecated_below, Version(0, 4, 2), "never below the minimum");
        assert_eq!(window.raised(Some(Version(0, 1, 0)), None), window, "a lower bound changes nothing");
    }

    #[test]
    fn a_garbled_sdk_header_is_unreadable_and_an_old_user_agent_still_counts() {
        let mut headers = HeaderMap::new();
        headers.insert(SDK_HEADER, HeaderValue::from_static("python/zero.two"));
        assert_eq!(SdkSaid::of(&headers), SdkSaid::Unreadable("python/zero.two".into()));
        headers.insert(SDK_HEADER, HeaderValue::from_bytes("py\u{202e}thon/1.2.3".as_bytes()).unwrap());
        assert_eq!(SdkSaid::of(&headers), SdkSaid::Unreadable("python/1.2.3".into()), "a bidi override never passes");
        assert!(matches!(SdkWindow::of(Version(0, 2, 0)).judge(&SdkSaid::of(&headers)), Judgement::Warned(_)));
        let mut headers = HeaderMap::new();
        headers.insert(SDK_HEADER, HeaderValue::from_static("python/0.2.0"));
        assert_eq!(SdkSaid::of(&headers), sdk("python", "0.2.0"));
        let mut headers = HeaderMap::new();
        headers.insert(axum::http::header::USER_AGENT, HeaderValue::from_static("mandate-python/0.1.0"));
        assert_eq!(SdkSaid::of(&headers), sdk("python", "0.1.0"));
        headers.insert(axum::http::header::USER_AGENT, HeaderValue::from_static("curl/8.5.0"));
        assert_eq!(SdkSaid::of(&headers), SdkSaid::Nothing);
        assert_eq!(Version::parse("1.2"), Some(Version(1, 2, 0)));
        assert_eq!(Version::parse("1.2.3.4"), None);
        assert_eq!(Version::parse("0.2.0-rc.1"), Some(Version(0, 2, 0)));
    }
}
