//! The looks of one user at one prop, shared by all their watches of it on this process:
//! a watch woken by a change takes the answer of a look that began after it was woken,
//! when another of them took one, so that a user's cost per change is one look per prop
//! whatever their number of connections.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::sessions::{PropView, prop_sessions};
use crate::domain::ids::UserId;
use crate::domain::session::Prop;
use crate::error::ApiError;
use crate::store::Store;

/// The last look of one user at one prop, shared by their watches of it: when it began,
/// and what it found.
pub type LookSlot = tokio::sync::Mutex<Option<(tokio::time::Instant, Arc<PropView>)>>;

/// The looks of this process's watches, one slot per user and prop while a watch of
/// them runs.
#[derive(Default)]
pub struct SharedLooks {
    slots: Mutex<HashMap<(UserId, Prop), Weak<LookSlot>>>,
}

impl SharedLooks {
    /// The slot of `user_id`'s looks at `prop`, kept while a watch holds it.
    pub fn slot(&self, user_id: &UserId, prop: &Prop) -> Arc<LookSlot> {
        // No slot map can be left half-changed by a panic.
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (user_id.clone(), prop.clone());
        if let Some(slot) = slots.get(&key).and_then(Weak::upgrade) {
            return slot;
        }
        // Slots of watches that ended are of no more use.
        if slots.len() >= 1024 {
            slots.retain(|_, slot| slot.strong_count() > 0);
        }
        let slot = Arc::new(LookSlot::default());
        slots.insert(key, Arc::downgrade(&slot));
        slot
    }
}

/// What `user_id` sees at `prop` now, as a look that began at or after `covering_from`
/// found it: one already taken by another watch of theirs, or a new one.
pub async fn look(
    store: &Store,
    slot: &LookSlot,
    user_id: &UserId,
    prop: &Prop,
    covering_from: tokio::time::Instant,
) -> Result<Arc<PropView>, ApiError> {
    let mut last = slot.lock().await;
    if let Some((began, view)) = last.as_ref()
        && *began >= covering_from
    {
        crate::metrics::prop_look_shared();
        return Ok(Arc::clone(view));
    }
    let began = tokio::time::Instant::now();
    crate::metrics::prop_looked_at();
    let view = Arc::new(prop_sessions(store, user_id, prop).await?);
    *last = Some((began, Arc::clone(&view)));
    Ok(view)
}
