//! Growing pauses between the attempts of background work that failed (reopening a change
//! stream, looking at a request still being answered): each pause twice the last, up to a
//! ceiling, so that a process whose database is away or overloaded does not add to its
//! load by trying again at a fixed, short interval.

use std::time::Duration;

/// The pauses between attempts: `first`, then twice the last, at most `ceiling`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    first: Duration,
    ceiling: Duration,
}

impl Backoff {
    pub fn new(first: Duration, ceiling: Duration) -> Backoff {
        Backoff {
            next: first,
            first,
            ceiling,
        }
    }

    /// The pause before the next attempt; the one after it is twice as long.
    pub fn next_pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(self.ceiling);
        pause
    }

    /// Starts again from the first pause (after an attempt succeeded).
    pub fn reset(&mut self) {
        self.next = self.first;
    }

    /// Waits for the next pause.
    pub async fn pause(&mut self) {
        tokio::time::sleep(self.next_pause()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_ceiling_and_start_again_after_a_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(25), Duration::from_millis(150));
        let pauses: Vec<u128> = (0..5).map(|_| backoff.next_pause().as_millis()).collect();
        assert_eq!(pauses, [25, 50, 100, 150, 150]);
        backoff.reset();
        assert_eq!(backoff.next_pause(), Duration::from_millis(25));
    }
}
