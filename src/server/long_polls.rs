//! Fair shares of waiting: a long poll holds a connection for up to 30 s, so
//! one caller could otherwise fill the connection table with waiters, which
//! are never evicted, and leave no room for anyone else, health checks
//! included. Each token may hold a quarter of the connection cap in long
//! polls, and all tokens together half of it: the other half is always left
//! for requests that answer at once. Past its share, a long poll is refused
//! with `429 TOO_MANY_LONG_POLLS` and `Retry-After`, logged with the token's
//! name and the client's address.
//!
//! Agents' control polls (their stops) are shared by agent, not by token: a
//! fleet of thousands of agents commonly shares one token, and every one of
//! them must hear a stop. Each agent may hold 4, all agents together five
//! eighths of the connection cap (10,240 at the default 16,384).

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
    /// Control polls one agent may hold at once.
    pub per_agent: usize,
    /// Control polls all agents together may hold at once.
    pub agents_total: usize,
    held: Mutex<[Held; 2]>,
}

/// Which shares a long poll counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pool {
    /// By token: the incident feed.
    Tokens = 0,
    /// By agent: agents' controls.
    Agents = 1,
}

#[derive(Debug, Default)]
struct Held {
    all: usize,
    by_key: HashMap<String, usize>,
}

/// A long poll's place; given back when dropped.
#[derive(Debug)]
pub struct Share {
    polls: Arc<LongPolls>,
    pool: Pool,
    key: String,
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut held = self.polls.held.lock();
        let held = &mut held[self.pool as usize];
        held.all = held.all.saturating_sub(1);
        if let Some(n) = held.by_key.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.by_key.remove(&self.key);
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
            per_agent: 4,
            agents_total: (max_connections / 8 * 5).max(4),
            held: Mutex::default(),
        }
    }

    /// Long polls held now: (by tokens: the incident feed and approvals,
    /// by agents: their SDKs' control polls).
    pub fn held(&self) -> (usize, usize) {
        let held = self.held.lock();
        (held[Pool::Tokens as usize].all, held[Pool::Agents as usize].all)
    }

    /// A place for one more long poll of `token` (a token's name), or the
    /// refusal; `client` is for the log.
    pub fn enter(self: &Arc<Self>, token: &str, client: Option<IpAddr>) -> Result<Share, ApiError> {
        self.take(Pool::Tokens, token, client)
    }

    /// A place for one more control poll of agent `agent`, or the refusal.
    pub fn enter_agent(self: &Arc<Self>, agent: &str, client: Option<IpAddr>) -> Result<Share, ApiError> {
        self.take(Pool::Agents, agent, client)
    }

    fn take(self: &Arc<Self>, pool: Pool, key: &str, client: Option<IpAddr>) -> Result<Share, ApiError> {
        let (per_key, total, whose) = match pool {
            Pool::Tokens => (self.per_token, self.total, "the token"),
            Pool::Agents => (self.per_agent, self.agents_total, "the agent"),
        };
        let mut all = self.held.lock();
        let held = &mut all[pool as usize];
        let mine = held.by_key.get(key).copied().unwrap_or(0);
        let refusal = if mine >= per_key {
            Some(format!("{whose} {key:?} holds {mine} long polls already, its share of this server"))
        } else if held.all >= total {
            Some(format!("{} long polls are waiting already, as many as this server keeps room for", held.all))
        } else {
            None
        };
        if let Some(why) = refusal {
            drop(all);
            let address = client.map(|c| c.to_string()).unwrap_or_default();
            tracing::warn!(key = key, client = %address, "long poll refused: {why}");
            return Err(ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                crate::api::ErrorType::InvalidRequest,
                "TOO_MANY_LONG_POLLS",
                format!("{why}; poll again after the time Retry-After gives, or with wait=0"),
            )
            .with_retry_after(2));
        }
        held.all += 1;
        *held.by_key.entry(key.to_owned()).or_insert(0) += 1;
        Ok(Share { polls: self.clone(), pool, key: key.to_owned() })
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

    #[test]
    fn agents_share_by_agent_not_by_token() {
        let polls = Arc::new(LongPolls::for_connections(64));
        assert_eq!((polls.per_agent, polls.agents_total), (4, 40));
        let feed: Vec<Share> = (0..16).map(|_| polls.enter("fleet", None).unwrap()).collect();
        assert!(polls.enter("fleet", None).is_err(), "the token's own share is full");
        let agents: Vec<Share> = (0..10).map(|i| polls.enter_agent(&format!("agent-{i}"), None).unwrap()).collect();
        // agent-0 holds one already: three more, then refused.
        let greedy: Vec<Share> = (0..3).map(|_| polls.enter_agent("agent-0", None).unwrap()).collect();
        let refused = polls.enter_agent("agent-0", None).unwrap_err();
        assert_eq!(refused.body.code, "TOO_MANY_LONG_POLLS");
        let more: Vec<Share> = (10..37).map(|i| polls.enter_agent(&format!("agent-{i}"), None).unwrap()).collect();
        assert!(polls.enter_agent("agent-99", None).is_err(), "five eighths of the cap in all");
        drop((feed, agents, greedy, more));
    }
}
