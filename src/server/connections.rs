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
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
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
    /// When it last started waiting for a request; None while one is answered.
    waiting_since: Option<Instant>,
    evict: Option<oneshot::Sender<()>>,
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    open: HashMap<u64, Connection>,
}

impl Table {
    /// Makes room for one more: the longest-waiting idle connection is told
    /// to close. False when every connection is busy.
    fn make_room(&mut self, max: usize) -> bool {
        if self.open.len() < max {
            return true;
        }
        let oldest = self.open.iter().filter_map(|(id, c)| Some((c.waiting_since?, *id))).min().map(|(_, id)| id);
        match oldest.and_then(|id| self.open.remove(&id)) {
            Some(mut victim) => {
                if let Some(evict) = victim.evict.take() {
                    let _ = evict.send(());
                }
                true
            }
            None => false,
        }
    }

    fn set_waiting(&mut self, id: u64, waiting: bool) {
        if let Some(c) = self.open.get_mut(&id) {
            c.waiting_since = waiting.then(Instant::now);
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
        let id = {
            let mut t = table.lock().unwrap_or_else(|p| p.into_inner());
            if !t.make_room(limits.max_connections) {
                drop(t);
                if tls.is_none() {
                    refuse(stream, limits.max_connections);
                }
                // Over TLS a refusal could only be said after a handshake:
                // the connection is closed, which clients retry the same way.
                continue;
            }
            t.next += 1;
            let id = t.next;
            t.open.insert(id, Connection { waiting_since: Some(Instant::now()), evict: Some(evict_tx) });
            id
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
                            table.lock().unwrap_or_else(|p| p.into_inner()).open.remove(&id);
                        }
                        Err(_) => {
                            table.lock().unwrap_or_else(|p| p.into_inner()).open.remove(&id);
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
        marks.lock().unwrap_or_else(|p| p.into_inner()).set_waiting(id, false);
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
            marks.lock().unwrap_or_else(|p| p.into_inner()).set_waiting(id, true);
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
    table.lock().unwrap_or_else(|p| p.into_inner()).open.remove(&id);
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
