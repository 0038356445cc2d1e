//! One database call as a request makes it: its turn at the gate, its deadline, and
//! what the request hears when a call passes it (the answer at the deadline, and whether
//! the request may have had an effect).

use std::cell::{Cell, RefCell};
use std::time::Duration;

use super::error::{StoreError, StoreResult};
use super::gate;
use crate::error::{ApiError, IntoApiError, Outcome};

tokio::task_local! {
    /// Whether the request being worked on has sent a write (see [`tracking_writes`]).
    pub(super) static WRITE_SENT: Cell<bool>;
    /// Where the request being worked on is answered as soon as one of its calls passes
    /// its deadline (see [`answer_by_deadline`]).
    static AT_DEADLINE: RefCell<Answering>;
}

/// Where a request stands with its answer (see [`answer_by_deadline`]).
enum Answering {
    /// Not answered yet: the answer goes here when a call passes its deadline.
    Waiting(tokio::sync::oneshot::Sender<ApiError>),
    /// Answered as having had no effect: none of its calls may be sent any more.
    Withdrawn,
    /// Answered as having perhaps had an effect: it goes on to its end.
    Answered,
}

/// Runs one request, noting whether it sends a write to the database, so that a failure
/// can tell the client whether the request may have had an effect.
pub async fn tracking_writes<F: Future>(request: F) -> F::Output {
    WRITE_SENT.scope(Cell::new(false), request).await
}

/// Runs one request's `work` in a task of its own and answers what it answers — or, as
/// soon as one of its database calls passes its deadline, what `at_deadline` makes of
/// that call's failure: the client hears within the deadline, and the work (whose calls
/// are never abandoned, see [`within`]) ends in the background, pushing and recording
/// what really happened. Nothing that drops the returned future (a client that went
/// away) cuts the work short either.
pub async fn answer_by_deadline<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
    at_deadline: impl FnOnce(ApiError) -> T,
) -> T {
    let (answer, deadline_passed) = tokio::sync::oneshot::channel();
    let work = AT_DEADLINE.scope(RefCell::new(Answering::Waiting(answer)), work);
    let mut work = tokio::spawn(tracing::Instrument::in_current_span(work));
    tokio::select! {
        biased;
        done = &mut work => match done.map_err(tokio::task::JoinError::try_into_panic) {
            Ok(done) => done,
            Err(Ok(panic)) => std::panic::resume_unwind(panic),
            // Only a runtime shutting down cancels it.
            Err(Err(_)) => at_deadline(ApiError::Unexpected(anyhow::anyhow!(
                "the request's work was cancelled"
            ))),
        },
        Ok(error) = deadline_passed => at_deadline(error),
    }
}

/// Tells the request being worked on, if any, that `error` is its answer. A request
/// answered as having had no effect sends no further call (see [`withdrawn`]).
fn answer_at_deadline(error: StoreError) {
    let _ = AT_DEADLINE.try_with(|answering| {
        let mut answering = answering.borrow_mut();
        if !matches!(*answering, Answering::Waiting(_)) {
            return;
        }
        let error = ApiError::from(error);
        let next = match error {
            ApiError::Unavailable {
                outcome: Outcome::NoEffect,
                ..
            } => Answering::Withdrawn,
            _ => Answering::Answered,
        };
        if let Answering::Waiting(answer) = std::mem::replace(&mut *answering, next) {
            let _ = answer.send(error);
        }
    });
}

/// Whether the request being worked on was answered as having had no effect: then none
/// of its calls may be sent any more, so that the answer stays true.
fn withdrawn() -> bool {
    AT_DEADLINE
        .try_with(|answering| matches!(*answering.borrow(), Answering::Withdrawn))
        .unwrap_or(false)
}

/// Whether the current request may have changed something. Outside a request: perhaps.
fn write_sent() -> bool {
    WRITE_SENT.try_with(Cell::get).unwrap_or(true)
}

impl IntoApiError for StoreError {
    /// A database that cannot be reached or does not answer in time is a 503 saying
    /// whether the request may have had an effect; anything else is unexpected.
    fn into_api_error(self) -> ApiError {
        let error = self;
        if error.is_unavailable() {
            let outcome = if write_sent() {
                Outcome::Unknown
            } else {
                Outcome::NoEffect
            };
            ApiError::Unavailable {
                outcome,
                cause: error.into(),
            }
        } else {
            ApiError::Unexpected(error.into())
        }
    }
}

