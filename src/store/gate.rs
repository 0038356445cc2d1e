//! The bound on one process's database work: at most so many calls in flight (the
//! connection pool's size, less the connections the change streams and the readiness
//! probe keep), the others waiting their turn in arrival order, and a bound on how many
//! may wait. Past that bound the process is overloaded: new requests are refused at once
//! ("busy, retry") instead of queueing until their deadline.
//!
//! Why the process keeps its own queue rather than the driver's: the MongoDB driver (3.9)
//! keeps a call that waits for a pooled connection in a queue that it serves one entry
//! per pool event, and a call abandoned there (its future dropped at a deadline) stays in
//! it. After a burst or a stall had left hundreds of abandoned entries, the queue was
//! never served again and the process answered 503 until restarted. Here, at most as many
//! calls reach the driver as it has connections, a call waiting here is forgotten as soon
//! as it is dropped, and a call that reached the driver is never dropped before it ends
//! (see `within` in the parent module).

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit};

/// Database calls of one process in flight at most, when the connection string sets no
/// `maxPoolSize`.
pub const DEFAULT_CALLS_IN_FLIGHT: u32 = 32;
/// Connections kept beside the gated calls: the two change streams, the readiness probe
/// and one spare.
pub const UNGATED_CONNECTIONS: u32 = 4;
/// Calls that may wait for their turn, per call in flight, before requests are refused.
const WAITING_PER_CALL: usize = 8;

/// Admits database calls: see the module documentation.
#[derive(Debug)]
pub struct Gate {
    calls: Semaphore,
    max_calls: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Why a request is refused before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded;

impl Gate {
    /// A gate for `calls` calls in flight, with eight times as many waiting at most.
    pub fn new(calls: u32) -> Gate {
        let calls = calls.max(1) as usize;
        Gate {
            calls: Semaphore::new(calls),
            max_calls: calls,
            waiting: AtomicUsize::new(0),
            max_waiting: calls * WAITING_PER_CALL,
        }
    }

    /// The gate of a connection pool of `pool_size` connections: what the pool keeps
    /// beside the gated calls is not theirs.
    pub fn for_pool(pool_size: u32) -> Gate {
        Gate::new(pool_size.saturating_sub(UNGATED_CONNECTIONS))
    }

    /// Whether a new request may start: refused while as many calls wait as may.
    pub fn admit(&self) -> Result<(), Overloaded> {
        if self.waiting.load(Ordering::Relaxed) >= self.max_waiting {
            return Err(Overloaded);
        }
        Ok(())
    }

    /// Waits for this call's turn (in arrival order). Dropping the future gives up the
    /// place at once.
    pub async fn enter(&self) -> Turn<'_> {
        let waiting = Waiting::new(&self.waiting);
        let permit = self.calls.acquire().await;
        drop(waiting);
        crate::metrics::db_calls_in_flight(1.0);
        Turn {
            _permit: permit
                .unwrap_or_else(|_| unreachable!("the gate's semaphore is never closed")),
        }
    }

    /// Calls waiting for their turn now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> usize {
        self.max_calls - self.calls.available_permits()
    }
}

/// One call's turn: it counts as in flight until dropped.
pub struct Turn<'a> {
    _permit: SemaphorePermit<'a>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        crate::metrics::db_calls_in_flight(-1.0);
    }
}

/// One call counted as waiting until dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        crate::metrics::db_calls_waiting(1.0);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
        crate::metrics::db_calls_waiting(-1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn calls_past_the_bound_wait_in_arrival_order() {
        let gate = std::sync::Arc::new(Gate::new(1));
        let first = gate.enter().await;
        let (order_sender, mut order) = tokio::sync::mpsc::unbounded_channel();
        let mut waiters = Vec::new();
        for number in 0..3 {
            let (waiter, order_sender) = (gate.clone(), order_sender.clone());
            waiters.push(tokio::spawn(async move {
                let _turn = waiter.enter().await;
                order_sender.send(number).unwrap();
            }));
            // Each is queued before the next arrives.
            while gate.waiting() < number + 1 {
                tokio::task::yield_now().await;
            }
        }
        assert_eq!(gate.in_flight(), 1);
        drop(first);
        for waiter in waiters {
            waiter.await.unwrap();
        }
        let served: Vec<usize> = std::iter::from_fn(|| order.try_recv().ok()).collect();
        assert_eq!(served, [0, 1, 2]);
        assert_eq!((gate.waiting(), gate.in_flight()), (0, 0));
    }

    #[tokio::test]
    async fn requests_are_refused_while_the_queue_is_full_and_admitted_once_it_drains() {
        let gate = std::sync::Arc::new(Gate::new(1));
        let busy = gate.enter().await;
        assert_eq!(gate.admit(), Ok(()));
        let queued: Vec<_> = (0..WAITING_PER_CALL)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { drop(gate.enter().await) })
            })
            .collect();
        while gate.waiting() < WAITING_PER_CALL {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.admit(), Err(Overloaded));
        drop(busy);
        for call in queued {
            call.await.unwrap();
        }
        assert_eq!(gate.admit(), Ok(()));
    }

    #[tokio::test]
    async fn a_call_that_stops_waiting_leaves_no_trace() {
        let gate = Gate::new(1);
        let busy = gate.enter().await;
        let gave_up = tokio::time::timeout(Duration::from_millis(10), gate.enter()).await;
        assert!(gave_up.is_err());
        assert_eq!(gate.waiting(), 0);
        drop(busy);
        // The next call is served at once: nothing abandoned stands before it.
        tokio::time::timeout(Duration::from_millis(100), gate.enter())
            .await
            .expect("served at once");
    }

    #[test]
    fn a_pool_keeps_connections_for_the_change_streams_and_the_probe() {
        assert_eq!(Gate::for_pool(36).max_calls, 32);
        assert_eq!(Gate::for_pool(2).max_calls, 1, "at least one call");
    }
}
