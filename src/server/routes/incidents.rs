//! Incidents: the list (with the long-poll change feed) and the detail.

use crate::api::{ErrorBody, IncidentDetail, IncidentPage, IncidentStatus};
use crate::server::auth::{Caller, Permission};
use crate::server::list_cache::ListKey;
use crate::server::request::Query;
use crate::server::{ApiError, AppState};
use crate::store::decode_incident_cursor;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The longest a long poll may wait.
pub const MAX_WAIT_SECONDS: u32 = 30;

/// Incidents, newest first. With `since=VERSION&wait=SECONDS` it answers as
/// soon as the version differs from VERSION, or 304 at the deadline.
#[utoipa::path(
    get, path = "/api/v1/incidents", tag = "incidents",
    params(
        ("status" = Option<IncidentStatus>, Query),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "default 100"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("since" = Option<i64>, Query, description = "the version the caller has"),
        ("wait" = Option<u32>, Query, minimum = 0, maximum = 30, description = "seconds to wait for a change after `since`"),
        ("changed_after" = Option<i64>, Query, description = "only incidents changed after this version, oldest change first; `version` then says how far the page reaches"),
    ),
    responses(
        (status = 200, body = IncidentPage),
        (status = 304, description = "Nothing newer than `since` within `wait`, or the ETag matched"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_incidents(
    State(state): State<AppState>,
    caller: Caller,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw.as_deref())?;
    let status = match query.take("status") {
        None => None,
        Some(raw) => Some(IncidentStatus::parse(&raw).ok_or_else(|| {
            ApiError::invalid_request(
                "INVALID_PARAMETER",
                format!("status must be one of: {}", IncidentStatus::allowed()),
            )
            .with_field("status")
        })?),
    };
    let limit = query.take_number("limit", 1..=500, 100)?;
    let cursor = match query.take("cursor") {
        None => None,
        Some(raw) => Some(decode_incident_cursor(&raw).ok_or_else(|| {
            ApiError::invalid_request("INVALID_CURSOR", "cursor is not a next_cursor this server returned")
                .with_field("cursor")
        })?),
    };
    let since = query.take_version("since")?;
    let wait = query.take_number("wait", 0..=MAX_WAIT_SECONDS, 0)?;
    let changed_after = query.take_version("changed_after")?;
    query.finish(&["status", "limit", "cursor", "since", "wait", "changed_after"])?;

    if let Some(since) = since {
        let mut feed = FeedWait::new(&state, wait, &caller, peer.map(|p| p.0.0.ip()))?;
        // Any other version answers at once: newer, or older when the
        // server's history was reset under the client.
        if feed.seen() == since && !feed.moved().await? {
            return Ok(StatusCode::NOT_MODIFIED.into_response());
        }
    }
    // Read before the query: whatever the page holds is at least this new.
    let version = state.desk().version();
    // Receivers change with the routing file, not the version.
    let routing = state.desk().routing();
    let receivers = routing.receivers().channels();
    let key = ListKey { version, query: format!("{status:?} {cursor:?} {limit} {changed_after:?} {receivers:?}") };
    let body = state
        .list_cache()
        .page(key, || async {
            let (incidents, version, next_cursor) = match changed_after {
                Some(after) => {
                    let (mut changed, upto) = state.store().incidents_changed_after(after, limit).await?;
                    // The page is read by version; status and cursor narrow what
                    // it lists, and the version still says how far it was read.
                    changed.retain(|i| {
                        status.is_none_or(|s| i.status == s)
                            && cursor.is_none_or(|(ms, id)| (i.started_at.timestamp_millis(), i.id) < (ms, id))
                    });
                    // A whole page reaches as far as the caller had, even
                    // when this server has not yet heard of a change another
                    // server made: the feed never goes back.
                    (changed, upto.unwrap_or(version.max(after)), None)
                }
                None => {
                    let (list, next) = state.store().list_incidents(status, cursor, limit).await?;
                    (list, version, next)
                }
            };
            let counts = state.store().status_counts().await?;
            let paging = Some(state.desk().paging_health().await?);
            let watch = state.store().watch_list().await?;
            let page = IncidentPage { incidents, version, counts, next_cursor, paging, watch };
            Ok(Bytes::from(serde_json::to_vec(&page).map_err(|_| ApiError::internal())?))
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Everything about one incident: timeline with gaps, blast radius, causal
/// analysis, suggestions, top 3, pattern. Computed once per change of the
/// incident and served to every reader from that result. With
/// `since=VERSION&wait=SECONDS` it answers as soon as the incident's version
/// differs from VERSION; at the deadline, 304, or the detail when it differs
/// from the caller's If-None-Match (what follows the clock and other
/// incidents, such as a pattern or a verdict on a shared cause).
#[utoipa::path(
    get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(
        ("id" = i64, Path),
        ("since" = Option<i64>, Query, description = "the incident's version the caller has"),
        ("wait" = Option<u32>, Query, minimum = 0, maximum = 30, description = "seconds to wait for the incident to change after `since`"),
    ),
    responses(
        (status = 200, body = IncidentDetail),
        (status = 304, description = "The ETag matched, or the incident did not change after `since` within `wait`"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_incident(
    State(state): State<AppState>,
    caller: Caller,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let id = parse_incident_id(&id)?;
    let mut query = Query::parse(raw.as_deref())?;
    let since = query.take_version("since")?;
    let wait = query.take_number("wait", 0..=MAX_WAIT_SECONDS, 0)?;
    query.finish(&["since", "wait"])?;
    let desk = state.desk();
    let has = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    // Whether the caller asked to wait and the incident is still at `since`.
    let mut unchanged = false;
    if let Some(since) = since {
        let mut feed = FeedWait::new(&state, wait, &caller, peer.map(|p| p.0.0.ip()))?;
        loop {
            feed.seen();
            match desk.incident_version(id).await? {
                None => return Err(incident_not_found(id)),
                // Any other version answers at once: newer, or older when
                // the server's history was reset under the client.
                Some(version) if version != since => break,
                Some(_) => {}
            }
            if !feed.moved().await? {
                unchanged = true;
                break;
            }
        }
    }
    let served = desk.incident_detail(id).await?.ok_or_else(|| incident_not_found(id))?;
    state.access_log().looked(&caller.0, "incident_detail", format!("incident:{id}"));
    // Slow links and war rooms: the detail gzipped to whoever accepts it.
    let gzip = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(accepts_gzip);
    let tag = if gzip { served.gzipped_etag() } else { served.etag.clone() };
    let matched = has.as_deref().is_some_and(|tags| crate::server::etag::names(tags, &tag));
    // A waiter whose incident moved gets the new version even when its
    // content is the same, so its next wait starts from there.
    let moved = since.is_some() && !unchanged;
    let etag = HeaderValue::from_str(&tag).map_err(|_| ApiError::internal())?;
    let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
    if (matched && !moved) || (unchanged && has.is_none()) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag), vary]).into_response());
    }
    let json = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if gzip {
        let encoding = (header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return Ok(([json, (header::ETAG, etag), vary, encoding], served.gzipped()).into_response());
    }
    Ok(([json, (header::ETAG, etag), vary], served.json.clone()).into_response())
}

/// The draft postmortem of a resolved incident, in Markdown: its summary,
/// impact, timeline (first error, detection, each page with its delay, each
/// intervention and note, the resolution), root cause with the verdicts and
/// disputes, the suggestions shown and whether they were acted on, its
/// pattern and rules, open questions when the cause is undetermined, and
/// action items to fill. Every line comes from the record.
#[utoipa::path(
    get, path = "/api/v1/incidents/{id}/postmortem", tag = "incidents",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The draft", content_type = "text/markdown", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "Not resolved yet", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn postmortem(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let id = parse_incident_id(&id)?;
    let served = state.desk().incident_detail(id).await?.ok_or_else(|| incident_not_found(id))?;
    let d = &served.detail;
    if d.summary.status != IncidentStatus::Resolved {
        return Err(ApiError::conflict(
            "INCIDENT_NOT_RESOLVED",
            format!("incident #{id} is {}: a postmortem is drafted once it is resolved", d.summary.status),
        ));
    }
    state.access_log().looked(&caller.0, "postmortem", format!("incident:{id}"));
    let markdown = crate::incident::postmortem::draft(d);
    let kind = (header::CONTENT_TYPE, HeaderValue::from_static("text/markdown; charset=utf-8"));
    Ok(([kind], markdown).into_response())
}

/// Whether an Accept-Encoding header accepts gzip: named, and not with
/// `q=0` (which refuses it).
fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        parts.next() == Some("gzip")
            && !parts.any(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()) == Some(0.0))
    })
}

