//! The history checker: pure functions from a recorded [`History`] to the violations it
//! proves, per session, in the spirit of Jepsen's Elle and Porcupine — every check is
//! stated so that it can only fail on a real breach of what the service promises (the
//! README's "Durability and faults": what a client may rely on under faults; the
//! harness's clients are built to make the checks decidable, see `workload.rs`).
//!
//! # What an answer tells
//!
//! Every request has an *outcome*, from all of its attempts (a retry repeats the
//! `event.id`) and answers that came after the client gave up: **succeeded** (some answer
//! has code 0; for a join, whether it took a seat or waits, with its rank), **refused**
//! (every attempt was answered with a code that means "no effect": 400, 403, 404, 409 —
//! except 409 "still being answered" —, 429, 503 "had no effect"), or **unknown** (an
//! attempt was answered 503 "may or may not have taken effect" or 500, or 409 "still being
//! answered", timed out, or lost its connection; it may or may not have happened).
//!
//! # Ground truth
//!
//! After the last fault ended and the system had time to recover, the workload stops, the
//! run waits for pushes to settle, and every user reads (`getSession`) each session they
//! took part in. The owner's read is the session's final state (`joinedUsers`,
//! `invitedUsers`, title); each user's own read gives their final `waitlistPosition`.
//!
//! # Checks (the violation kinds)
//!
//! - **seat-limit / duplicate-participant**: no rendering the run saw — answers, pushes,
//!   replays, final reads — has more `joinedUsers` than the event's `participantLimit`, or a
//!   user twice.
//! - **retry-answers-differ**: all answers to one `event.id` of one user that are meant to
//!   be kept (anything but 5xx, 429 and a 409 asking for a retry) are the same answer
//!   (code, message, data).
//! - **join-lost**: a join that succeeded with a seat is in the final `joinedUsers`, unless
//!   that user later sent a decline or was sent an uninvite (whatever their outcome).
//!   **waitlist-lost**: a join answered `waitlisted` ends seated or still waiting, with the
//!   same exception.
//! - **seated-without-join**: a user seated or waiting at the end had a join that
//!   succeeded or has an unknown outcome. A join refused (409 full, 503 "had no effect")
//!   explains nothing, nor does a finished request sent again with its `event.id`.
//! - **decline-lost**: a decline that succeeded leaves the user neither seated nor waiting
//!   at the end (the clients never join a session again after declining it, so only a
//!   retried `event.id` of an earlier join could seat them again: "a retried `event.id`
//!   never seats twice"). **invite-lost / uninvite-lost / update-lost**: an invitation that
//!   succeeded is listed at the end unless an uninvite of that user was sent; a
//!   successful uninvite is not listed and, for a Private session, not seated; the final
//!   title is that of the last successful `updateSession` or of a later one whose outcome
//!   is unknown.
//! - **waitlist-order**: `u` is *surely ahead of* `v` on a waitlist when `u`'s `waitlisted`
//!   answer arrived before `v` first asked to wait. Then `v` must not end seated while `u`
//!   ends still waiting (and did not decline), and if both still wait, `u`'s final rank is
//!   lower. **waitlist-ranks**: the final ranks of those who wait are distinct and, when
//!   every user who ever asked to wait read the session at the end, exactly 1..n.
//!   **free-seat-while-waiting**: nobody still waits at the end while a seat is free (a
//!   freed seat goes to the head of the waitlist).
//! - **push-duplicate**: no user receives two push frames with the same `event.id`
//!   (over all of their connections: live and replayed).
//!   (A second `social:resync` right after the one that answers a `resumeAfter` is not
//!   counted: the process may have lost its change stream at that moment too.)
//! - **push-order**: the `social:sessionUpdated` frames one user receives about one
//!   session, in order of arrival, never go back to an older state. The renderings carry
//!   no version number, so the clients make each change leave a trace that only moves
//!   forward: titles are numbered by their owner (`label #n`, one update at a time), a
//!   user joins a session at most once and never after declining it or being uninvited,
//!   and invitations are never repeated. So in order of arrival: the title number never
//!   falls; no participant appears, disappears and appears again; an invitation goes
//!   only forward through absent → pending → accepted → declined → removed; and the
//!   viewer's own `waitlistPosition` only falls while it lasts and never comes back.
//! - **push-missing** (gaps): a change that succeeded — a join taking a seat (the user's
//!   first join that did not fail), a decline, an update, an invite, an uninvite — is owed
//!   to everyone surely in its audience afterwards (the owner; users seated, waiting or
//!   invited by answers that arrived before it was sent; the joiner and the new invitees
//!   themselves), who stay in it — no decline sent, no uninvite — and connected for the
//!   *allowance* (10 s) after its answer: the service sends a push that comes late only
//!   to the audience as it is then, so a user who leaves sooner may rightly miss it.
//!   Such a user must receive a push of that session showing the change (or a later
//!   state: the title number at least as high, the joiner seated or already leaving, the
//!   invitees listed, the decliner not seated), at any time after the change was sent.
//!   How late it came is reported as a figure (the push lag), not as a violation. A
//!   reconnect with `resumeAfter` keeps the user connected for this purpose when the push
//!   named in `resumeAfter` arrived before the change was sent (so the change's push is
//!   numbered after it and must be replayed) or at least two seconds (the margin) before
//!   the old connection closed (so pushes numbered before it had time to arrive). A
//!   `social:resync` received after the change was sent excuses it (the client
//!   refetches).
//! - **stale-view**: whoever is in a session's final audience (owner, invitees who did
//!   not decline, participants, those waiting) and learned of it after joining it (a push
//!   or their own read) and stayed connected since (reconnects that resume, as above, and
//!   no `social:resync`) holds the final state in their newest push or read (the largest
//!   `version`; of one version, the last to arrive): same title, participants,
//!   invitations (role and status) and own `waitlistPosition`.
//! - **final-read-failed**: after recovery, every final read is answered (a 404 for a
//!   Private session the reader is no longer part of is an answer).
//! - **process-exited**: no `serve` process exits unless the schedule kills it.
//! - **slow-recovery**: see [`recoveries`]: each fault is followed, within
//!   [`CheckSettings::recovery_limit`], by requests on every `serve` process that succeed at
//!   normal latency.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use serde_json::Value;

use super::history::{
    Answer, AttemptResult, ConnectionRecord, FaultKind, History, OpKind, Operation, Origin,
    PushFrame, SessionSpec,
};
pub use super::history::{View, parse_view, title_seq};

/// The knobs of the checks.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    /// How long after a change's answer its push may take, and how long before a
    /// disconnect a push must have arrived to count as seen (spec: one second).
    pub delivery_margin: Duration,
    /// How long a change is owed to its audience: a user who leaves the audience, or
    /// disconnects without resuming, sooner may miss a push that came late (the service
    /// sends a late push only to the audience as it is then). Lateness itself is a
    /// figure ([`CheckReport::push_lags`]), not a violation.
    pub delivery_allowance: Duration,
    /// Longest acceptable recovery after a fault.
    pub recovery_limit: Duration,
    /// A probe is slow above `slow_factor` times the median latency before the fault...
    pub slow_factor: f64,
    /// ...and at least this.
    pub slow_floor: Duration,
    /// How far before a fault the probes giving the normal latency are taken.
    pub baseline_window: Duration,
}

impl Default for CheckSettings {
    fn default() -> Self {
        CheckSettings {
            delivery_margin: Duration::from_secs(2),
            delivery_allowance: Duration::from_secs(10),
            recovery_limit: Duration::from_secs(5),
            slow_factor: 3.0,
            slow_floor: Duration::from_millis(250),
            baseline_window: Duration::from_secs(3),
        }
    }
}

