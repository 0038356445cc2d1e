//! What a chaos run records: every request (with each of its attempts and their answers),
//! every push and connection, every fault and every recovery probe, each stamped with the
//! time since the run started; and, at the end, how each user sees each session they are
//! part of. The checker (`checker.rs`) reads only this.
//!
//! Times are [`Duration`]s since the start of the run, taken on the harness's clock when
//! a frame was sent or read.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use std::fmt::Write as _;

use serde_json::Value;

/// Everything one run recorded, ready for the checker.
#[derive(Debug, Default, Clone)]
pub struct History {
    /// The sessions the workload used, with their seat limits.
    pub sessions: Vec<SessionSpec>,
    pub operations: Vec<Operation>,
    pub connections: Vec<ConnectionRecord>,
    pub pushes: Vec<PushRecord>,
    pub faults: Vec<FaultRecord>,
    pub probes: Vec<ProbeRecord>,
    /// Answers that arrived after their attempt had been given up.
    pub late_answers: Vec<LateAnswer>,
    /// When the workload stopped sending (the quiet period before the final reads).
    pub workload_ended: Duration,
    /// When the final reads began: no change is made after this.
    pub final_reads_started: Duration,
    /// When recording stopped.
    pub ended: Duration,
    /// `serve` processes found exited at the end although the schedule did not kill them.
    pub exited_processes: Vec<usize>,
}

/// A session of the workload.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSpec {
    pub id: String,
    /// A short name for reports (`public-3`, `private-1`, `burst-0`).
    pub label: String,
    pub owner: String,
    pub private: bool,
    /// Most participants besides the owner (the event's `participantLimit`).
    pub seat_limit: usize,
}

/// Why a request was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// A client's own step.
    Workload,
    /// One of the simultaneous joins of a burst fault.
    Burst,
    /// A finished request sent again with its `event.id`, to check that it is not worked
    /// on twice.
    Resend,
    /// A read after a `social:resync` or a reconnect that could not resume.
    Refetch,
    /// The reads of the end state.
    Final,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpKind {
    Join {
        waitlist: bool,
    },
    Decline,
    /// `updateSession` setting the title to its `title_seq`th version.
    Update {
        title_seq: u64,
    },
    Invite {
        users: Vec<String>,
    },
    Uninvite {
        users: Vec<String>,
    },
    Get,
}

impl OpKind {
    /// The name used in reports.
    pub fn name(&self) -> &'static str {
        match self {
            OpKind::Join { waitlist: false } => "join",
            OpKind::Join { waitlist: true } => "join+waitlist",
            OpKind::Decline => "decline",
            OpKind::Update { .. } => "update",
            OpKind::Invite { .. } => "invite",
            OpKind::Uninvite { .. } => "uninvite",
            OpKind::Get => "get",
        }
    }

    /// Whether the request may change data (and so is kept for retries).
    pub fn changes_data(&self) -> bool {
        !matches!(self, OpKind::Get)
    }
}

/// One request of one user about one session, with all of its attempts (a retry repeats
/// the `event.id`).
#[derive(Debug, Clone)]
pub struct Operation {
    pub user: String,
    pub session: String,
    pub kind: OpKind,
    pub event_id: String,
    pub origin: Origin,
    pub attempts: Vec<Attempt>,
}

impl Operation {
    /// When the first attempt was sent (`None`: never sent).
    pub fn first_sent(&self) -> Option<Duration> {
        self.attempts.first().map(|attempt| attempt.sent)
    }

    /// When the last attempt ended (answered, given up or cut).
    pub fn last_ended(&self) -> Option<Duration> {
        self.attempts.last().map(Attempt::ended)
    }

    /// The answers received, in order.
    pub fn answers(&self) -> impl Iterator<Item = &Answer> {
        self.attempts
            .iter()
            .filter_map(|attempt| match &attempt.result {
                AttemptResult::Answered(answer) => Some(answer),
                _ => None,
            })
    }
}

/// One sending of a request.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub connection: u64,
    pub sent: Duration,
    pub result: AttemptResult,
}