/// A long poll's wait on the change feed: until it moves past what was
/// seen, or the deadline passes; a server shutting down does not hold its
/// waiters (503).
pub(super) struct FeedWait<T = i64> {
    changes: tokio::sync::watch::Receiver<T>,
    closing: tokio::sync::watch::Receiver<bool>,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// The caller's share of long polls, held while it waits.
    _share: Option<crate::server::long_polls::Share>,
}

impl FeedWait {
    /// A wait on the change feed of `wait_seconds` for `caller` (at
    /// `client`), within its share of long polls (none is taken for a wait of 0).
    pub(super) fn new(
        state: &AppState,
        wait_seconds: u32,
        caller: &Caller,
        client: Option<IpAddr>,
    ) -> Result<FeedWait, ApiError> {
        FeedWait::on(state.desk().subscribe(), state, wait_seconds, caller, client)
    }
}

impl<T: Clone> FeedWait<T> {
    /// `new`, waiting on `changes` instead of the change feed.
    pub(super) fn on(
        changes: tokio::sync::watch::Receiver<T>,
        state: &AppState,
        wait_seconds: u32,
        caller: &Caller,
        client: Option<IpAddr>,
    ) -> Result<FeedWait<T>, ApiError> {
        let share = match wait_seconds {
            0 => None,
            _ => Some(state.long_polls().enter(&caller.0.name, client)?),
        };
        Ok(FeedWait::holding(changes, state, wait_seconds, share))
    }

