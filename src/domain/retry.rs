//! Optimistic updates: read, decide, and write only if nothing changed in between; when
//! another change came first, read and decide again on what is there now. Every
//! read-modify-write of the service goes through [`retry_stale`].

/// The outcome of one attempt.
#[derive(Debug)]
pub enum Attempt<T> {
    /// Written (or nothing needed writing): the answer.
    Done(T),
    /// Another change came first: decide again.
    Stale,
}

/// Runs `attempt` until it is done, at most `attempts` times; `None` when every attempt
/// found that another change came first (the caller answers that the object is busy).
pub async fn retry_stale<T, E, F, Fut>(attempts: usize, mut attempt: F) -> Result<Option<T>, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Attempt<T>, E>>,
{
    for _ in 0..attempts {
        if let Attempt::Done(value) = attempt().await? {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stale_attempt_is_tried_again_until_done() {
        let mut calls = 0;
        let outcome: Result<_, ()> = retry_stale(5, || {
            calls += 1;
            let calls = calls;
            async move {
                Ok(if calls < 3 {
                    Attempt::Stale
                } else {
                    Attempt::Done(calls)
                })
            }
        })
        .await;
        assert_eq!(outcome, Ok(Some(3)));
    }

    #[tokio::test]
    async fn it_gives_up_after_the_attempts_and_stops_at_an_error() {
        let mut calls = 0;
        let outcome: Result<Option<()>, ()> = retry_stale(4, || {
            calls += 1;
            async { Ok(Attempt::Stale) }
        })
        .await;
        assert_eq!((outcome, calls), (Ok(None), 4));
        let failed: Result<Option<()>, &str> = retry_stale(4, || async { Err("down") }).await;
        assert_eq!(failed, Err("down"));
    }
}
