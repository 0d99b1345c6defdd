//! Accepting connections so that hostile or broken clients cannot stall the
//! server: a client must send a request's headers within `header_timeout`
//! of connecting or of its previous answer (idle keep-alive included), and
//! at most `max_connections` are open at once. At the cap, the connection
//! that has waited longest for a request is closed to make room, so idle
//! and half-sent connections never lock out a real request; requests being
//! answered (long polls included) are never closed. Only when every
//! connection is busy is a new one refused, with a 503 that says so.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tower::ServiceExt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// The longest a connection may take to send a request's headers, from
    /// when it opened or was last answered.
    pub header_timeout: Duration,
    /// Wrong tokens allowed per client in 10 s before its requests get 429
    /// for 10 s; 0: no limit.
    pub failed_auth_limit: u32,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Requests per second per token (a second's worth may come at once);
    /// 0: no limit.
    pub token_rate: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: default_max_connections(),
            header_timeout: Duration::from_secs(10),
            failed_auth_limit: 20,
            trusted_proxies: Vec::new(),
            token_rate: 0,
        }
    }
}

/// 16,384, or less when this process may open fewer files: room is kept
/// for the database pools, logs and the listening sockets.
pub fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits").ok().and_then(|limits| {
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse::<usize>().ok()
    });
    match soft {
        Some(files) => files.saturating_sub(256).clamp(64, 16_384),
        None => 1_024,
    }
}

#[derive(Debug)]
struct Connection {
    /// Its client: the peer's address, an IPv6 one by its /64.
    client: IpAddr,
    opened: Instant,
    /// When it last started waiting for a request; None while one is answered.
    waiting_since: Option<Instant>,
    /// Whether it has been answered at least once (an idle keep-alive).
    answered: bool,
    evict: Option<oneshot::Sender<()>>,
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    open: HashMap<u64, Connection>,
    /// Open connections per client.
    per_client: HashMap<IpAddr, usize>,
}

impl Table {
    /// Makes room for one more connection from `newcomer`: an idle one is
    /// told to close, taken from the client holding the most connections
    /// (the newcomer's own included), the longest waiting among its own.
    /// A client's only connection that has not yet sent its first request
    /// and is still within `grace` (the header timeout) is never taken for
    /// another's: a real client that connects and then sends is not closed
    /// under it by someone opening connections. False when there is no room.
    fn make_room(&mut self, max: usize, newcomer: IpAddr, grace: Duration, now: Instant) -> bool {
        if self.open.len() < max {
            return true;
        }
        let holds =
            |client: &IpAddr| self.per_client.get(client).copied().unwrap_or(0) + usize::from(*client == newcomer);
        let victim = self
            .open
            .iter()
            .filter_map(|(id, c)| {
                let waiting = c.waiting_since?;
                let held = holds(&c.client);
                let protected = held == 1 && !c.answered && now.duration_since(c.opened) < grace;
                (!protected).then_some(((held, std::cmp::Reverse(waiting)), *id))
            })
            .max()
            .map(|(_, id)| id);
        match victim {
            Some(id) => {
                let mut victim = self.remove(id).expect("listed");
                tracing::debug!(client = %victim.client, "connection closed to make room");
                if let Some(evict) = victim.evict.take() {
                    let _ = evict.send(());
                }
                true
            }
            None => false,
        }
    }

    fn add(&mut self, client: IpAddr, evict: oneshot::Sender<()>, now: Instant) -> u64 {
        self.next += 1;
        let connection =
            Connection { client, opened: now, waiting_since: Some(now), answered: false, evict: Some(evict) };
        self.open.insert(self.next, connection);
        *self.per_client.entry(client).or_insert(0) += 1;
        self.next
    }

    fn remove(&mut self, id: u64) -> Option<Connection> {
        let connection = self.open.remove(&id)?;
        if let Some(n) = self.per_client.get_mut(&connection.client) {
            *n -= 1;
            if *n == 0 {
                self.per_client.remove(&connection.client);
            }
        }
        Some(connection)
    }

    fn set_waiting(&mut self, id: u64, waiting: bool) {
        if let Some(c) = self.open.get_mut(&id) {
            c.waiting_since = waiting.then(Instant::now);
            c.answered |= waiting;
        }
    }
}