    /// A wait of `wait_seconds` on `changes` in the long-poll place `share`.
    pub(super) fn holding(
        changes: tokio::sync::watch::Receiver<T>,
        state: &AppState,
        wait_seconds: u32,
        share: Option<crate::server::long_polls::Share>,
    ) -> FeedWait<T> {
        FeedWait {
            changes,
            closing: state.closing(),
            deadline: Box::pin(tokio::time::sleep(Duration::from_secs(u64::from(wait_seconds)))),
            _share: share,
        }
    }

    /// What it waits on, now; `moved` waits for a change.
    pub(super) fn seen(&mut self) -> T {
        self.changes.borrow_and_update().clone()
    }

    /// Whether it moved (else the deadline passed).
    pub(super) async fn moved(&mut self) -> Result<bool, ApiError> {
        tokio::select! {
            changed = self.changes.changed() => Ok(changed.is_ok()),
            _ = &mut self.deadline => Ok(false),
            _ = self.closing.wait_for(|c| *c) => Err(shutting_down()),
        }
    }
}

fn shutting_down() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        crate::api::ErrorType::Unavailable,
        "SHUTTING_DOWN",
        "the server is shutting down; retry shortly",
    )
}

pub fn parse_incident_id(raw: &str) -> Result<i64, ApiError> {
    parse_positive_id("incident", raw)
}

/// A numeric id from a path: a positive number, or 400 naming `what`.
pub fn parse_positive_id(what: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::invalid_request("INVALID_PARAMETER", format!("{what} id must be a positive number, not {raw:?}"))
            .with_field("id")
    })
}

pub fn incident_not_found(id: i64) -> ApiError {
    ApiError::not_found("INCIDENT_NOT_FOUND", format!("no incident #{id}")).with_field("id")
}
