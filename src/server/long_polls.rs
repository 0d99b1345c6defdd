//! Fair shares of waiting: a long poll holds a connection for up to 30 s, so
//! one caller could otherwise fill the connection table with waiters, which
//! are never evicted, and leave no room for anyone else, health checks
//! included. Each token may hold a quarter of the connection cap in long
//! polls, and all tokens together half of it: the other half is always left
//! for requests that answer at once. Past its share, a long poll is refused
//! with `429 TOO_MANY_LONG_POLLS` and `Retry-After`, logged with the token's
//! name and the client's address.

use super::ApiError;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Debug)]
pub struct LongPolls {
    /// Long polls one token may hold at once.
    pub per_token: usize,
    /// Long polls all tokens together may hold at once.
    pub total: usize,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    all: usize,
    by_token: HashMap<String, usize>,
}

/// A long poll's place; given back when dropped.
#[derive(Debug)]
pub struct Share {
    polls: Arc<LongPolls>,
    token: String,
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut held = self.polls.held.lock();
        held.all = held.all.saturating_sub(1);
        if let Some(n) = held.by_token.get_mut(&self.token) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.by_token.remove(&self.token);
            }
        }
    }
}

impl LongPolls {
    /// The shares for a server that holds `max_connections` at once.
    pub fn for_connections(max_connections: usize) -> LongPolls {
        LongPolls {
            per_token: (max_connections / 4).max(2),
            total: (max_connections / 2).max(4),
            held: Mutex::default(),
        }
    }

    /// A place for one more long poll of `token` (a token's name), or the
    /// refusal; `client` is for the log.
    pub fn enter(self: &Arc<Self>, token: &str, client: Option<IpAddr>) -> Result<Share, ApiError> {
        let mut held = self.held.lock();
        let mine = held.by_token.get(token).copied().unwrap_or(0);
        let refusal = if mine >= self.per_token {
            Some(format!("the token {token:?} holds {mine} long polls already, its share of this server"))
        } else if held.all >= self.total {
            Some(format!("{} long polls are waiting already, as many as this server keeps room for", held.all))
        } else {
            None
        };
        if let Some(why) = refusal {
            drop(held);
            let address = client.map(|c| c.to_string()).unwrap_or_default();
            tracing::warn!(token = token, client = %address, "long poll refused: {why}");
            return Err(ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                crate::api::ErrorType::InvalidRequest,
                "TOO_MANY_LONG_POLLS",
                format!("{why}; poll again after the time Retry-After gives, or with wait=0"),
            )
            .with_retry_after(2));
        }
        held.all += 1;
        *held.by_token.entry(token.to_owned()).or_insert(0) += 1;
        Ok(Share { polls: self.clone(), token: token.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_holds_its_share_and_all_together_half_the_cap() {
        let polls = Arc::new(LongPolls::for_connections(16));
        assert_eq!((polls.per_token, polls.total), (4, 8));
        let viewer: Vec<Share> = (0..4).map(|_| polls.enter("viewer", None).unwrap()).collect();
        let refused = polls.enter("viewer", None).unwrap_err();
        assert_eq!((refused.status.as_u16(), refused.body.code.as_str()), (429, "TOO_MANY_LONG_POLLS"));
        let others: Vec<Share> = (0..4).map(|i| polls.enter(&format!("t{i}"), None).unwrap()).collect();
        assert!(polls.enter("late", None).is_err(), "half the cap in all");
        drop(viewer);
        assert!(polls.enter("viewer", None).is_ok(), "given back when the polls end");
        drop(others);
    }
}