/// What kind of rule was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ViolationKind {
    MalformedFrame,
    SeatLimit,
    DuplicateParticipant,
    RetryAnswersDiffer,
    JoinLost,
    WaitlistLost,
    SeatedWithoutJoin,
    DeclineLost,
    InviteLost,
    UninviteLost,
    UpdateLost,
    WaitlistOrder,
    WaitlistRanks,
    FreeSeatWhileWaiting,
    PushDuplicate,
    PushOrder,
    PushMissing,
    StaleView,
    FinalReadFailed,
    SlowRecovery,
    ProcessExited,
}

impl ViolationKind {
    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::MalformedFrame => "malformed-frame",
            ViolationKind::SeatLimit => "seat-limit",
            ViolationKind::DuplicateParticipant => "duplicate-participant",
            ViolationKind::RetryAnswersDiffer => "retry-answers-differ",
            ViolationKind::JoinLost => "join-lost",
            ViolationKind::WaitlistLost => "waitlist-lost",
            ViolationKind::SeatedWithoutJoin => "seated-without-join",
            ViolationKind::DeclineLost => "decline-lost",
            ViolationKind::InviteLost => "invite-lost",
            ViolationKind::UninviteLost => "uninvite-lost",
            ViolationKind::UpdateLost => "update-lost",
            ViolationKind::WaitlistOrder => "waitlist-order",
            ViolationKind::WaitlistRanks => "waitlist-ranks",
            ViolationKind::FreeSeatWhileWaiting => "free-seat-while-waiting",
            ViolationKind::PushDuplicate => "push-duplicate",
            ViolationKind::PushOrder => "push-order",
            ViolationKind::PushMissing => "push-missing",
            ViolationKind::StaleView => "stale-view",
            ViolationKind::FinalReadFailed => "final-read-failed",
            ViolationKind::SlowRecovery => "slow-recovery",
            ViolationKind::ProcessExited => "process-exited",
        }
    }
}

/// One broken rule, with what is needed to find it in the logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub kind: ViolationKind,
    /// The session's label and id.
    pub session: Option<String>,
    pub user: Option<String>,
    /// When it was seen (time since the run started).
    pub at: Option<Duration>,
    pub detail: String,
}

/// How long the system took to serve normally again after one fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    pub fault: usize,
    pub kind: FaultKind,
    pub detail: String,
    pub ended: Duration,
    /// Probes above this latency count as slow.
    pub threshold: Duration,
    /// Per `serve` process: time from the fault's end to normal service; `None` when it
    /// did not serve normally by the end of the observation window.
    pub per_process: Vec<Option<Duration>>,
    /// How long after the fault the probes were watched.
    pub window: Duration,
}

impl Recovery {
    /// The slowest process's recovery; `None` when one did not recover in the window.
    pub fn slowest(&self) -> Option<Duration> {
        self.per_process
            .iter()
            .try_fold(Duration::ZERO, |slowest, process| {
                process.map(|time| slowest.max(time))
            })
    }
}

/// Everything the checker found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub violations: Vec<Violation>,
    pub recoveries: Vec<Recovery>,
    /// For every change owed to a user who got it: from its answer to the first push
    /// showing it (zero when the push came first).
    pub push_lags: Vec<Duration>,
}

/// The session rendering in an answer's `data`, if it has one.
fn answer_view(answer: &Answer) -> Option<Result<View, String>> {
    let session = answer.data.as_ref()?.get("session")?;
    Some(parse_view(session))
}

/// What an answer says about the effect of its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Succeeded,
    Nothing,
    Unknown,
}

fn effect_of(answer: &Answer) -> Effect {
    match answer.code {
        0 => Effect::Succeeded,
        // Not an answer the protocol has (recorded as -1 by the clients): unknown.
        code if code < 0 => Effect::Unknown,
        503 if answer.message.contains("had no effect") => Effect::Nothing,
        409 if answer.message.contains("still being answered") => Effect::Unknown,
        code if code >= 500 => Effect::Unknown,
        _ => Effect::Nothing,
    }
}

/// Whether an answer is one the service keeps for retries (so every retry must get it).
fn is_kept(answer: &Answer) -> bool {
    !(answer.code >= 500
        || answer.code == 429
        || answer.code == 409 && answer.message.contains("retry"))
}

/// What came of one request, over all of its attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// Never sent.
    NotSent,
    /// Answered with code 0 at `at` (the first such answer); for a join, the rank when it
    /// waits instead of taking a seat.
    Succeeded {
        at: Duration,
        waitlisted: Option<u64>,
    },
    /// Definitely no effect.
    Refused,
    /// May or may not have taken effect.
    Unknown,
}

impl Outcome {
    fn may_have_happened(self) -> bool {
        matches!(self, Outcome::Succeeded { .. } | Outcome::Unknown)
    }

    fn seat_at(self) -> Option<Duration> {
        match self {
            Outcome::Succeeded {
                at,
                waitlisted: None,
            } => Some(at),
            _ => None,
        }
    }

    fn waitlisted_at(self) -> Option<Duration> {
        match self {
            Outcome::Succeeded {
                at,
                waitlisted: Some(_),
            } => Some(at),
            _ => None,
        }
    }

    fn succeeded_at(self) -> Option<Duration> {
        match self {
            Outcome::Succeeded { at, .. } => Some(at),
            _ => None,
        }
    }
}

/// The outcome of `operation`, given the late answers to its `event.id`.
pub fn outcome_of(operation: &Operation, late: &[&Answer]) -> Outcome {
    if operation.attempts.is_empty() {
        return Outcome::NotSent;
    }
    let answers: Vec<&Answer> = operation.answers().chain(late.iter().copied()).collect();
    if let Some(answer) = answers
        .iter()
        .filter(|answer| answer.code == 0)
        .min_by_key(|answer| answer.at)
    {
        let waitlisted = answer
            .data
            .as_ref()
            .filter(|data| data["waitlisted"] == Value::Bool(true))
            .map(|data| data["position"].as_u64().unwrap_or(0));
        return Outcome::Succeeded {
            at: answer.at,
            waitlisted,
        };
    }
    let unknown = operation
        .attempts
        .iter()
        .any(|attempt| match &attempt.result {
            AttemptResult::Answered(answer) => effect_of(answer) == Effect::Unknown,
            AttemptResult::TimedOut { .. } | AttemptResult::ConnectionLost { .. } => true,
        })
        || late
            .iter()
            .any(|answer| effect_of(answer) == Effect::Unknown);
    if unknown {
        Outcome::Unknown
    } else {
        Outcome::Refused
    }
}

/// Checks a whole history.
pub fn check(history: &History, settings: &CheckSettings) -> CheckReport {
    let index = Index::new(history, settings);
    let mut violations = Vec::new();
    index.check_renderings(&mut violations);
    index.check_retries(&mut violations);
    index.check_final_state(&mut violations);
    index.check_waitlists(&mut violations);
    index.check_push_identity(&mut violations);
    index.check_push_order(&mut violations);
    let push_lags = index.check_push_delivery(&mut violations);
    index.check_final_knowledge(&mut violations);
    for process in &history.exited_processes {
        violations.push(Violation {
            kind: ViolationKind::ProcessExited,
            session: None,
            user: None,
            at: None,
            detail: format!("serve {process} exited by itself"),
        });
    }
    let recoveries = recoveries(history, settings);
    for recovery in &recoveries {
        let slow = match recovery.slowest() {
            Some(time) => time > settings.recovery_limit,
            None => true,
        };
        if slow {
            violations.push(Violation {
                kind: ViolationKind::SlowRecovery,
                session: None,
                user: None,
                at: Some(recovery.ended),
                detail: format!(
                    "after fault {} ({}: {}), per serve process: {} (limit {:?}; probes slower \
                     than {:?} count as failed)",
                    recovery.fault,
                    recovery.kind.name(),
                    recovery.detail,
                    describe_recovery(recovery),
                    settings.recovery_limit,
                    recovery.threshold
                ),
            });
        }
    }
    CheckReport {
        violations,
        recoveries,
        push_lags,
    }
}

