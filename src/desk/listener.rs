//! Hears every change committed on a shared database (PostgreSQL LISTEN on
//! `mandate_changes`, sent by the `desk_head` row's trigger at commit), so
//! long polls on this server wake when another server changes an incident.
//! Notifications sent while the connection was down are lost: after every
//! (re)connection the head is read from the database, and since versions
//! only move forward, a client's `since` catches up and never skips.

use super::Desk;
use crate::store::{Head, StoreError, listen};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The wait before connecting again after a failure.
const RETRY: Duration = Duration::from_secs(1);

pub(super) fn spawn(desk: Weak<Desk>) {
    tokio::spawn(async move {
        loop {
            let Some(url) = desk.upgrade().map(|d| d.store.url().to_owned()) else { return };
            let mut listener = match listen(&url).await {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for other servers' changes; retrying");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            let mut read_head = true;
            loop {
                if read_head {
                    let Some(desk) = desk.upgrade() else { return };
                    if let Err(e) = desk.store.read_head().await.map(|head| apply(&desk, head)) {
                        tracing::warn!(error = %e, "cannot read where the database stands");
                    }
                }
                let heard = listener.try_recv().await;
                let Some(desk) = desk.upgrade() else { return };
                match heard {
                    Ok(Some(notification)) => {
                        read_head = false;
                        match Head::from_payload(notification.payload()) {
                            Some(head) => apply(&desk, head),
                            None => tracing::warn!(payload = notification.payload(), "unreadable change notification"),
                        }
                    }
                    // The connection was lost; the next call connects again,
                    // then the head is read for what was missed.
                    Ok(None) => {
                        tracing::warn!("lost the connection that hears other servers' changes; reconnecting");
                        read_head = true;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot hear other servers' changes; reconnecting");
                        tokio::time::sleep(RETRY).await;
                        break;
                    }
                }
            }
        }
    });
}

/// What another server committed, applied here; configuration is read again
/// off the listening task, so notifications keep flowing meanwhile.
fn apply(desk: &Arc<Desk>, head: Head) {
    let desk = desk.clone();
    if head.writer == desk.instance {
        return;
    }
    desk.publish(head.version);
    let paging = desk.paging.heard.swap(head.paging, std::sync::atomic::Ordering::Relaxed);
    if paging != head.paging {
        desk.paging.wake.notify_one();
    }
    let config = desk.config.heard.swap(head.config_version, std::sync::atomic::Ordering::Relaxed);
    if config == head.config_version {
        return;
    }
    tokio::spawn(async move {
        if let Err(e) = reload_if_changed(&desk, head.config_version).await {
            tracing::warn!(error = %e, "cannot read the changed configuration; the next change reads it");
        }
    });
}

async fn reload_if_changed(desk: &Desk, config_version: i64) -> Result<(), StoreError> {
    let mut state = desk.state.lock().await;
    if config_version == state.config_version {
        return Ok(());
    }
    // Under the lock, so a change begun here sees what was read.
    let current = desk.store.read_head().await?;
    desk.reload_config().await?;
    state.config_version = current.config_version;
    Ok(())
}
