//! Deleting an event with its sessions: several writes, ordered so that a crash between
//! any two of them leaves nothing half-deleted for clients to see, and idempotent so that
//! the next attempt finishes the work.
//!
//! 1. The event is marked (`Store::begin_event_deletion`): from that write on, the event
//!    is gone for every query, and so are its sessions (a session whose event is gone is
//!    seen by nobody).
//! 2. Its sessions are deleted one by one, each deletion pushed to its audience.
//! 3. The event document is deleted, then its sessions once more (one created by a request
//!    that read the event before step 1).
//!
//! A deletion interrupted after step 1 is finished by [`finish_interrupted_deletions`],
//! which every process runs at start-up, before it serves, and then every few minutes.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::state::AppState;
use crate::domain::change::SessionChange;
use crate::domain::ids::EventId;
use crate::domain::time::Timestamp;
use crate::store::StoreResult;

/// How often a process looks for deletions that another (crashed) process began.
const SWEEP_INTERVAL: Duration = Duration::from_secs(300);

/// Deletes `event_id` and its sessions (steps 1–3 above). The caller has checked that the
/// user may.
pub async fn delete_event(app: &AppState, event_id: &EventId) -> StoreResult<()> {
    app.store
        .begin_event_deletion(event_id, Timestamp::now())
        .await?;
    finish_deletion(app, event_id).await
}

/// Steps 2 and 3 for an event whose deletion began. Idempotent.
async fn finish_deletion(app: &AppState, event_id: &EventId) -> StoreResult<()> {
    delete_sessions(app, event_id).await?;
    app.store.delete_event(event_id).await?;
    delete_sessions(app, event_id).await
}

/// Deletes the event's sessions one by one, pushing each deletion to its audience.
async fn delete_sessions(app: &AppState, event_id: &EventId) -> StoreResult<()> {
    for session in app.store.sessions_of_event(event_id).await? {
        if app.store.delete_session(&session.id).await? {
            app.pushes.publish(SessionChange::deleted(&session)).await;
        }
    }
    Ok(())
}

/// Finishes every deletion that began and was interrupted (by a crash, or a database
/// failure part-way); answers how many it finished. One that fails again is logged and
/// left for the next round; the others go on.
pub async fn finish_interrupted_deletions(app: &AppState) -> StoreResult<usize> {
    let mut finished = 0;
    for event_id in app.store.events_being_deleted().await? {
        match finish_deletion(app, &event_id).await {
            Ok(()) => {
                tracing::info!(event = %event_id, "finished an interrupted event deletion");
                finished += 1;
            }
            Err(error) => {
                tracing::warn!(event = %event_id, %error, "cannot finish an event deletion yet")
            }
        }
    }
    Ok(finished)
}

/// Runs [`finish_interrupted_deletions`] every [`SWEEP_INTERVAL`] until `shutdown` (the
/// start-up runs it once before serving); failures are logged and tried again at the next
/// round.
pub async fn sweep_interrupted_deletions(app: Arc<AppState>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(SWEEP_INTERVAL) => {}
        }
        if let Err(error) = finish_interrupted_deletions(&app).await {
            tracing::warn!(%error, "cannot finish interrupted event deletions; will retry");
        }
    }
}
