//! Per-user limits of one server process: how many connections a user may hold open, how
//! many of their requests are worked on at once over all of them, and the rate that all
//! of a user's connections share — each frame and each upgrade takes from it (by size,
//! see `rate`), and so does each request of theirs to an HTTP route (a calendar
//! invitation).
//! HTTP routes without a user have rates of their own, per holder (a calendar feed, a
//! client address: see [`Admission::route_key`]), as large as a user's. A user who opens more connections, or opens them again and again, gets no more
//! throughput, and one user's flood is refused without slowing anybody else. A user's rate
//! is kept after their last connection closes until it has refilled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::Semaphore;

use super::rate::{RateLimiter, tokens_for_answer, tokens_for_frame};
use super::settings::ConnectionLimits;
use crate::domain::ids::UserId;

/// Seconds a client refused for holding too many connections is asked to wait
/// (`Retry-After`).
pub const RETRY_AFTER_SECONDS: u64 = 10;

/// Admissions between two sweeps of the users whose rate has refilled.
const SWEEP_EVERY: u64 = 256;

/// The per-user limits and what each user currently uses.
pub struct Admission {
    max_connections: usize,
    requests_per_second: u32,
    burst: u32,
    max_in_flight: usize,
    users: Mutex<HashMap<UserId, Usage>>,
    admissions: std::sync::atomic::AtomicU64,
}

/// Why an upgrade is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The user holds the most connections allowed.
    TooManyConnections,
    /// The user is over their rate.
    RateLimited,
}

/// One user's open connections, shared rate and shared slots for requests worked on.
struct Usage {
    connections: usize,
    rate: Arc<Mutex<RateLimiter>>,
    in_flight: Arc<Semaphore>,
    replays: Arc<Semaphore>,
}

/// One admitted connection: counts against its user's connections until dropped, takes
/// its frames from its user's shared rate, and works on them in its user's shared slots.
pub struct Admitted {
    admission: Arc<Admission>,
    user_id: UserId,
    rate: Arc<Mutex<RateLimiter>>,
    in_flight: Arc<Semaphore>,
    replays: Arc<Semaphore>,
}

impl Admission {
    pub fn new(limits: &ConnectionLimits) -> Arc<Admission> {
        Arc::new(Admission {
            max_connections: limits.max_connections_per_user,
            requests_per_second: limits.requests_per_second,
            burst: limits.burst,
            max_in_flight: limits.max_in_flight,
            users: Mutex::new(HashMap::new()),
            admissions: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn users(&self) -> MutexGuard<'_, HashMap<UserId, Usage>> {
        // A panic while holding this lock cannot leave the map half-changed.
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The usage of `key`, created when it has none; every [`SWEEP_EVERY`] calls, keys
    /// without connections whose rate has refilled are forgotten.
    fn usage_of<'a>(
        &self,
        users: &'a mut HashMap<UserId, Usage>,
        key: &UserId,
        now: Instant,
    ) -> &'a mut Usage {
        let admissions = self
            .admissions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if admissions.is_multiple_of(SWEEP_EVERY) {
            users.retain(|_, usage| usage.connections > 0 || !usage.rate_is_full(now));
        }
        users.entry(key.clone()).or_insert_with(|| Usage {
            connections: 0,
            rate: Arc::new(Mutex::new(RateLimiter::new(
                self.requests_per_second,
                self.burst,
                now,
            ))),
            in_flight: Arc::new(Semaphore::new(self.max_in_flight)),
            replays: Arc::new(Semaphore::new(1)),
        })
    }

    /// Takes one request to an HTTP route from the rate of `key`: a user (their rate is
    /// the one their connections share) or a route's holder ([`Admission::route_key`]).
    /// `None` when over it; else what charges the answer's bytes to the same rate.
    pub fn take(&self, key: &UserId) -> Option<AnswerCharge> {
        let now = Instant::now();
        let mut users = self.users();
        let usage = self.usage_of(&mut users, key, now);
        lock(&usage.rate)
            .try_acquire(now)
            .then(|| AnswerCharge(Arc::clone(&usage.rate)))
    }

    /// The rate key of `holder` (a feed's token hash, a client address) at the HTTP route
    /// `route`: never a user id, since user ids hold no control characters.
    pub fn route_key(route: &str, holder: &str) -> UserId {
        UserId::from(format!("\u{1}{route}:{holder}"))
    }

    /// Admits one more connection of `user_id`, taking one from the user's rate; refused
    /// when the user holds the most connections allowed already or is over the rate.
    pub fn admit(self: &Arc<Self>, user_id: &UserId) -> Result<Admitted, Refusal> {
        let now = Instant::now();
        let mut users = self.users();
        let usage = self.usage_of(&mut users, user_id, now);
        if usage.connections >= self.max_connections {
            return Err(Refusal::TooManyConnections);
        }
        if !lock(&usage.rate).try_acquire(now) {
            return Err(Refusal::RateLimited);
        }
        usage.connections += 1;
        Ok(Admitted {
            admission: Arc::clone(self),
            user_id: user_id.clone(),
            rate: Arc::clone(&usage.rate),
            in_flight: Arc::clone(&usage.in_flight),
            replays: Arc::clone(&usage.replays),
        })
    }
}

impl Usage {
    fn rate_is_full(&self, now: Instant) -> bool {
        lock(&self.rate).is_full(now)
    }
}

impl Admitted {
    /// Takes one frame from the user's shared rate; false when the user is over it.
    pub fn try_acquire(&self, now: Instant) -> bool {
        self.try_take_frame(0, now)
    }

