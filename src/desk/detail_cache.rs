//! Incident detail, computed once per change. A war room has hundreds of
//! consoles on one incident: the first request after a change computes the
//! detail, the others wait for that computation and are sent the same bytes.
//!
//! The key is what the detail is computed from: the incident's version as
//! stored (read from the database on every request, so a server sharing it
//! with others never serves a detail older than the version the database
//! holds) and the configuration in memory (catalog, routing, agent
//! controls, learned rules). What a detail also reads but its incident's
//! version does not follow, the clock and other incidents (their verdicts
//! and patterns), is refreshed by computing again once a detail is
//! [`MAX_AGE`] old: once, for every reader.

use crate::api::{IncidentDetail, LearnedRule, Signature};
use crate::store::StoreError;
use axum::body::Bytes;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// How long a computed detail is served before it is computed again, for
/// what changes without its incident's version.
pub const MAX_AGE: Duration = Duration::from_secs(5);

/// Incidents whose detail is kept: more than one war room's worth.
const KEPT: usize = 64;

/// A detail as served: the value, its JSON and its strong ETag; and what
/// the background analysis after a change stores of it, so that it is not
/// computed a second time for that.
#[derive(Debug)]
pub struct ServedDetail {
    pub detail: IncidentDetail,
    pub json: Bytes,
    /// A digest of `json`, quoted, as the ETag header carries it.
    pub etag: String,
    /// The incident's pattern signature.
    pub(super) signature: Signature,
    /// The learned rule that decided its routing, if one did.
    pub(super) learned: Option<LearnedRule>,
    /// `json` gzipped, made by the first reader that accepts it.
    gzipped: std::sync::OnceLock<Bytes>,
}

impl ServedDetail {
    pub(super) fn new(detail: IncidentDetail, signature: Signature, learned: Option<LearnedRule>) -> ServedDetail {
        let json = Bytes::from(serde_json::to_vec(&detail).expect("a detail serializes"));
        let etag = etag_of(&json);
        ServedDetail { detail, json, etag, signature, learned, gzipped: Default::default() }
    }

    /// The JSON gzipped (about a tenth of it): compressed once, however
    /// many readers a war room has.
    pub fn gzipped(&self) -> Bytes {
        self.gzipped
            .get_or_init(|| {
                use std::io::Write;
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(&self.json).expect("writing to memory");
                Bytes::from(encoder.finish().expect("writing to memory"))
            })
            .clone()
    }

    /// The ETag of the gzipped representation (a strong ETag names one
    /// representation).
    pub fn gzipped_etag(&self) -> String {
        format!("{}-gz\"", self.etag.trim_end_matches('"'))
    }
}

/// The strong ETag of a body: a digest of it, quoted.
pub fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32])
}

/// What one detail was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    version: i64,
    config: u64,
}

struct Slot {
    key: Key,
    started: Instant,
    cell: Arc<OnceCell<Option<Arc<ServedDetail>>>>,
    /// Insertion order, for eviction.
    used: u64,
}

/// Reads of one incident's version, grouped: a read is shared only by
/// requests that arrived before it began, so none is answered with a
/// version older than what was committed when it arrived (on a database
/// several servers share, another server's change may not have been heard
/// yet). When a wake-up brings a thousand requests at once, the first
/// begins a read and the rest share the one after it: two reads, not a
/// thousand.
#[derive(Default)]
struct VersionReads {
    /// The read requests join until it begins.
    next: Option<(VersionRead, Arc<AtomicBool>)>,
}

type VersionRead = Shared<BoxFuture<'static, Result<Option<i64>, Arc<StoreError>>>>;

#[derive(Default)]
pub struct DetailCache {
    slots: Mutex<HashMap<i64, Slot>>,
    versions: Mutex<HashMap<i64, VersionReads>>,
    clock: std::sync::atomic::AtomicU64,
    /// Details computed: for tests and benchmarks to see what was reused.
    computed: std::sync::atomic::AtomicU64,
}

impl DetailCache {
    /// Details computed since the server started.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// Incident `id`'s version, as `read` gives it: read after this call
    /// began, shared with the calls that arrived before that read began.
    pub async fn version(
        &self,
        id: i64,
        read: impl FnOnce() -> BoxFuture<'static, Result<Option<i64>, StoreError>>,
    ) -> Result<Option<i64>, StoreError> {
        let shared = {
            let mut versions = self.versions.lock();
            if versions.len() >= KEPT * 4 && !versions.contains_key(&id) {
                versions.retain(|_, r| r.next.as_ref().is_some_and(|(_, begun)| !begun.load(Ordering::SeqCst)));
            }
            let reads = versions.entry(id).or_default();
            match &reads.next {
                Some((shared, begun)) if !begun.load(Ordering::SeqCst) => shared.clone(),
                previous => {
                    // After the read before it, so reads of one incident do
                    // not pile up on the pool.
                    let previous = previous.as_ref().map(|(p, _)| p.clone());
                    let begun = Arc::new(AtomicBool::new(false));
                    let flag = begun.clone();
                    let read = read();
                    let shared = async move {
                        if let Some(previous) = previous {
                            let _ = previous.await;
                        }
                        flag.store(true, Ordering::SeqCst);
                        read.await.map_err(Arc::new)
                    }
                    .boxed()
                    .shared();
                    reads.next = Some((shared.clone(), begun));
                    shared
                }
            }
        };
        shared.await.map_err(|e| match Arc::try_unwrap(e) {
            Ok(e) => e,
            // The others sharing a failed read fail as it did: retry later
            // when the database was unavailable, an internal error else.
            Err(shared) => {
                let e = sqlx::Error::Protocol(format!("a shared read of the incident's version failed: {shared}"));
                match *shared {
                    StoreError::Unavailable(_) => StoreError::Unavailable(e),
                    _ => StoreError::Other(e),
                }
            }
        })
    }

