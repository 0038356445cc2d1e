//! Rate limiting of a connection's frames: a token bucket.

use std::time::Instant;

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
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
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
    fn refill_never_exceeds_the_burst() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(100, 3, start);
        let later = start + Duration::from_secs(60);
        assert!((0..3).all(|_| limiter.try_acquire(later)));
        assert!(!limiter.try_acquire(later));
    }
}