    /// Takes a frame of `bytes` from the user's shared rate (see [`tokens_for_frame`]);
    /// false when the user is over it.
    pub fn try_take_frame(&self, bytes: usize, now: Instant) -> bool {
        lock(&self.rate).try_take(tokens_for_frame(bytes), now)
    }

    /// The slots in which the user's requests are worked on, over all their connections;
    /// a request holds its slot until its answer is written to the socket.
    pub fn request_slots(&self) -> Arc<Semaphore> {
        Arc::clone(&self.in_flight)
    }

    /// The user's turn to have missed pushes replayed (`?resumeAfter=`): one resumption
    /// of a user at a time, so that the size of each replay counts against the next.
    pub async fn replay_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.replays).acquire_owned().await.ok()
    }

    /// The user's shared rate, for charging the answers of the connection's requests.
    pub fn rate(&self) -> AnswerCharge {
        AnswerCharge(Arc::clone(&self.rate))
    }
}

/// Charges answers to the rate of the user who asked for them.
#[derive(Clone)]
pub struct AnswerCharge(Arc<Mutex<RateLimiter>>);

impl AnswerCharge {
    /// Charges an answer of `bytes` (see [`tokens_for_answer`]).
    pub fn charge(&self, bytes: usize) {
        let tokens = tokens_for_answer(bytes);
        if tokens > 0.0 {
            lock(&self.0).charge(tokens, Instant::now());
        }
    }
}

fn lock(rate: &Mutex<RateLimiter>) -> MutexGuard<'_, RateLimiter> {
    // A panic while holding this lock cannot leave the bucket half-changed.
    rate.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut users = self.admission.users();
        if let Some(usage) = users.get_mut(&self.user_id) {
            usage.connections = usage.connections.saturating_sub(1);
            // Kept while the rate refills, so that reconnecting brings no fresh burst.
            if usage.connections == 0 && usage.rate_is_full(Instant::now()) {
                users.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(
        max_connections_per_user: usize,
        requests_per_second: u32,
        burst: u32,
    ) -> ConnectionLimits {
        ConnectionLimits {
            max_connections_per_user,
            requests_per_second,
            burst,
            ..ConnectionLimits::default()
        }
    }

    #[test]
    fn a_user_may_hold_at_most_the_configured_connections() {
        let admission = Admission::new(&limits(2, 100, 200));
        let ada = UserId::from("ada");
        let first = admission.admit(&ada).unwrap();
        let _second = admission.admit(&ada).unwrap();
        assert_eq!(
            admission.admit(&ada).err(),
            Some(Refusal::TooManyConnections)
        );
        assert!(
            admission.admit(&UserId::from("bob")).is_ok(),
            "others are not affected"
        );
        drop(first);
        assert!(
            admission.admit(&ada).is_ok(),
            "a closed connection frees its place"
        );
    }

    #[test]
    fn a_users_connections_share_one_rate() {
        // Each upgrade takes one from the rate too.
        let admission = Admission::new(&limits(8, 1, 5));
        let ada = UserId::from("ada");
        let (one, two) = (
            admission.admit(&ada).unwrap(),
            admission.admit(&ada).unwrap(),
        );
        let now = Instant::now();
        assert!(one.try_acquire(now) && two.try_acquire(now) && one.try_acquire(now));
        assert!(!two.try_acquire(now) && !one.try_acquire(now));
        let bob = admission.admit(&UserId::from("bob")).unwrap();
        assert!(bob.try_acquire(now), "another user has a rate of their own");
    }

    #[test]
    fn reconnecting_brings_no_fresh_burst() {
        let admission = Admission::new(&limits(8, 1, 3));
        let ada = UserId::from("ada");
        let connection = admission.admit(&ada).unwrap();
        let now = Instant::now();
        assert!(connection.try_acquire(now) && connection.try_acquire(now));
        drop(connection);
        assert_eq!(
            admission.admit(&ada).err(),
            Some(Refusal::RateLimited),
            "the spent rate outlives the connection"
        );
    }
}