impl Attempt {
    pub fn ended(&self) -> Duration {
        match &self.result {
            AttemptResult::Answered(answer) => answer.at,
            AttemptResult::TimedOut { at } | AttemptResult::ConnectionLost { at } => *at,
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum AttemptResult {
    Answered(Answer),
    /// No answer within the client's patience.
    TimedOut {
        at: Duration,
    },
    /// The connection closed before the answer came.
    ConnectionLost {
        at: Duration,
    },
}

/// An answer frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub at: Duration,
    pub code: i64,
    pub message: String,
    /// `data`, when the answer has one.
    pub data: Option<Value>,
}

/// An answer that came after its attempt was given up.
#[derive(Debug, Clone)]
pub struct LateAnswer {
    pub user: String,
    pub event_id: String,
    pub answer: Answer,
}

/// One WebSocket connection of a user.
#[derive(Debug, Clone)]
pub struct ConnectionRecord {
    pub id: u64,
    pub user: String,
    /// Index of the `serve` process.
    pub process: usize,
    pub opened: Duration,
    /// `None`: still open when recording stopped.
    pub closed: Option<Duration>,
    /// The `resumeAfter` of the upgrade.
    pub resume_after: Option<String>,
}

/// A frame the server sent without a request.
#[derive(Debug, Clone)]
pub struct PushRecord {
    pub user: String,
    pub connection: u64,
    pub at: Duration,
    pub frame: PushFrame,
}

#[derive(Debug, Clone)]
pub enum PushFrame {
    /// `social:sessionUpdated`: the session as rendered for this user (read as it
    /// arrived; why not, when it could not be read).
    Updated {
        event_id: String,
        view: Result<View, String>,
    },
    /// `social:sessionDeleted`.
    Deleted {
        event_id: String,
        session_id: String,
    },
    /// `social:resync`.
    Resync,
    /// Any other frame without a request (kept for the report).
    Other { text: String },
}

impl PushFrame {
    /// The push's `event.id`, for those that carry one.
    pub fn event_id(&self) -> Option<&str> {
        match self {
            PushFrame::Updated { event_id, .. } | PushFrame::Deleted { event_id, .. } => {
                Some(event_id)
            }
            PushFrame::Resync | PushFrame::Other { .. } => None,
        }
    }
}

/// What was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// The database stopped with SIGSTOP, then continued with SIGCONT.
    DatabaseFrozen,
    /// The database killed with SIGKILL and started again on its port and files.
    DatabaseKilled,
    /// One `serve` process killed with SIGKILL and started again on its port.
    ServeKilled,
    /// Simultaneous joins of every connected client onto one session.
    Burst,
}

impl FaultKind {
    pub const ALL: [FaultKind; 4] = [
        FaultKind::DatabaseFrozen,
        FaultKind::DatabaseKilled,
        FaultKind::ServeKilled,
        FaultKind::Burst,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::DatabaseFrozen => "database frozen",
            FaultKind::DatabaseKilled => "database kill -9",
            FaultKind::ServeKilled => "serve kill -9",
            FaultKind::Burst => "burst",
        }
    }
}

/// A fault as it happened.
#[derive(Debug, Clone)]
pub struct FaultRecord {
    pub kind: FaultKind,
    /// What exactly (`frozen 4.2 s`, `serve 1`, `1000 joins onto burst-0`).
    pub detail: String,
    pub started: Duration,
    /// When the fault ended: SIGCONT sent, the database listening again, the process
    /// answering `/healthz`, every burst request answered.
    pub ended: Duration,
}

/// One recovery probe (`getSession` of the probe session on one process).
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRecord {
    pub process: usize,
    pub sent: Duration,
    pub finished: Duration,
    /// Answered with code 0.
    pub succeeded: bool,
}

impl ProbeRecord {
    pub fn latency(&self) -> Duration {
        self.finished.saturating_sub(self.sent)
    }
}

/// The recorder shared by every task of a run.
#[derive(Clone)]
pub struct Recorder {
    started: Instant,
    log: Arc<Mutex<History>>,
}

impl Recorder {
    pub fn new(started: Instant) -> Recorder {
        Recorder {
            started,
            log: Arc::new(Mutex::new(History::default())),
        }
    }

