//! Rate limiting of a connection's frames: a token bucket, charged by size. An ordinary
//! request (a frame and an answer each under [`BYTES_PER_TOKEN`]) takes one token; a
//! larger frame takes one more per [`BYTES_PER_TOKEN`] when it arrives, and a larger
//! answer one more per [`BYTES_PER_TOKEN`] once it is made. A request is let in while
//! the bucket holds a token, and what it costs beyond that is owed: the bucket goes below
//! zero and refills from there, so that what one user can make the service read, render
//! and send per second is bounded by bytes, not only by frames.

use std::time::Instant;

/// Bytes of a frame or an answer that cost one token more.
pub const BYTES_PER_TOKEN: usize = 16 * 1024;

/// Tokens a frame of `bytes` takes when it arrives.
pub fn tokens_for_frame(bytes: usize) -> f64 {
    1.0 + (bytes / BYTES_PER_TOKEN) as f64
}

/// Tokens an answer of `bytes` takes once it is made.
pub fn tokens_for_answer(bytes: usize) -> f64 {
    (bytes / BYTES_PER_TOKEN) as f64
}

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug)]
pub struct RateLimiter {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32, now: Instant) -> Self {
        let capacity = f64::from(burst.max(1));
        RateLimiter {
            capacity,
            per_second: f64::from(per_second),
            tokens: capacity,
            last: now,
        }
    }

    /// Whether the bucket has refilled to its burst by `now` (forgetting it then changes
    /// nothing).
    pub fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.per_second >= self.capacity
    }

    /// Takes one token when there is one.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        self.try_take(1.0, now)
    }

    /// Takes `tokens` when the bucket holds at least one (owing the rest).
    pub fn try_take(&mut self, tokens: f64, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= tokens;
            true
        } else {
            false
        }
    }

    /// Takes `tokens` for work already done, owing what the bucket does not hold.
    pub fn charge(&mut self, tokens: f64, now: Instant) {
        self.refill(now);
        self.tokens -= tokens;
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_is_allowed_then_refused_until_refilled() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(100, 200, start);
        assert!((0..200).all(|_| limiter.try_acquire(start)));
        assert!(!limiter.try_acquire(start));
        assert!(
            limiter.try_acquire(start + Duration::from_millis(10)),
            "one token per 10 ms"
        );
        assert!(!limiter.try_acquire(start + Duration::from_millis(10)));
    }

    #[test]
    fn large_frames_and_answers_cost_by_size_and_are_owed_past_the_bucket() {
        assert_eq!(tokens_for_frame(200), 1.0, "an ordinary frame");
        assert_eq!(tokens_for_frame(BYTES_PER_TOKEN), 2.0);
        assert_eq!(tokens_for_frame(1024 * 1024), 65.0);
        assert_eq!(
            tokens_for_answer(BYTES_PER_TOKEN - 1),
            0.0,
            "an ordinary answer"
        );
        assert_eq!(tokens_for_answer(1024 * 1024), 64.0);
        let start = Instant::now();
        let mut limiter = RateLimiter::new(100, 200, start);
        assert!(limiter.try_take(150.0, start));
        assert!(
            limiter.try_take(65.0, start),
            "one token is enough to be let in"
        );
        assert!(!limiter.try_acquire(start), "owing 15 tokens");
        let repaid = start + Duration::from_millis(150);
        assert!(!limiter.try_acquire(repaid), "the debt is repaid first");
        limiter.charge(100.0, repaid);
        let later = repaid + Duration::from_millis(1000);
        assert!(
            !limiter.try_acquire(later),
            "an answer's charge is owed too"
        );
        assert!(limiter.try_acquire(later + Duration::from_millis(20)));
    }

    #[test]
    fn refill_never_exceeds_the_burst() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(100, 3, start);
        let later = start + Duration::from_secs(60);
        assert!((0..3).all(|_| limiter.try_acquire(later)));
        assert!(!limiter.try_acquire(later));
    }
}