    /// The detail of incident `id` at `version` with configuration `config`:
    /// computed by the first caller, awaited by the others, computed again
    /// once it is [`MAX_AGE`] old. A failure is not kept.
    pub async fn detail<F, Fut, E>(
        &self,
        id: i64,
        version: i64,
        config: u64,
        compute: F,
    ) -> Result<Option<Arc<ServedDetail>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<ServedDetail>, E>>,
    {
        let key = Key { version, config };
        let cell = {
            let mut slots = self.slots.lock();
            let used = self.clock.fetch_add(1, Ordering::Relaxed);
            match slots.get_mut(&id) {
                Some(slot) if slot.key == key && slot.started.elapsed() < MAX_AGE => {
                    slot.used = used;
                    slot.cell.clone()
                }
                // An older request (it read an older version) is served the
                // newer detail: never older than what it read.
                Some(slot)
                    if slot.key.version > version && slot.key.config >= config && slot.started.elapsed() < MAX_AGE =>
                {
                    slot.used = used;
                    slot.cell.clone()
                }
                _ => {
                    super::make_room(&mut slots, id, KEPT, |s| s.used);
                    let cell = Arc::new(OnceCell::new());
                    slots.insert(id, Slot { key, started: Instant::now(), cell: cell.clone(), used });
                    cell
                }
            }
        };
        let computed = &self.computed;
        let served = cell
            .get_or_try_init(|| async {
                computed.fetch_add(1, Ordering::Relaxed);
                Ok(compute().await?.map(Arc::new))
            })
            .await;
        served.cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> ServedDetail {
        let detail = serde_json::from_str(include_str!("../../tests/fixtures/incident_detail.json")).unwrap();
        ServedDetail::new(detail, Signature::default(), None)
    }

    #[tokio::test]
    async fn one_computation_serves_every_waiter_and_a_new_version_computes_again() {
        let cache = Arc::new(DetailCache::default());
        let detail = example;
        let mut waiters = Vec::new();
        for _ in 0..50 {
            let cache = cache.clone();
            waiters.push(tokio::spawn(async move {
                cache
                    .detail(7, 3, 0, || async {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(Some(detail()))
                    })
                    .await
                    .unwrap()
                    .unwrap()
                    .etag
                    .clone()
            }));
        }
        let mut tags = Vec::new();
        for w in waiters {
            tags.push(w.await.unwrap());
        }
        assert!(tags.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(cache.computed(), 1, "fifty readers of one version share one computation");
        cache.detail(7, 4, 0, || async { Ok::<_, ()>(Some(detail())) }).await.unwrap();
        assert_eq!(cache.computed(), 2, "a new version is computed");
        cache.detail(7, 4, 1, || async { Ok::<_, ()>(Some(detail())) }).await.unwrap();
        assert_eq!(cache.computed(), 3, "a new configuration is computed");
        cache.detail(7, 3, 1, || async { Ok::<_, ()>(Some(detail())) }).await.unwrap();
        assert_eq!(cache.computed(), 3, "a request that read an older version is served the newer detail");
        cache.detail(7, 3, 2, || async { Ok::<_, ()>(Some(example())) }).await.unwrap();
        assert_eq!(cache.computed(), 4, "but not one computed with an older configuration");
    }

    #[tokio::test]
    async fn version_reads_are_shared_only_by_callers_that_arrived_before_they_began() {
        use std::sync::atomic::AtomicI64;
        let cache = Arc::new(DetailCache::default());
        let stored = Arc::new(AtomicI64::new(1));
        let reads = Arc::new(AtomicI64::new(0));
        let read = |stored: Arc<AtomicI64>, reads: Arc<AtomicI64>| {
            move || -> BoxFuture<'static, Result<Option<i64>, StoreError>> {
                Box::pin(async move {
                    reads.fetch_add(1, Ordering::SeqCst);
                    let v = stored.load(Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    Ok(Some(v))
                })
            }
        };
        // A thousand callers at once: the first read, and one shared by the rest.
        let callers: Vec<_> = (0..1000)
            .map(|_| {
                let (cache, stored, reads) = (cache.clone(), stored.clone(), reads.clone());
                tokio::spawn(async move { cache.version(9, read(stored, reads)).await.unwrap() })
            })
            .collect();
        for c in callers {
            assert_eq!(c.await.unwrap(), Some(1));
        }
        assert!(reads.load(Ordering::SeqCst) <= 2, "{} reads", reads.load(Ordering::SeqCst));
        // A read in flight when the version moves is not shared by a caller
        // that arrives after the change: it gets a read of its own.
        let before = reads.load(Ordering::SeqCst);
        let early = {
            let (cache, stored, reads) = (cache.clone(), stored.clone(), reads.clone());
            tokio::spawn(async move { cache.version(9, read(stored, reads)).await.unwrap() })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        stored.store(2, Ordering::SeqCst);
        let late = cache.version(9, read(stored.clone(), reads.clone())).await.unwrap();
        assert_eq!(early.await.unwrap(), Some(1));
        assert_eq!(late, Some(2), "never the version from before the caller arrived");
        assert_eq!(reads.load(Ordering::SeqCst) - before, 2);
    }

    #[tokio::test]
    async fn a_failure_is_not_kept() {
        let cache = DetailCache::default();
        assert!(cache.detail(1, 1, 0, || async { Err::<Option<ServedDetail>, _>("down") }).await.is_err());
        let again = cache.detail(1, 1, 0, || async { Ok::<_, &str>(Some(example())) }).await;
        assert!(again.unwrap().is_some());
    }
}
