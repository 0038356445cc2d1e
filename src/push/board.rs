//! The live prop board of one process: which of its connections watch which props
//! (`social:watchProp`), and the wake-up of each watch when a change at its prop arrives
//! (from this process or another: every push names the props it touches).
//!
//! A watch is woken, not told what changed: it asks again what its user sees at the prop
//! and pushes only when the answer differs (see `app::prop_board::watches`). Wake-ups coalesce: a
//! burst of changes while a watch is still looking wakes it once more, not once each.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::FutureExt;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::domain::ids::UserId;
use crate::domain::session::Prop;
use crate::metrics;

/// Most watches one user holds in one process, over all of their connections (each looks
/// on every change at its prop).
pub const MAX_WATCHES_PER_USER: usize = 64;

/// The wake-up of one watch, and when the last change that woke it came.
#[derive(Debug)]
struct Wake {
    notify: Notify,
    at: Mutex<Instant>,
}

/// One watch as the board holds it: its id and wake-up.
type Entry = (u64, Arc<Wake>);

/// The watches of this process, by prop and by user.
#[derive(Default)]
struct Watches {
    by_prop: HashMap<Prop, Vec<Entry>>,
    by_user: HashMap<UserId, Vec<Entry>>,
}

/// The watches of this process.
#[derive(Default)]
pub struct PropBoard {
    next_id: AtomicU64,
    watches: Mutex<Watches>,
}

/// One watch of a prop, registered with the board until dropped.
pub struct PropWatcher {
    board: Arc<PropBoard>,
    prop: Prop,
    user_id: UserId,
    id: u64,
    woken: Arc<Wake>,
}

impl PropBoard {
    fn lock(&self) -> MutexGuard<'_, Watches> {
        // A panic while holding this lock cannot leave the maps half-changed.
        self.watches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a watch of `prop` for `user_id`: from now on every change there wakes it.
    /// `None` when the user holds [`MAX_WATCHES_PER_USER`] already.
    pub fn watch(self: &Arc<Self>, prop: Prop, user_id: &UserId) -> Option<PropWatcher> {
        let mut watches = self.lock();
        if watches.by_user.get(user_id).map_or(0, Vec::len) >= MAX_WATCHES_PER_USER {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let woken = Arc::new(Wake {
            notify: Notify::new(),
            at: Mutex::new(Instant::now()),
        });
        metrics::prop_watches_changed(1.0);
        let entry = (id, Arc::clone(&woken));
        watches
            .by_prop
            .entry(prop.clone())
            .or_default()
            .push(entry.clone());
        watches
            .by_user
            .entry(user_id.clone())
            .or_default()
            .push(entry);
        Some(PropWatcher {
            board: Arc::clone(self),
            prop,
            user_id: user_id.clone(),
            id,
            woken,
        })
    }

    /// Wakes every watch of these props.
    pub fn changed(&self, props: &[Prop]) {
        let watches = self.lock();
        for prop in props {
            wake(watches.by_prop.get(prop));
        }
    }

    /// Wakes every watch (changes may have been missed).
    pub fn wake_all(&self) {
        for entries in self.lock().by_prop.values() {
            wake(Some(entries));
        }
    }

    /// Wakes every watch of `user_id` (what the user may see changed).
    pub fn wake_user(&self, user_id: &str) {
        wake(self.lock().by_user.get(user_id));
    }

    /// How many watches this process holds.
    pub fn watches(&self) -> usize {
        self.lock().by_prop.values().map(Vec::len).sum()
    }
}

/// Wakes `entries`, all with the same time of the change.
fn wake(entries: Option<&Vec<Entry>>) {
    let now = Instant::now();
    for (_, woken) in entries.into_iter().flatten() {
        *woken.at.lock().unwrap_or_else(PoisonError::into_inner) = now;
        woken.notify.notify_one();
    }
}

/// Removes the watch `id` from the entries under `key`, and the key once it has none.
fn remove<K: std::hash::Hash + Eq + std::borrow::Borrow<Q>, Q: std::hash::Hash + Eq + ?Sized>(
    map: &mut HashMap<K, Vec<Entry>>,
    key: &Q,
    id: u64,
) {
    if let Some(entries) = map.get_mut(key) {
        entries.retain(|(entry_id, _)| *entry_id != id);
        if entries.is_empty() {
            map.remove(key);
        }
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
        self.woken.notify.notified().await;
    }

    /// Forgets a change that came meanwhile: a look about to start covers it.
    pub fn settle(&self) {
        let _ = self.woken.notify.notified().now_or_never();
    }

    /// When the last change that woke this watch came (every watch woken by the same
    /// change has the same time): a look that began since covers it.
    pub fn last_woken(&self) -> Instant {
        *self.woken.at.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for PropWatcher {
    fn drop(&mut self) {
        metrics::prop_watches_changed(-1.0);
        let mut watches = self.board.lock();
        remove(&mut watches.by_prop, &self.prop, self.id);
        remove(&mut watches.by_user, self.user_id.as_str(), self.id);
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
        let stage = board.watch(prop("stage"), &ada()).unwrap();
        let booth = board.watch(prop("booth"), &ada()).unwrap();
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
        let stage = board.watch(prop("stage"), &ada()).unwrap();
        board.changed(&[prop("stage")]);
        stage.settle();
        assert!(!woken(&stage).await);
        board.changed(&[prop("stage")]);
        assert!(woken(&stage).await);
    }

    #[tokio::test]
    async fn a_user_s_watches_wake_for_that_user_only() {
        let board = Arc::new(PropBoard::default());
        let adas = board.watch(prop("stage"), &ada()).unwrap();
        let graces = board.watch(prop("stage"), &UserId::from("grace")).unwrap();
        board.wake_user("ada");
        assert!(woken(&adas).await);
        assert!(!woken(&graces).await);
    }

    #[tokio::test]
    async fn a_dropped_watch_leaves_the_board() {
        let board = Arc::new(PropBoard::default());
        let first = board.watch(prop("stage"), &ada()).unwrap();
        let second = board.watch(prop("stage"), &ada()).unwrap();
        assert_eq!(board.watches(), 2);
        drop(first);
        assert_eq!(board.watches(), 1);
        drop(second);
        assert_eq!(board.watches(), 0);
        let watches = board.lock();
        assert!(watches.by_prop.is_empty() && watches.by_user.is_empty());
    }
}