/// `0.4 s, 1.2 s, not within 8.0 s`.
pub fn describe_recovery(recovery: &Recovery) -> String {
    recovery
        .per_process
        .iter()
        .map(|process| match process {
            Some(time) => format!("{:.1} s", time.as_secs_f64()),
            None => format!("not within {:.1} s", recovery.window.as_secs_f64()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One user's `social:sessionUpdated` frames about one session, by arrival: when, on
/// which connection, what they showed.
type SessionPushes<'a> = Vec<(Duration, u64, &'a View)>;

/// A change the workload made, as the push checks need it.
struct Change<'a> {
    operation: usize,
    session: &'a str,
    sent: Duration,
    answered: Duration,
    shows: Shows<'a>,
    /// Who hears of the change because of it (the joiner, the new invitees).
    also_told: Vec<&'a str>,
    /// Who stops hearing of the session because of it.
    no_longer_told: Vec<&'a str>,
}

/// What a rendering must show to reflect a change (or a later state).
enum Shows<'a> {
    Joined(&'a str),
    NotJoined(&'a str),
    TitleAtLeast(u64),
    Invited(Vec<&'a str>),
    NotInvited(Vec<&'a str>),
}

/// The history, indexed for the checks.
struct Index<'a> {
    history: &'a History,
    settings: &'a CheckSettings,
    sessions: HashMap<&'a str, &'a SessionSpec>,
    outcomes: Vec<Outcome>,
    /// Late answers by `(user, event.id)`.
    late: HashMap<(&'a str, &'a str), Vec<&'a Answer>>,
    /// The operations a user sent about a session, by first sending.
    by_actor: HashMap<(&'a str, &'a str), Vec<usize>>,
    /// Invitations and uninvitations naming a user: `(session, user) -> operations`.
    naming: HashMap<(&'a str, &'a str), Vec<usize>>,
    /// The first time a decline by the user, or an uninvite of them, was sent.
    leave_sent: HashMap<(&'a str, &'a str), Duration>,
    /// Each user's final read of each session: the answer, when one came.
    final_reads: HashMap<(&'a str, &'a str), Option<&'a Answer>>,
    /// Parsed final views.
    final_views: HashMap<(&'a str, &'a str), View>,
    connections: HashMap<&'a str, Vec<&'a ConnectionRecord>>,
    /// Session pushes per `(user, session)`, in order of arrival, parsed.
    session_pushes: HashMap<(&'a str, &'a str), SessionPushes<'a>>,
    /// Resyncs per user, by arrival.
    resyncs: HashMap<&'a str, Vec<Duration>>,
    /// When each push reached its user: `(user, event.id)`.
    push_arrival: HashMap<(&'a str, &'a str), Duration>,
    /// Session deletions per `(user, session)`.
    deletions: HashMap<(&'a str, &'a str), Vec<Duration>>,
    /// Renderings that could not be read.
    malformed: Vec<Violation>,
}

impl<'a> Index<'a> {
    fn new(history: &'a History, settings: &'a CheckSettings) -> Index<'a> {
        let sessions: HashMap<&str, &SessionSpec> = history
            .sessions
            .iter()
            .map(|session| (session.id.as_str(), session))
            .collect();
        let mut late: HashMap<(&str, &str), Vec<&Answer>> = HashMap::new();
        for answer in &history.late_answers {
            late.entry((answer.user.as_str(), answer.event_id.as_str()))
                .or_default()
                .push(&answer.answer);
        }
        // Late answers belong to the first operation of their event.id.
        let mut first_of_event: HashMap<(&str, &str), usize> = HashMap::new();
        for (position, operation) in history.operations.iter().enumerate() {
            first_of_event
                .entry((operation.user.as_str(), operation.event_id.as_str()))
                .or_insert(position);
        }
        let outcomes = history
            .operations
            .iter()
            .enumerate()
            .map(|(position, operation)| {
                let key = (operation.user.as_str(), operation.event_id.as_str());
                let late_answers = if first_of_event.get(&key) == Some(&position) {
                    late.get(&key).cloned().unwrap_or_default()
                } else {
                    Vec::new()
                };
                outcome_of(operation, &late_answers)
            })
            .collect();
        let mut by_actor: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        let mut naming: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        let mut leave_sent: HashMap<(&str, &str), Duration> = HashMap::new();
        let mut final_reads = HashMap::new();
        let mut final_views = HashMap::new();
        let mut malformed = Vec::new();
        for (position, operation) in history.operations.iter().enumerate() {
            let key = (operation.user.as_str(), operation.session.as_str());
            by_actor.entry(key).or_default().push(position);
            let first_sent = operation.first_sent();
            match &operation.kind {
                OpKind::Decline => {
                    if let Some(sent) = first_sent {
                        let earliest = leave_sent.entry(key).or_insert(sent);
                        *earliest = (*earliest).min(sent);
                    }
                }
                OpKind::Invite { users } | OpKind::Uninvite { users } => {
                    for user in users {
                        naming
                            .entry((operation.session.as_str(), user.as_str()))
                            .or_default()
                            .push(position);
                        if matches!(operation.kind, OpKind::Uninvite { .. })
                            && let Some(sent) = first_sent
                        {
                            let earliest = leave_sent
                                .entry((user.as_str(), operation.session.as_str()))
                                .or_insert(sent);
                            *earliest = (*earliest).min(sent);
                        }
                    }
                }
                _ => {}
            }
            if operation.origin == Origin::Final {
                let answer = operation.answers().last();
                final_reads.insert(key, answer);
                if let Some(answer) = answer.filter(|answer| answer.code == 0) {
                    match answer_view(answer) {
                        Some(Ok(view)) => {
                            final_views.insert(key, view);
                        }
                        Some(Err(error)) => malformed.push(Violation {
                            kind: ViolationKind::MalformedFrame,
                            session: None,
                            user: Some(operation.user.clone()),
                            at: Some(answer.at),
                            detail: format!("final read: {error}"),
                        }),
                        None => {}
                    }
                }
            }
        }
        for operations in by_actor.values_mut() {
            operations.sort_by_key(|&position| history.operations[position].first_sent());
        }
        let mut connections: HashMap<&str, Vec<&ConnectionRecord>> = HashMap::new();
        for connection in &history.connections {
            connections
                .entry(connection.user.as_str())
                .or_default()
                .push(connection);
        }
        for list in connections.values_mut() {
            list.sort_by_key(|connection| connection.opened);
        }
        let mut session_pushes: HashMap<(&str, &str), SessionPushes> = HashMap::new();
        let mut resyncs: HashMap<&str, Vec<Duration>> = HashMap::new();
        let mut push_arrival = HashMap::new();
        let mut deletions: HashMap<(&str, &str), Vec<Duration>> = HashMap::new();
        for push in &history.pushes {
            if let Some(event_id) = push.frame.event_id() {
                push_arrival
                    .entry((push.user.as_str(), event_id))
                    .or_insert(push.at);
            }
            match &push.frame {
                PushFrame::Updated { view, .. } => match view {
                    Ok(view) => {
                        let session_id = sessions
                            .get_key_value(view.id.as_str())
                            .map_or("", |(id, _)| *id);
                        session_pushes
                            .entry((push.user.as_str(), session_id))
                            .or_default()
                            .push((push.at, push.connection, view));
                    }
                    Err(error) => malformed.push(Violation {
                        kind: ViolationKind::MalformedFrame,
                        session: None,
                        user: Some(push.user.clone()),
                        at: Some(push.at),
                        detail: format!("social:sessionUpdated: {error}"),
                    }),
                },
                PushFrame::Deleted { session_id, .. } => {
                    deletions
                        .entry((push.user.as_str(), session_id.as_str()))
                        .or_default()
                        .push(push.at);
                }
                PushFrame::Resync => resyncs.entry(push.user.as_str()).or_default().push(push.at),
                PushFrame::Other { text } => malformed.push(Violation {
                    kind: ViolationKind::MalformedFrame,
                    session: None,
                    user: Some(push.user.clone()),
                    at: Some(push.at),
                    detail: format!("a frame that is neither an answer nor a known push: {text}"),
                }),
            }
        }
        for list in session_pushes.values_mut() {
            list.sort_by_key(|(at, _, _)| *at);
        }
        Index {
            history,
            settings,
            sessions,
            outcomes,
            late,
            by_actor,
            naming,
            leave_sent,
            final_reads,
            final_views,
            connections,
            session_pushes,
            resyncs,
            push_arrival,
            deletions,
            malformed,
        }
    }

    fn label(&self, session: &str) -> String {
        match self.sessions.get(session) {
            Some(spec) => format!("{} ({})", spec.label, spec.id),
            None => session.to_owned(),
        }
    }

    fn violation(
        &self,
        kind: ViolationKind,
        session: &str,
        user: Option<&str>,
        at: Option<Duration>,
        detail: String,
    ) -> Violation {
        Violation {
            kind,
            session: Some(self.label(session)),
            user: user.map(str::to_owned),
            at,
            detail,
        }
    }

    fn operation(&self, position: usize) -> &'a Operation {
        &self.history.operations[position]
    }

    /// A short description of an operation for reports.
    fn describe(&self, position: usize) -> String {
        let operation = self.operation(position);
        format!(
            "{} event.id {} sent at {} ({} attempt(s), outcome {:?})",
            operation.kind.name(),
            operation.event_id,
            seconds(operation.first_sent()),
            operation.attempts.len(),
            self.outcomes[position]
        )
    }

    /// The user's own join operations about `session` (resends excluded).
    fn joins<'s>(&'s self, user: &'s str, session: &'s str) -> impl Iterator<Item = usize> + 's {
        self.by_actor
            .get(&(user, session))
            .into_iter()
            .flatten()
            .copied()
            .filter(|&position| {
                let operation = self.operation(position);
                matches!(operation.kind, OpKind::Join { .. }) && operation.origin != Origin::Resend
            })
    }

    fn leave_sent(&self, user: &str, session: &str) -> Option<Duration> {
        self.leave_sent.get(&(user, session)).copied()
    }

    /// Whether the user had sent a decline, or been sent an uninvite, by `at`.
    fn left_by(&self, user: &str, session: &str, at: Duration) -> bool {
        self.leave_sent(user, session)
            .is_some_and(|sent| sent <= at)
    }

    // ---- seats and shapes ----

    fn check_renderings(&self, violations: &mut Vec<Violation>) {
        violations.extend(self.malformed.iter().cloned());
        for ((user, _), pushes) in &self.session_pushes {
            for (at, connection, view) in pushes {
                self.check_rendering(
                    user,
                    *at,
                    view,
                    || format!("push on connection {connection}"),
                    violations,
                );
            }
        }
        for operation in &self.history.operations {
            for answer in operation.answers() {
                if answer.code < 0 {
                    violations.push(self.violation(
                        ViolationKind::MalformedFrame,
                        &operation.session,
                        Some(&operation.user),
                        Some(answer.at),
                        format!("the answer to {} has no error.code", operation.event_id),
                    ));
                }
                match answer_view(answer) {
                    Some(Ok(view)) => self.check_rendering(
                        &operation.user,
                        answer.at,
                        &view,
                        || format!("answer to {} {}", operation.kind.name(), operation.event_id),
                        violations,
                    ),
                    Some(Err(error)) => violations.push(self.violation(
                        ViolationKind::MalformedFrame,
                        &operation.session,
                        Some(&operation.user),
                        Some(answer.at),
                        format!("answer to {}: {error}", operation.event_id),
                    )),
                    None => {}
                }
            }
        }
    }

    /// Seats within the limit and nobody seated twice, in one rendering.
    fn check_rendering(
        &self,
        user: &str,
        at: Duration,
        view: &View,
        source: impl Fn() -> String,
        violations: &mut Vec<Violation>,
    ) {
        let Some(spec) = self.sessions.get(view.id.as_str()) else {
            return;
        };
        if spec.seat_limit > 0 && view.joined.len() > spec.seat_limit {
            violations.push(self.violation(
                ViolationKind::SeatLimit,
                &spec.id,
                Some(user),
                Some(at),
                format!(
                    "{} participants, limit {} ({}): {:?}",
                    view.joined.len(),
                    spec.seat_limit,
                    source(),
                    view.joined
                ),
            ));
        }
        let distinct: HashSet<&String> = view.joined.iter().collect();
        if distinct.len() != view.joined.len() {
            violations.push(self.violation(
                ViolationKind::DuplicateParticipant,
                &spec.id,
                Some(user),
                Some(at),
                format!(
                    "joinedUsers lists a user twice ({}): {:?}",
                    source(),
                    view.joined
                ),
            ));
        }
    }

    // ---- retries ----

    fn check_retries(&self, violations: &mut Vec<Violation>) {
        let mut by_event: HashMap<(&str, &str), Vec<(&Answer, usize)>> = HashMap::new();
        for (position, operation) in self.history.operations.iter().enumerate() {
            if !operation.kind.changes_data() {
                continue;
            }
            let key = (operation.user.as_str(), operation.event_id.as_str());
            by_event
                .entry(key)
                .or_default()
                .extend(operation.answers().map(|answer| (answer, position)));
        }
        for (key, answers) in by_event.iter_mut() {
            if let (Some(late), Some(&(_, position))) = (self.late.get(key), answers.first()) {
                answers.extend(late.iter().map(|answer| (*answer, position)));
            }
        }
        for ((user, event_id), mut answers) in by_event {
            answers.retain(|(answer, _)| is_kept(answer));
            answers.sort_by_key(|(answer, _)| answer.at);
            let Some(((first, first_position), rest)) = answers.split_first() else {
                continue;
            };
            for (answer, position) in rest {
                let same = first.code == answer.code
                    && first.message == answer.message
                    && first.data == answer.data;
                if !same {
                    let operation = self.operation(*position);
                    violations.push(self.violation(
                        ViolationKind::RetryAnswersDiffer,
                        &operation.session,
                        Some(user),
                        Some(answer.at),
                        format!(
                            "event.id {event_id}: first answered {} {:?} {} at {:.3} s ({:?}), \
                             then {} {:?} {} ({:?})",
                            first.code,
                            first.message,
                            first.data.as_ref().map_or("no data".to_owned(), Value::to_string),
                            first.at.as_secs_f64(),
                            self.operation(*first_position).origin,
                            answer.code,
                            answer.message,
                            answer.data.as_ref().map_or("no data".to_owned(), Value::to_string),
                            operation.origin,
                        ),
                    ));
                    break;
                }
            }
        }
    }

    // ---- the final state against the answers ----

    /// The session's final state (its owner's final read), or why there is none.
    fn final_state<'s>(&'s self, spec: &'s SessionSpec) -> Result<&'s View, String> {
        if let Some(view) = self
            .final_views
            .get(&(spec.owner.as_str(), spec.id.as_str()))
        {
            return Ok(view);
        }
        match self
            .final_reads
            .get(&(spec.owner.as_str(), spec.id.as_str()))
        {
            None => Err("the owner's final read was never made".to_owned()),
            Some(None) => Err("the owner's final read got no answer".to_owned()),
            Some(Some(answer)) => Err(format!(
                "the owner's final read was answered {} {:?}",
                answer.code, answer.message
            )),
        }
    }

    /// The user's final rank on the session's waitlist (from their own final read).
    fn final_rank(&self, user: &str, session: &str) -> Option<u64> {
        self.final_views
            .get(&(user, session))
            .and_then(|view| view.waitlist_position)
    }

    fn check_final_state(&self, violations: &mut Vec<Violation>) {
        for ((user, session), answer) in &self.final_reads {
            let failed = match answer {
                None => Some("no answer".to_owned()),
                Some(answer) if answer.code != 0 && answer.code != 404 => {
                    Some(format!("{} {:?}", answer.code, answer.message))
                }
                Some(_) => None,
            };
            if let Some(failed) = failed {
                violations.push(self.violation(
                    ViolationKind::FinalReadFailed,
                    session,
                    Some(user),
                    None,
                    format!("the final getSession got {failed}"),
                ));
            }
        }
        for spec in &self.history.sessions {
            let end = match self.final_state(spec) {
                Ok(view) => view,
                Err(why) => {
                    if self
                        .final_reads
                        .contains_key(&(spec.owner.as_str(), spec.id.as_str()))
                    {
                        continue; // Reported above.
                    }
                    violations.push(self.violation(
                        ViolationKind::FinalReadFailed,
                        &spec.id,
                        Some(&spec.owner),
                        None,
                        why,
                    ));
                    continue;
                }
            };
            self.check_session_end(spec, end, violations);
        }
    }

    fn check_session_end(&self, spec: &SessionSpec, end: &View, violations: &mut Vec<Violation>) {
        let session = spec.id.as_str();
        let users: BTreeSet<&str> = self
            .by_actor
            .keys()
            .filter(|(_, on)| *on == session)
            .map(|(user, _)| *user)
            .chain(end.joined.iter().map(String::as_str))
            .chain(
                self.naming
                    .keys()
                    .filter(|(on, _)| *on == session)
                    .map(|(_, user)| *user),
            )
            .collect();
        for user in users {
            let seated = end.has_joined(user);
            let rank = self.final_rank(user, session);
            let joins: Vec<usize> = self.joins(user, session).collect();
            let explained = joins
                .iter()
                .any(|&position| self.outcomes[position].may_have_happened());
            let left = self.leave_sent(user, session);
            if left.is_none() {
                if let Some(&position) = joins
                    .iter()
                    .find(|&&position| self.outcomes[position].seat_at().is_some())
                    && !seated
                {
                    violations.push(self.violation(
                        ViolationKind::JoinLost,
                        session,
                        Some(user),
                        None,
                        format!(
                            "{} took a seat, but the final joinedUsers {:?} lack the user",
                            self.describe(position),
                            end.joined
                        ),
                    ));
                }
                if let Some(&position) = joins
                    .iter()
                    .find(|&&position| self.outcomes[position].waitlisted_at().is_some())
                    && !seated
                    && rank.is_none()
                    && self.final_views.contains_key(&(user, session))
                {
                    violations.push(self.violation(
                        ViolationKind::WaitlistLost,
                        session,
                        Some(user),
                        None,
                        format!(
                            "{} waited for a seat, but at the end the user is neither seated nor \
                             waiting",
                            self.describe(position)
                        ),
                    ));
                }
            }
            if (seated || rank.is_some()) && !explained {
                let tried = joins
                    .iter()
                    .map(|&position| self.describe(position))
                    .collect::<Vec<_>>()
                    .join("; ");
                violations.push(self.violation(
                    ViolationKind::SeatedWithoutJoin,
                    session,
                    Some(user),
                    None,
                    format!(
                        "{} at the end, yet no join of the user succeeded or may have: [{tried}]",
                        if seated { "seated" } else { "waiting" }
                    ),
                ));
            }
            let declined = self
                .by_actor
                .get(&(user, session))
                .into_iter()
                .flatten()
                .copied()
                .filter(|&position| self.operation(position).kind == OpKind::Decline)
                .filter_map(|position| {
                    self.outcomes[position]
                        .succeeded_at()
                        .map(|at| (position, at))
                })
                .min_by_key(|(_, at)| *at);
            if let Some((position, declined_at)) = declined
                && (seated || rank.is_some())
            {
                let joined_later = joins.iter().any(|&join| {
                    self.operation(join)
                        .first_sent()
                        .is_some_and(|sent| sent > declined_at)
                });
                if !joined_later {
                    let resent: Vec<String> = self
                        .by_actor
                        .get(&(user, session))
                        .into_iter()
                        .flatten()
                        .copied()
                        .filter(|&other| {
                            let operation = self.operation(other);
                            operation.origin == Origin::Resend
                                && matches!(operation.kind, OpKind::Join { .. })
                                && operation
                                    .first_sent()
                                    .is_some_and(|sent| sent > declined_at)
                        })
                        .map(|other| self.describe(other))
                        .collect();
                    violations.push(self.violation(
                        ViolationKind::DeclineLost,
                        session,
                        Some(user),
                        Some(declined_at),
                        format!(
                            "{} succeeded, yet the user is {} at the end{}",
                            self.describe(position),
                            if seated { "seated" } else { "waiting" },
                            if resent.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    " (earlier joins sent again with their event.id since: {})",
                                    resent.join("; ")
                                )
                            }
                        ),
                    ));
                }
            }
            self.check_invitations_of(spec, end, user, violations);
        }
        self.check_title(spec, end, violations);
    }

    fn check_invitations_of(
        &self,
        spec: &SessionSpec,
        end: &View,
        user: &str,
        violations: &mut Vec<Violation>,
    ) {
        let session = spec.id.as_str();
        let Some(naming) = self.naming.get(&(session, user)) else {
            return;
        };
        let uninvite_sent = naming.iter().any(|&position| {
            matches!(self.operation(position).kind, OpKind::Uninvite { .. })
                && self.operation(position).first_sent().is_some()
        });
        for &position in naming {
            let operation = self.operation(position);
            if self.outcomes[position].succeeded_at().is_none()
                || operation.origin == Origin::Resend
            {
                continue;
            }
            match operation.kind {
                OpKind::Invite { .. } if !uninvite_sent && end.invitee(user).is_none() => {
                    violations.push(self.violation(
                        ViolationKind::InviteLost,
                        session,
                        Some(user),
                        None,
                        format!(
                            "{} succeeded, but the final invitedUsers lack the user",
                            self.describe(position)
                        ),
                    ));
                }
                OpKind::Uninvite { .. }
                    if end.invitee(user).is_some() || spec.private && end.has_joined(user) =>
                {
                    violations.push(self.violation(
                        ViolationKind::UninviteLost,
                        session,
                        Some(user),
                        None,
                        format!(
                            "{} succeeded, but at the end the user is still {}",
                            self.describe(position),
                            if end.invitee(user).is_some() {
                                "invited"
                            } else {
                                "seated"
                            }
                        ),
                    ));
                }
                _ => {}
            }
        }
    }

    fn check_title(&self, spec: &SessionSpec, end: &View, violations: &mut Vec<Violation>) {
        let session = spec.id.as_str();
        let updates: Vec<usize> = self
            .by_actor
            .get(&(spec.owner.as_str(), session))
            .into_iter()
            .flatten()
            .copied()
            .filter(|&position| {
                let operation = self.operation(position);
                matches!(operation.kind, OpKind::Update { .. })
                    && operation.origin != Origin::Resend
            })
            .collect();
        let seq_of = |position: usize| match self.operation(position).kind {
            OpKind::Update { title_seq } => title_seq,
            _ => 0,
        };
        let last_ok = updates
            .iter()
            .copied()
            .filter_map(|position| {
                self.outcomes[position]
                    .succeeded_at()
                    .map(|at| (position, at))
            })
            .max_by_key(|(_, at)| *at);
        let mut allowed: BTreeSet<u64> = BTreeSet::new();
        allowed.insert(last_ok.map_or(0, |(position, _)| seq_of(position)));
        for &position in &updates {
            let after = match last_ok {
                Some((_, answered)) => self
                    .operation(position)
                    .first_sent()
                    .is_some_and(|sent| sent > answered),
                None => true,
            };
            if after && self.outcomes[position] == Outcome::Unknown {
                allowed.insert(seq_of(position));
            }
        }
        let seq = title_seq(&end.title);
        if !seq.is_some_and(|seq| allowed.contains(&seq)) {
            violations.push(self.violation(
                ViolationKind::UpdateLost,
                session,
                Some(&spec.owner),
                None,
                format!(
                    "final title {:?}; the last successful update {}; possible titles #{:?}",
                    end.title,
                    last_ok.map_or("was none".to_owned(), |(position, _)| {
                        self.describe(position)
                    }),
                    allowed
                ),
            ));
        }
    }

    // ---- waitlists ----

    fn check_waitlists(&self, violations: &mut Vec<Violation>) {
        for spec in &self.history.sessions {
            let Ok(end) = self.final_state(spec) else {
                continue;
            };
            self.check_waitlist(spec, end, violations);
        }
    }

    fn check_waitlist(&self, spec: &SessionSpec, end: &View, violations: &mut Vec<Violation>) {
        let session = spec.id.as_str();
        // Per user who asked to wait: when they first asked, and their first `waitlisted`.
        let mut asked: HashMap<&str, Duration> = HashMap::new();
        let mut waited: HashMap<&str, Duration> = HashMap::new();
        for ((user, on), operations) in &self.by_actor {
            if *on != session {
                continue;
            }
            for &position in operations {
                let operation = self.operation(position);
                if operation.origin == Origin::Resend
                    || !matches!(operation.kind, OpKind::Join { waitlist: true })
                {
                    continue;
                }
                if let Some(sent) = operation.first_sent() {
                    let first = asked.entry(user).or_insert(sent);
                    *first = (*first).min(sent);
                }
                if let Some(at) = self.outcomes[position].waitlisted_at() {
                    let first = waited.entry(user).or_insert(at);
                    *first = (*first).min(at);
                }
            }
        }
        let ahead = |first: &str, second: &str| matches!((waited.get(first), asked.get(second)), (Some(answered), Some(sent)) if answered < sent);
        let ranks: Vec<(&str, u64)> = asked
            .keys()
            .filter_map(|user| self.final_rank(user, session).map(|rank| (*user, rank)))
            .collect();
        // Order: nobody surely behind a waiting user is seated; ranks follow the order.
        for &(waiting, rank) in &ranks {
            if self.leave_sent(waiting, session).is_some() {
                continue;
            }
            for other in waited.keys() {
                if *other == waiting || !ahead(waiting, other) {
                    continue;
                }
                if end.has_joined(other) {
                    violations.push(self.violation(
                        ViolationKind::WaitlistOrder,
                        session,
                        Some(waiting),
                        None,
                        format!(
                            "still waiting at rank {rank}, though answered `waitlisted` at {:.3} s, \
                             before {other} asked to wait at {:.3} s; {other} is seated at the end",
                            waited[waiting].as_secs_f64(),
                            asked[other].as_secs_f64()
                        ),
                    ));
                }
            }
            for &(other, other_rank) in &ranks {
                if other != waiting && ahead(waiting, other) && rank >= other_rank {
                    violations.push(self.violation(
                        ViolationKind::WaitlistOrder,
                        session,
                        Some(waiting),
                        None,
                        format!(
                            "final rank {rank}, not before {other}'s {other_rank}, though it \
                             waited first ({:.3} s, {other} asked at {:.3} s)",
                            waited[waiting].as_secs_f64(),
                            asked[other].as_secs_f64()
                        ),
                    ));
                }
            }
        }
        // Ranks: distinct, and 1..n when every candidate read the session at the end.
        let mut sorted: Vec<u64> = ranks.iter().map(|(_, rank)| *rank).collect();
        sorted.sort_unstable();
        let distinct = sorted.windows(2).all(|pair| pair[0] != pair[1]);
        let everyone_read = asked.keys().all(|user| {
            matches!(self.final_reads.get(&(*user, session)), Some(Some(answer)) if answer.code == 0 || answer.code == 404)
        });
        let gapless = sorted
            .iter()
            .enumerate()
            .all(|(index, rank)| *rank == index as u64 + 1);
        if !distinct || everyone_read && !gapless {
            violations.push(self.violation(
                ViolationKind::WaitlistRanks,
                session,
                None,
                None,
                format!("final waitlist ranks {ranks:?}"),
            ));
        }
        if !ranks.is_empty() && spec.seat_limit > 0 && end.joined.len() < spec.seat_limit {
            violations.push(self.violation(
                ViolationKind::FreeSeatWhileWaiting,
                session,
                None,
                None,
                format!(
                    "{} of {} seats taken at the end while {} wait: {ranks:?}",
                    end.joined.len(),
                    spec.seat_limit,
                    ranks.len()
                ),
            ));
        }
    }

    // ---- pushes ----

    fn check_push_identity(&self, violations: &mut Vec<Violation>) {
        let mut seen: HashMap<(&str, &str), (u64, Duration)> = HashMap::new();
        for push in &self.history.pushes {
            let Some(event_id) = push.frame.event_id() else {
                continue;
            };
            match seen.get(&(push.user.as_str(), event_id)) {
                Some((connection, at)) => violations.push(Violation {
                    kind: ViolationKind::PushDuplicate,
                    session: None,
                    user: Some(push.user.clone()),
                    at: Some(push.at),
                    detail: format!(
                        "push event.id {event_id} received at {:.3} s on connection {connection} \
                         and again at {:.3} s on connection {}",
                        at.as_secs_f64(),
                        push.at.as_secs_f64(),
                        push.connection
                    ),
                }),
                None => {
                    seen.insert((push.user.as_str(), event_id), (push.connection, push.at));
                }
            }
        }
    }

    fn check_push_order(&self, violations: &mut Vec<Violation>) {
        for ((user, session), pushes) in &self.session_pushes {
            if let Some(violation) = self.first_regression(user, session, pushes) {
                violations.push(violation);
            }
        }
    }

    /// The first push of `pushes` (one user's, about one session, by arrival) that shows
    /// an older state than one before it.
    fn first_regression(
        &self,
        user: &str,
        session: &str,
        pushes: &[(Duration, u64, &View)],
    ) -> Option<Violation> {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Phase {
            Present,
            Gone,
        }
        let mut title: Option<(u64, Duration)> = None;
        let mut joined: HashMap<&str, Phase> = HashMap::new();
        let mut invited: HashMap<&str, u8> = HashMap::new();
        let mut own_rank: Option<(Option<u64>, Phase)> = None;
        let regression = |at: Duration, what: String| {
            Some(self.violation(
                ViolationKind::PushOrder,
                session,
                Some(user),
                Some(at),
                what,
            ))
        };
        for (at, connection, view) in pushes {
            let at = *at;
            if let Some(seq) = title_seq(&view.title) {
                if let Some((before, seen_at)) = title
                    && seq < before
                {
                    return regression(
                        at,
                        format!(
                            "title #{seq} pushed on connection {connection} after #{before} \
                             (pushed at {:.3} s)",
                            seen_at.as_secs_f64()
                        ),
                    );
                }
                title = Some((seq, at));
            }
            for participant in &view.joined {
                match joined.insert(participant, Phase::Present) {
                    Some(Phase::Gone) => {
                        return regression(
                            at,
                            format!(
                                "{participant} seated again in a push on connection {connection} \
                                 after a push without them"
                            ),
                        );
                    }
                    _ => continue,
                }
            }
            for (participant, phase) in joined.iter_mut() {
                if !view.has_joined(participant) {
                    *phase = Phase::Gone;
                }
            }
            for invitee in &view.invited {
                let rank = match invitee.status {
                    0 => 1,
                    1 => 2,
                    _ => 3,
                };
                let before = invited.insert(&invitee.user, rank).unwrap_or(0);
                if rank < before {
                    return regression(
                        at,
                        format!(
                            "invitation of {} went back to status {} in a push on connection \
                             {connection}",
                            invitee.user, invitee.status
                        ),
                    );
                }
            }
            for (invitee, rank) in invited.iter_mut() {
                if view.invitee(invitee).is_none() {
                    *rank = 4;
                }
            }
            own_rank = match (own_rank, view.waitlist_position) {
                (Some((_, Phase::Gone)), Some(position)) => {
                    return regression(
                        at,
                        format!(
                            "own waitlistPosition {position} on connection {connection} after it \
                             had gone"
                        ),
                    );
                }
                (Some((Some(before), Phase::Present)), Some(position)) if position > before => {
                    return regression(
                        at,
                        format!(
                            "own waitlistPosition rose from {before} to {position} on connection \
                             {connection}"
                        ),
                    );
                }
                (_, Some(position)) => Some((Some(position), Phase::Present)),
                (Some(_), None) => Some((None, Phase::Gone)),
                (None, None) => None,
            };
        }
        None
    }

    /// The end of the unbroken stretch of connections of `user` that covers `from`: up to
    /// the first reconnect that did not resume cleanly (see the module documentation).
    /// `None` when no connection was open at `from`.
    fn covered_until(&self, user: &str, from: Duration) -> Option<Duration> {
        let connections = self.connections.get(user)?;
        let start = connections.iter().position(|connection| {
            connection.opened <= from && connection.closed.is_none_or(|closed| closed > from)
        })?;
        let mut end = connections[start].closed.unwrap_or(self.history.ended);
        for pair in connections[start..].windows(2) {
            let (before, after) = (pair[0], pair[1]);
            let Some(closed) = before.closed else {
                break;
            };
            let clean = after.resume_after.as_deref().is_some_and(|resume_after| {
                self.push_arrival
                    .get(&(user, resume_after))
                    .is_some_and(|&arrived| {
                        arrived < from || closed >= arrived + self.settings.delivery_margin
                    })
            });
            if !clean {
                break;
            }
            end = after.closed.unwrap_or(self.history.ended);
        }
        Some(end)
    }

    fn changes(&self) -> Vec<Change<'a>> {
        let mut changes = Vec::new();
        for (position, operation) in self.history.operations.iter().enumerate() {
            if matches!(
                operation.origin,
                Origin::Resend | Origin::Final | Origin::Refetch
            ) {
                continue;
            }
            let (Some(sent), Some(answered)) = (
                operation.first_sent(),
                self.outcomes[position].succeeded_at(),
            ) else {
                continue;
            };
            let session = operation.session.as_str();
            let user = operation.user.as_str();
            let (shows, also_told, no_longer_told) = match &operation.kind {
                OpKind::Join { .. } => {
                    if self.outcomes[position].seat_at().is_none() {
                        continue;
                    }
                    // Only the first join that may have happened seats the user.
                    let first = self
                        .joins(user, session)
                        .find(|&join| self.outcomes[join].may_have_happened());
                    if first != Some(position) {
                        continue;
                    }
                    (Shows::Joined(user), vec![user], vec![])
                }
                OpKind::Decline => (Shows::NotJoined(user), vec![], vec![user]),
                OpKind::Update { title_seq } => (Shows::TitleAtLeast(*title_seq), vec![], vec![]),
                OpKind::Invite { users } => {
                    let users: Vec<&str> = users.iter().map(String::as_str).collect();
                    (Shows::Invited(users.clone()), users, vec![])
                }
                OpKind::Uninvite { users } => {
                    let users: Vec<&str> = users.iter().map(String::as_str).collect();
                    (Shows::NotInvited(users.clone()), vec![], users)
                }
                OpKind::Get => continue,
            };
            changes.push(Change {
                operation: position,
                session,
                sent,
                answered,
                shows,
                also_told,
                no_longer_told,
            });
        }
        changes
    }

    /// Those surely in a session's audience from `from` until `until`.
    fn surely_told(&self, session: &'a str, from: Duration, until: Duration) -> BTreeSet<&'a str> {
        let mut told = BTreeSet::new();
        if let Some(spec) = self.sessions.get(session) {
            told.insert(spec.owner.as_str());
        }
        for ((user, on), operations) in &self.by_actor {
            if *on != session || self.left_by(user, session, until) {
                continue;
            }
            let in_before = operations.iter().any(|&position| {
                matches!(self.operation(position).kind, OpKind::Join { .. })
                    && self.operation(position).origin != Origin::Resend
                    && self.outcomes[position]
                        .succeeded_at()
                        .is_some_and(|at| at < from)
            });
            if in_before {
                told.insert(user);
            }
        }
        for ((on, user), operations) in &self.naming {
            if *on != session || self.left_by(user, session, until) {
                continue;
            }
            let invited_before = operations.iter().any(|&position| {
                matches!(self.operation(position).kind, OpKind::Invite { .. })
                    && self.outcomes[position]
                        .succeeded_at()
                        .is_some_and(|at| at < from)
            });
            if invited_before {
                told.insert(user);
            }
        }
        told
    }

    fn reflects(&self, view: &View, change: &Change, at: Duration) -> bool {
        let session = change.session;
        match &change.shows {
            Shows::Joined(user) => view.has_joined(user) || self.left_by(user, session, at),
            Shows::NotJoined(user) => !view.has_joined(user),
            Shows::TitleAtLeast(seq) => title_seq(&view.title).is_some_and(|seen| seen >= *seq),
            Shows::Invited(users) => users
                .iter()
                .all(|user| view.invitee(user).is_some() || self.left_by(user, session, at)),
            Shows::NotInvited(users) => users.iter().all(|user| view.invitee(user).is_none()),
        }
    }

    fn check_push_delivery(&self, violations: &mut Vec<Violation>) -> Vec<Duration> {
        let mut lags = Vec::new();
        for change in self.changes() {
            let until = change.answered + self.settings.delivery_allowance;
            if until > self.history.ended {
                continue;
            }
            let mut told = self.surely_told(change.session, change.sent, until);
            for user in &change.also_told {
                if !self.left_by(user, change.session, until) {
                    told.insert(user);
                }
            }
            for user in &change.no_longer_told {
                told.remove(user);
            }
            for user in told {
                let Some(covered) = self.covered_until(user, change.sent) else {
                    continue;
                };
                if covered < until {
                    continue;
                }
                let shown = self
                    .session_pushes
                    .get(&(user, change.session))
                    .into_iter()
                    .flatten()
                    .find(|(at, _, view)| {
                        *at >= change.sent && *at <= covered && self.reflects(view, &change, *at)
                    });
                if let Some((at, _, _)) = shown {
                    lags.push(at.saturating_sub(change.answered));
                    continue;
                }
                let excused = self
                    .resyncs
                    .get(user)
                    .into_iter()
                    .flatten()
                    .any(|at| *at >= change.sent && *at <= covered)
                    || self
                        .deletions
                        .get(&(user, change.session))
                        .into_iter()
                        .flatten()
                        .any(|at| *at >= change.sent);
                if !excused {
                    violations.push(self.violation(
                        ViolationKind::PushMissing,
                        change.session,
                        Some(user),
                        Some(change.answered),
                        format!(
                            "{} by {} (answered at {:.3} s) never reached this user, in its \
                             audience and connected from then until {:.3} s",
                            self.describe(change.operation),
                            self.operation(change.operation).user,
                            change.answered.as_secs_f64(),
                            covered.as_secs_f64()
                        ),
                    ));
                }
            }
        }
        lags
    }

    /// When the user last became part of the session's audience (the last answer of an
    /// operation that may have brought them in); `None` when nothing did.
    fn entered(&self, spec: &SessionSpec, user: &str) -> Option<Duration> {
        if spec.owner == user {
            return Some(Duration::ZERO);
        }
        let joins = self
            .joins(user, &spec.id)
            .filter(|&position| self.outcomes[position].may_have_happened());
        let invites = self
            .naming
            .get(&(spec.id.as_str(), user))
            .into_iter()
            .flatten()
            .copied()
            .filter(|&position| {
                matches!(self.operation(position).kind, OpKind::Invite { .. })
                    && self.outcomes[position].may_have_happened()
            });
        joins
            .chain(invites)
            .filter_map(|position| self.operation(position).last_ended())
            .max()
    }

    fn check_final_knowledge(&self, violations: &mut Vec<Violation>) {
        let reads_started = self.history.final_reads_started;
        for spec in &self.history.sessions {
            let Ok(end) = self.final_state(spec) else {
                continue;
            };
            let session = spec.id.as_str();
            let mut audience: BTreeSet<&str> = BTreeSet::new();
            audience.insert(&spec.owner);
            audience.extend(end.joined.iter().map(String::as_str));
            audience.extend(
                end.invited
                    .iter()
                    .filter(|invitee| invitee.status != 2)
                    .map(|invitee| invitee.user.as_str()),
            );
            audience.extend(
                self.final_views
                    .iter()
                    .filter(|((_, on), view)| *on == session && view.waitlist_position.is_some())
                    .map(|((user, _), _)| *user),
            );
            for user in audience {
                let Some(final_view) = self.final_views.get(&(user, session)) else {
                    continue;
                };
                let Some(entered) = self.entered(spec, user) else {
                    continue;
                };
                let Some((known_at, known, source)) =
                    self.last_knowledge(user, session, entered, reads_started)
                else {
                    continue;
                };
                let resynced = self
                    .resyncs
                    .get(user)
                    .into_iter()
                    .flatten()
                    .any(|at| *at >= known_at);
                let covered = self
                    .covered_until(user, known_at)
                    .is_some_and(|until| until >= reads_started);
                if resynced || !covered {
                    continue;
                }
                let differences = known.differences(final_view);
                if !differences.is_empty() {
                    violations.push(self.violation(
                        ViolationKind::StaleView,
                        session,
                        Some(user),
                        Some(known_at),
                        format!(
                            "the last view the user got ({source} at {:.3} s) differs from the \
                             final state (pushed vs final): {differences}",
                            known_at.as_secs_f64()
                        ),
                    ));
                }
            }
        }
    }

    /// The user's last push or own read of the session in `(after, before)`.
    fn last_knowledge(
        &self,
        user: &str,
        session: &str,
        after: Duration,
        before: Duration,
    ) -> Option<(Duration, View, String)> {
        let mut last: Option<(Duration, View, String)> = None;
        // The newest view is the one with the larger `version` (an answer may arrive after
        // a push of a later change); of views of one version, the last to arrive.
        let mut consider = |at: Duration, view: &View, source: String| {
            let newer = last.as_ref().is_none_or(|(known_at, known, _)| {
                (view.version, at) >= (known.version, *known_at)
            });
            if at > after && at < before && newer {
                last = Some((at, view.clone(), source));
            }
        };
        for (at, connection, view) in self
            .session_pushes
            .get(&(user, session))
            .into_iter()
            .flatten()
        {
            consider(*at, view, format!("push on connection {connection}"));
        }
        // A request sent again with its `event.id` is answered with its first answer: that
        // view is as old as the first answer, whenever it arrives again.
        let mut first_answers: HashMap<&str, (Duration, View)> = HashMap::new();
        for &position in self.by_actor.get(&(user, session)).into_iter().flatten() {
            let operation = self.operation(position);
            if operation.origin == Origin::Final {
                continue;
            }
            for answer in operation.answers() {
                if let Some(Ok(view)) = answer_view(answer) {
                    let first = first_answers
                        .entry(operation.event_id.as_str())
                        .or_insert_with(|| (answer.at, view.clone()));
                    if answer.at < first.0 {
                        *first = (answer.at, view);
                    }
                }
            }
        }
        for (event_id, (at, view)) in first_answers {
            consider(at, &view, format!("answer to {event_id}"));
        }
        last
    }
}

