//! The database-outage bound: while the database is unreachable, every
//! request is answered within [`BOUND`], `503 DATABASE_UNAVAILABLE` with
//! `Retry-After`, however many waits on the database its handler makes.
//!
//! The handler runs as a task of its own. Past the bound, the request is
//! answered 503 as soon as the database has lately been found unreachable
//! (see [`crate::store::outage`]); the handler itself is never cancelled
//! half-way (a change it began ends as it would have), and a request that is
//! merely slow while the database answers is left to finish.

use super::ApiError;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Under the 3 s `docs/deploying.md` states, for the answer to travel.
pub const BOUND: Duration = Duration::from_millis(2_750);
/// How often, past the bound, a request still running looks again.
const RECHECK: Duration = Duration::from_millis(100);

/// Raised once the request's client is no longer waiting for its answer
/// (it went away, or was answered at the bound): work only it wanted, such
/// as decoding an export, may stop. In every request's extensions.
#[derive(Debug, Clone, Default)]
pub struct ClientGone(pub Arc<AtomicBool>);

impl ClientGone {
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Raises the flag when dropped: the middleware's future is dropped when
/// the connection closes.
struct RaiseOnDrop(Arc<AtomicBool>);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

pub async fn bounded(mut request: Request, next: Next) -> Response {
    let started = tokio::time::Instant::now();
    let gone = ClientGone::default();
    let _raise = RaiseOnDrop(gone.0.clone());
    request.extensions_mut().insert(gone);
    // In the request's span, so what the handler records (the principal)
    // reaches the request's log line.
    let mut handler = tokio::spawn(tracing::Instrument::in_current_span(next.run(request)));
    let mut deadline = started + BOUND;
    loop {
        match tokio::time::timeout_at(deadline, &mut handler).await {
            Ok(Ok(response)) => return response,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "a request handler panicked");
                return ApiError::internal().into_response();
            }
            Err(_) if crate::store::outage::unreachable_lately() => {
                tracing::warn!(waited_ms = started.elapsed().as_millis() as u64, "answered 503 at the outage bound");
                return unavailable().into_response();
            }
            Err(_) => deadline += RECHECK,
        }
    }
}

fn unavailable() -> ApiError {
    ApiError::database_unavailable(
        "the database is unavailable; retry after the time Retry-After gives (what the request began is not lost: \
         a retry of the same request is safe)",
    )
}
