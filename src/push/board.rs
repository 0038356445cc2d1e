//! The live prop board of one process: which of its connections watch which props
//! (`social:watchProp`), and the wake-up of each watch when a change at its prop arrives
//! (from this process or another: every push names the props it touches).
//!
//! A watch is woken, not told what changed: it asks again what its user sees at the prop
//! and pushes only when the answer differs (see `api::prop_watch`). Wake-ups coalesce: a
//! burst of changes while a watch is still looking wakes it once more, not once each.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::FutureExt;
use tokio::sync::Notify;

use crate::domain::ids::UserId;
use crate::domain::session::Prop;
use crate::metrics;

/// One watch as the board holds it.
struct Entry {
    id: u64,
    user_id: UserId,
    woken: Arc<Notify>,
}

/// The watches of one prop.
type Watches = Vec<Entry>;

/// The watches of this process, by prop.
#[derive(Default)]
pub struct PropBoard {
    next_id: AtomicU64,
    by_prop: Mutex<HashMap<Prop, Watches>>,
}

/// One watch of a prop, registered with the board until dropped.
pub struct PropWatcher {
    board: Arc<PropBoard>,
    prop: Prop,
    id: u64,
    woken: Arc<Notify>,
}

impl PropBoard {
    fn lock(&self) -> MutexGuard<'_, HashMap<Prop, Watches>> {
        // A panic while holding this lock cannot leave the map half-changed.
        self.by_prop.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a watch of `prop` for `user_id`: from now on every change there wakes it.
    pub fn watch(self: &Arc<Self>, prop: Prop, user_id: &UserId) -> PropWatcher {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let woken = Arc::new(Notify::new());
        metrics::prop_watches_changed(1.0);
        self.lock().entry(prop.clone()).or_default().push(Entry {
            id,
            user_id: user_id.clone(),
            woken: Arc::clone(&woken),
        });
        PropWatcher {
            board: Arc::clone(self),
            prop,
            id,
            woken,
        }
    }

    /// Wakes every watch of these props.
    pub fn changed(&self, props: &[Prop]) {
        let by_prop = self.lock();
        for prop in props {
            for entry in by_prop.get(prop).into_iter().flatten() {
                entry.woken.notify_one();
            }
        }
    }

    /// Wakes every watch (changes may have been missed).
    pub fn wake_all(&self) {
        for entry in self.lock().values().flatten() {
            entry.woken.notify_one();
        }
    }

    /// Wakes every watch of `user_id` (what the user may see changed).
    pub fn wake_user(&self, user_id: &str) {
        for entry in self.lock().values().flatten() {
            if entry.user_id.as_str() == user_id {
                entry.woken.notify_one();
            }
        }
    }

    /// How many watches this process holds.
    pub fn watches(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }
}

impl PropWatcher {
    /// The watched prop.
    pub fn prop(&self) -> &Prop {
        &self.prop
    }

    /// Completes at the next change at the prop since the last one it completed for (at
    /// once when one came meanwhile).
    pub async fn changed(&self) {
        self.woken.notified().await;
    }

    /// Forgets a change that came meanwhile: a look about to start covers it.
    pub fn settle(&self) {
        let _ = self.woken.notified().now_or_never();
    }
}

impl Drop for PropWatcher {
    fn drop(&mut self) {
        metrics::prop_watches_changed(-1.0);
        let mut by_prop = self.board.lock();
        if let Some(watches) = by_prop.get_mut(&self.prop) {
            watches.retain(|entry| entry.id != self.id);
            if watches.is_empty() {
                by_prop.remove(&self.prop);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn prop(name: &str) -> Prop {
        Prop {
            room_id: "hall".to_owned(),
            prop_id: name.to_owned(),
        }
    }

    async fn woken(watcher: &PropWatcher) -> bool {
        tokio::time::timeout(Duration::from_millis(50), watcher.changed())
            .await
            .is_ok()
    }

    fn ada() -> UserId {
        UserId::from("ada")
    }

    #[tokio::test]
    async fn a_change_wakes_the_watches_of_its_props_once() {
        let board = Arc::new(PropBoard::default());
        let stage = board.watch(prop("stage"), &ada());
        let booth = board.watch(prop("booth"), &ada());
        board.changed(&[prop("stage")]);
        board.changed(&[prop("stage")]);
        assert!(woken(&stage).await);
        // Two changes before it looked: one wake-up.
        assert!(!woken(&stage).await);
        assert!(!woken(&booth).await);
    }

    #[tokio::test]
    async fn a_settled_watch_forgets_the_changes_before_it_looks() {
        let board = Arc::new(PropBoard::default());
        let stage = board.watch(prop("stage"), &ada());
        board.changed(&[prop("stage")]);
        stage.settle();
        assert!(!woken(&stage).await);
        board.changed(&[prop("stage")]);
        assert!(woken(&stage).await);
    }

    #[tokio::test]
    async fn a_user_s_watches_wake_for_that_user_only() {
        let board = Arc::new(PropBoard::default());
        let adas = board.watch(prop("stage"), &ada());
        let graces = board.watch(prop("stage"), &UserId::from("grace"));
        board.wake_user("ada");
        assert!(woken(&adas).await);
        assert!(!woken(&graces).await);
    }

    #[tokio::test]
    async fn a_dropped_watch_leaves_the_board() {
        let board = Arc::new(PropBoard::default());
        let first = board.watch(prop("stage"), &ada());
        let second = board.watch(prop("stage"), &ada());
        assert_eq!(board.watches(), 2);
        drop(first);
        assert_eq!(board.watches(), 1);
        drop(second);
        assert_eq!(board.watches(), 0);
        assert!(board.lock().is_empty());
    }
}