fn seconds(at: Option<Duration>) -> String {
    at.map_or("never".to_owned(), |at| {
        format!("{:.3} s", at.as_secs_f64())
    })
}

/// The recovery after each fault. For every `serve` process, the probes sent from the
/// fault's end until the next fault starts (or the workload ends) are looked at: a probe
/// is *bad* when it failed (not answered 0 in time, or the process could not be reached)
/// or when it and the probe after it were both slower than the threshold — `slow_factor`
/// times the median latency of that process's successful probes in the `baseline_window`
/// before the fault (before the first fault when that has none), and at least
/// `slow_floor`. The process recovered when its last bad probe finished; it did not
/// recover in the window when its last probe was bad or it had none.
pub fn recoveries(history: &History, settings: &CheckSettings) -> Vec<Recovery> {
    let processes = history
        .probes
        .iter()
        .map(|probe| probe.process + 1)
        .max()
        .unwrap_or(0);
    let first_fault = history
        .faults
        .first()
        .map_or(history.workload_ended, |fault| fault.started);
    let mut recoveries = Vec::new();
    for (position, fault) in history.faults.iter().enumerate() {
        let window_end = history
            .faults
            .get(position + 1)
            .map_or(history.workload_ended, |next| next.started);
        let mut thresholds = Vec::new();
        let mut per_process = Vec::new();
        for process in 0..processes {
            let probes_of = |from: Duration, to: Duration| {
                history.probes.iter().filter(move |probe| {
                    probe.process == process && probe.sent >= from && probe.sent < to
                })
            };
            let mut baseline: Vec<Duration> = probes_of(
                fault.started.saturating_sub(settings.baseline_window),
                fault.started,
            )
            .filter(|probe| probe.succeeded)
            .map(|probe| probe.latency())
            .collect();
            if baseline.is_empty() {
                baseline = probes_of(Duration::ZERO, first_fault)
                    .filter(|probe| probe.succeeded)
                    .map(|probe| probe.latency())
                    .collect();
            }
            baseline.sort_unstable();
            let median = baseline
                .get(baseline.len() / 2)
                .copied()
                .unwrap_or_default();
            let threshold = median
                .mul_f64(settings.slow_factor)
                .max(settings.slow_floor);
            thresholds.push(threshold);
            // Probes still in flight when the next fault began say nothing of this one.
            let mut probes: Vec<_> = probes_of(fault.ended, window_end)
                .filter(|probe| probe.finished <= window_end)
                .collect();
            probes.sort_by_key(|probe| probe.sent);
            let slow = |index: usize| {
                probes
                    .get(index)
                    .is_some_and(|probe| probe.succeeded && probe.latency() > threshold)
            };
            let bad = |index: usize| {
                !probes[index].succeeded
                    || slow(index) && (slow(index + 1) || index > 0 && slow(index - 1))
            };
            let last_bad = (0..probes.len()).rev().find(|&index| bad(index));
            per_process.push(match (probes.last(), last_bad) {
                (None, _) => None,
                (Some(_), None) => Some(Duration::ZERO),
                (Some(_), Some(index)) if index + 1 == probes.len() => None,
                (Some(_), Some(index)) => Some(probes[index].finished.saturating_sub(fault.ended)),
            });
        }
        recoveries.push(Recovery {
            fault: position,
            kind: fault.kind,
            detail: fault.detail.clone(),
            ended: fault.ended,
            threshold: thresholds.into_iter().max().unwrap_or(settings.slow_floor),
            per_process,
            window: window_end.saturating_sub(fault.ended),
        });
    }
    recoveries
}