/// Serves `app` on `listener` until `shutdown` fires, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<Arc<super::tls::Tls>>,
    shutdown: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let table = Arc::new(Mutex::new(Table::default()));
    let (closing, _) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: wait a little, never spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        while tasks.try_join_next().is_some() {}
        let (evict_tx, evict_rx) = oneshot::channel();
        let client = super::auth_throttle::client_of(peer.ip(), &hyper::HeaderMap::new(), &[]);
        let id = {
            let mut t = table.lock();
            let now = Instant::now();
            if !t.make_room(limits.max_connections, client, limits.header_timeout, now) {
                drop(t);
                tracing::warn!(client = %client, max = limits.max_connections, "connection refused: every connection is busy or protected");
                if tls.is_none() {
                    refuse(stream, limits.max_connections);
                }
                // Over TLS a refusal could only be said after a handshake:
                // the connection is closed, which clients retry the same way.
                continue;
            }
            t.add(client, evict_tx, now)
        };
        let _ = stream.set_nodelay(true);
        let (app, table, closing) = (app.clone(), table.clone(), closing.subscribe());
        match &tls {
            None => {
                tasks.spawn(connection(stream, peer, None, id, app, table, limits.clone(), evict_rx, closing));
            }
            Some(tls) => {
                let acceptor = tls.acceptor();
                let limits = limits.clone();
                tasks.spawn(async move {
                    // The handshake has the time the headers have: a client
                    // that opens and stalls is closed like any other.
                    match tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let cert = stream
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|c| c.first())
                                .map(super::tls::client_cert);
                            connection(stream, peer, cert, id, app, table, limits, evict_rx, closing).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %peer, "TLS handshake failed");
                            table.lock().remove(id);
                        }
                        Err(_) => {
                            table.lock().remove(id);
                        }
                    }
                });
            }
        }
    }
    closing.send_replace(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    client_cert: Option<super::tls::ClientCert>,
    id: u64,
    app: Router,
    table: Arc<Mutex<Table>>,
    limits: ConnectionLimits,
    evicted: oneshot::Receiver<()>,
    mut closing: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let marks = table.clone();
    let service = tower::service_fn(move |mut req: hyper::Request<Incoming>| {
        marks.lock().set_waiting(id, false);
        req.extensions_mut().insert(ConnectInfo(peer));
        if let Some(cert) = client_cert {
            req.extensions_mut().insert(cert);
        }
        let (app, marks) = (app.clone(), marks.clone());
        async move {
            let answer = match super::http_errors::headers_too_large(req.headers()) {
                Some(refusal) => Ok(refusal),
                None => app.oneshot(req).await,
            };
            marks.lock().set_waiting(id, true);
            answer
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(super::http_errors::JsonErrors::new(stream)), TowerToHyperService::new(service));
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = evicted => {}
        _ = async { closing.wait_for(|c| *c).await.map(|_| ()) } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
    table.lock().remove(id);
}

/// Every connection is answering a request: this one is told so and closed.
fn refuse(stream: TcpStream, max: usize) {
    let body = format!(
        "{{\"error_type\":\"unavailable\",\"code\":\"TOO_MANY_CONNECTIONS\",\"message\":\"all {max} connections are busy; retry shortly\"}}"
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    // Never wait on a client that does not read: one attempt, then close.
    let _ = stream.try_write(answer.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn open(t: &mut Table, client: &str, at: Instant) -> (u64, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        (t.add(ip(client), tx, at), rx)
    }

    const GRACE: Duration = Duration::from_secs(10);

    #[test]
    fn the_client_holding_most_makes_room_from_its_own() {
        let mut t = Table::default();
        let t0 = Instant::now();
        let (_real, mut real_rx) = open(&mut t, "192.0.2.1", t0);
        let mut flood: Vec<_> = (0..3).map(|_| open(&mut t, "198.51.100.9", t0 + Duration::from_millis(1))).collect();
        // The flood's own newcomer: one of its own is closed.
        assert!(t.make_room(4, ip("198.51.100.9"), GRACE, t0 + Duration::from_millis(50)));
        assert!(real_rx.try_recv().is_err(), "the real client's connection stays");
        assert_eq!(flood.iter_mut().map(|(_, rx)| rx.try_recv().is_ok()).filter(|closed| *closed).count(), 1);
    }

    #[test]
    fn a_fresh_only_connection_is_never_taken_for_another() {
        let mut t = Table::default();
        let t0 = Instant::now();
        let clients = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"];
        let _held: Vec<_> = clients.iter().map(|c| open(&mut t, c, t0)).collect();
        // Each holds one that has not sent yet, within the header timeout.
        assert!(!t.make_room(4, ip("203.0.113.1"), GRACE, t0 + Duration::from_secs(1)), "refused, none closed");
        // Past the header timeout they are fair game (hyper closes them too).
        assert!(t.make_room(4, ip("203.0.113.1"), GRACE, t0 + GRACE));
    }

    #[test]
    fn an_idle_keep_alive_makes_room_and_a_busy_one_never() {
        let mut t = Table::default();
        let t0 = Instant::now();
        let (kept, mut kept_rx) = open(&mut t, "192.0.2.1", t0);
        let (busy, _busy_rx) = open(&mut t, "192.0.2.2", t0);
        t.set_waiting(kept, false);
        t.set_waiting(kept, true);
        t.set_waiting(busy, false);
        assert!(t.make_room(2, ip("203.0.113.1"), GRACE, t0 + Duration::from_millis(10)));
        assert!(kept_rx.try_recv().is_ok(), "the idle keep-alive was closed");
        assert!(!t.make_room(1, ip("203.0.113.1"), GRACE, t0), "a request being answered is never closed");
    }
}
