//! A map whose entries age out: each remembers when it was last written, and entries older
//! than the map's lifetime are dropped once the map holds many (at most once a second, so
//! that a busy map does not scan itself on every write). Used where memory must stay
//! bounded but an entry's age matters to its reader.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Entries beyond which expired ones are dropped.
const PRUNE_AT: usize = 10_000;
/// Least pause between two prunings.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// String-keyed values with the instant each was last written.
#[derive(Debug)]
pub struct AgingMap<V> {
    lifetime: Duration,
    state: Mutex<State<V>>,
}

#[derive(Debug)]
struct State<V> {
    entries: HashMap<String, (Instant, V)>,
    pruned_at: Instant,
}

impl<V> AgingMap<V> {
    /// A map whose entries are kept at least `lifetime` after their last write.
    pub fn new(lifetime: Duration) -> Self {
        AgingMap {
            lifetime,
            state: Mutex::new(State {
                entries: HashMap::new(),
                pruned_at: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<V>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the entry of `key`: `value` of the current one (`None` when absent).
    pub fn write(&self, key: &str, value: impl FnOnce(Option<&V>) -> V) {
        let now = Instant::now();
        let mut state = self.lock();
        if state.entries.len() >= PRUNE_AT && now.duration_since(state.pruned_at) >= PRUNE_EVERY {
            let lifetime = self.lifetime;
            state
                .entries
                .retain(|_, (written_at, _)| now.duration_since(*written_at) < lifetime);
            state.pruned_at = now;
        }
        match state.entries.get_mut(key) {
            Some(entry) => *entry = (now, value(Some(&entry.1))),
            None => {
                let value = value(None);
                state.entries.insert(key.to_owned(), (now, value));
            }
        }
    }

    /// What `read` makes of the entry of `key`, if any.
    pub fn read<R>(&self, key: &str, read: impl FnOnce(&V) -> R) -> Option<R> {
        self.lock().entries.get(key).map(|(_, value)| read(value))
    }

    /// Removes the entry of `key`: its value and how long ago it was written.
    pub fn remove(&self, key: &str) -> Option<(Duration, V)> {
        self.lock()
            .entries
            .remove(key)
            .map(|(written_at, value)| (written_at.elapsed(), value))
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.lock().entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_written_from_the_current_one_and_removed_with_its_age() {
        let map = AgingMap::new(Duration::from_secs(60));
        map.write("a", |current| current.copied().unwrap_or(0) + 1);
        map.write("a", |current| current.copied().unwrap_or(0) + 1);
        assert_eq!(map.read("a", |value| *value), Some(2));
        let (age, value) = map.remove("a").unwrap();
        assert_eq!(value, 2);
        assert!(age < Duration::from_secs(60));
        assert_eq!(map.read("a", |value| *value), None);
        map.write("b", |_| 1);
        map.clear();
        assert!(map.remove("b").is_none());
    }
}