/// Least time a call that passed its deadline is still driven before it is dropped.
const LEAST_FINISHING_TIME: Duration = Duration::from_secs(30);

/// Runs `operation` as one database call: after its turn at `gate` (none: a call the
/// gate does not count, see [`gate::UNGATED_CONNECTIONS`]), and failing with
/// [`StoreError::TimedOut`] (or [`StoreError::NoTurn`]) when it is not done within
/// `deadline`.
///
/// A call that passed its deadline is not dropped: the request it serves is answered at
/// once (see [`answer_by_deadline`]), and the call is driven on until it ends (for ten
/// deadlines, at least 30 s), so that it never leaves an abandoned entry in the driver's
/// queue of calls waiting for a connection (see [`gate`]); when it ends in that time its
/// own result is returned, so that what the request does next (a push, the record of its
/// answer) follows what really happened.
pub(super) async fn within<T, E: Into<StoreError>>(
    gate: Option<&gate::Gate>,
    deadline: Duration,
    operation: impl IntoFuture<Output = Result<T, E>>,
) -> StoreResult<T> {
    within_expecting(gate, deadline, Expected::Success, operation).await
}

/// What a call's caller expects of it: which failures are answers it handles rather
/// than failures of the database (`social_db_errors_total` counts only the latter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expected {
    /// Success; any failure is the database's.
    Success,
    /// Success, or a refusal because documents with the same unique key exist (an
    /// idempotent claim, a record another request kept first): the caller reads that
    /// refusal as its answer.
    SuccessOrDuplicateKey,
}

/// [`within`], for a call whose caller handles the failures `expected` names.
pub(super) async fn within_expecting<T, E: Into<StoreError>>(
    gate: Option<&gate::Gate>,
    deadline: Duration,
    expected: Expected,
    operation: impl IntoFuture<Output = Result<T, E>>,
) -> StoreResult<T> {
    let result = call_within(gate, deadline, operation).await;
    if let Err(error) = &result
        && let Some(kind) = counted_failure(error, expected)
    {
        crate::metrics::db_error(kind);
    }
    result
}

/// The kind of database error `error` counts as, if any, for a call expecting `expected`.
fn counted_failure(error: &StoreError, expected: Expected) -> Option<crate::metrics::DbError> {
    use crate::metrics::DbError;
    match error {
        // Counted when it passed its deadline; a call never sent is no database error.
        StoreError::TimedOut(_) | StoreError::Withdrawn => None,
        StoreError::NoTurn(_) => Some(DbError::Timeout),
        error if error.is_unavailable() => Some(DbError::Unavailable),
        error if expected == Expected::SuccessOrDuplicateKey && error.is_duplicate_key() => None,
        StoreError::Database(_) => Some(DbError::Failed),
    }
}

async fn call_within<T, E: Into<StoreError>>(
    gate: Option<&gate::Gate>,
    deadline: Duration,
    operation: impl IntoFuture<Output = Result<T, E>>,
) -> StoreResult<T> {
    if withdrawn() {
        return Err(StoreError::Withdrawn);
    }
    let until = tokio::time::Instant::now() + deadline;
    let _turn = match gate {
        Some(gate) => match tokio::time::timeout_at(until, gate.enter()).await {
            Ok(turn) => Some(turn),
            Err(_) => return Err(StoreError::NoTurn(deadline)),
        },
        None => None,
    };
    let operation = operation.into_future();
    tokio::pin!(operation);
    if let Ok(result) = tokio::time::timeout_at(until, &mut operation).await {
        return result.map_err(Into::into);
    }
    crate::metrics::db_error(crate::metrics::DbError::Timeout);
    answer_at_deadline(StoreError::TimedOut(deadline));
    let finishing_time = (deadline * 10).max(LEAST_FINISHING_TIME);
    match tokio::time::timeout(finishing_time, &mut operation).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => {
            tracing::warn!(
                ?finishing_time,
                "a database call did not end long after its deadline; dropping it"
            );
            Err(StoreError::TimedOut(deadline))
        }
    }
}