    /// Time since the run started.
    pub fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn with<T>(&self, change: impl FnOnce(&mut History) -> T) -> T {
        change(&mut self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn add_session(&self, session: SessionSpec) {
        self.with(|history| history.sessions.push(session));
    }

    /// Records a new operation (before its first attempt); answers its index.
    pub fn start_operation(&self, operation: Operation) -> usize {
        self.with(|history| {
            history.operations.push(operation);
            history.operations.len() - 1
        })
    }

    pub fn add_attempt(&self, operation: usize, attempt: Attempt) {
        self.with(|history| history.operations[operation].attempts.push(attempt));
    }

    pub fn late_answer(&self, user: &str, event_id: &str, answer: Answer) {
        self.with(|history| {
            history.late_answers.push(LateAnswer {
                user: user.to_owned(),
                event_id: event_id.to_owned(),
                answer,
            })
        });
    }

    /// Records an opened connection; answers its id.
    pub fn connection_opened(
        &self,
        user: &str,
        process: usize,
        resume_after: Option<String>,
    ) -> u64 {
        let at = self.now();
        self.with(|history| {
            let id = history.connections.len() as u64;
            history.connections.push(ConnectionRecord {
                id,
                user: user.to_owned(),
                process,
                opened: at,
                closed: None,
                resume_after,
            });
            id
        })
    }

    pub fn connection_closed(&self, connection: u64) {
        let at = self.now();
        self.with(|history| {
            if let Some(record) = history.connections.get_mut(connection as usize)
                && record.closed.is_none()
            {
                record.closed = Some(at);
            }
        });
    }

    pub fn push(&self, user: &str, connection: u64, frame: PushFrame) {
        let at = self.now();
        self.with(|history| {
            history.pushes.push(PushRecord {
                user: user.to_owned(),
                connection,
                at,
                frame,
            })
        });
    }

    pub fn fault(&self, fault: FaultRecord) {
        self.with(|history| history.faults.push(fault));
    }

    pub fn probe(&self, probe: ProbeRecord) {
        self.with(|history| history.probes.push(probe));
    }

    pub fn mark_workload_ended(&self) {
        let at = self.now();
        self.with(|history| history.workload_ended = at);
    }

    pub fn mark_final_reads_started(&self) {
        let at = self.now();
        self.with(|history| history.final_reads_started = at);
    }

    /// The history so far, with recording marked as ended now.
    pub fn finish(&self) -> History {
        let at = self.now();
        self.with(|history| {
            history.ended = at;
            history.clone()
        })
    }
}

/// The title of a session's `seq`th version (the workload's numbering).
pub fn title_of(label: &str, seq: u64) -> String {
    format!("{label} #{seq}")
}

/// The version number of a title made by [`title_of`].
pub fn title_seq(title: &str) -> Option<u64> {
    title.rsplit_once(" #")?.1.parse().ok()
}

/// A session as one user saw it, reduced to what the checks compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub id: String,
    pub title: String,
    pub joined: Vec<String>,
    pub invited: Vec<Invitee>,
    pub waitlist_position: Option<u64>,
    pub is_valid: bool,
    /// The session's `version`: of two views, the larger is the newer (0 where absent).
    pub version: i64,
}

/// One entry of `invitedUsers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitee {
    pub user: String,
    pub role: i64,
    /// 0 pending, 1 accepted, 2 declined.
    pub status: i64,
}

impl View {
    pub fn invitee(&self, user: &str) -> Option<&Invitee> {
        self.invited.iter().find(|invitee| invitee.user == user)
    }

    pub fn has_joined(&self, user: &str) -> bool {
        self.joined.iter().any(|joined| joined == user)
    }

    /// What differs from `other`, for a report; empty when nothing does.
    pub fn differences(&self, other: &View) -> String {
        let mut text = String::new();
        if self.title != other.title {
            let _ = write!(text, "title {:?} vs {:?}; ", self.title, other.title);
        }
        if self.joined != other.joined {
            let _ = write!(text, "joined {:?} vs {:?}; ", self.joined, other.joined);
        }
        if self.invited != other.invited {
            let _ = write!(text, "invited {:?} vs {:?}; ", self.invited, other.invited);
        }
        if self.waitlist_position != other.waitlist_position {
            let _ = write!(
                text,
                "waitlistPosition {:?} vs {:?}; ",
                self.waitlist_position, other.waitlist_position
            );
        }
        if self.is_valid != other.is_valid {
            let _ = write!(text, "isValid {} vs {}; ", self.is_valid, other.is_valid);
        }
        text
    }
}

/// Reads a session rendering (`getSession`'s `session`, a push's `session`).
pub fn parse_view(session: &Value) -> Result<View, String> {
    let text = |field: &str| {
        session[field]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("session.{field} is not a string in {session}"))
    };
    let user_id = |user: &Value, path: &str| {
        user["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{path}.id is not a string in {session}"))
    };
    let joined = session["joinedUsers"]
        .as_array()
        .ok_or_else(|| format!("session.joinedUsers is not an array in {session}"))?
        .iter()
        .map(|user| user_id(user, "joinedUsers[]"))
        .collect::<Result<Vec<_>, _>>()?;
    let invited = session["invitedUsers"]
        .as_array()
        .ok_or_else(|| format!("session.invitedUsers is not an array in {session}"))?
        .iter()
        .map(|entry| {
            Ok(Invitee {
                user: user_id(&entry["user"], "invitedUsers[].user")?,
                role: entry["role"]
                    .as_i64()
                    .ok_or_else(|| format!("invitedUsers[].role missing in {session}"))?,
                status: entry["status"]
                    .as_i64()
                    .ok_or_else(|| format!("invitedUsers[].status missing in {session}"))?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let waitlist_position = match &session["waitlistPosition"] {
        Value::Null => None,
        position => Some(
            position
                .as_u64()
                .ok_or_else(|| format!("session.waitlistPosition is not a number in {session}"))?,
        ),
    };
    Ok(View {
        id: text("id")?,
        title: text("title")?,
        joined,
        invited,
        waitlist_position,
        is_valid: session["isValid"]
            .as_bool()
            .ok_or_else(|| format!("session.isValid is not a boolean in {session}"))?,
        version: session["version"].as_i64().unwrap_or(0),
    })
}
