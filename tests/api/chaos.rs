//! The chaos run, short: real `serve` processes on a real database, 200 seeded clients and
//! one fault of each kind (database frozen, database `kill -9`, `serve` `kill -9`, a burst
//! of simultaneous joins), then the history checker (`benches/chaos/`; the long run is
//! `cargo bench --bench chaos`). And the checker itself, on hand-made histories: each
//! kind of violation is reported, a clean history is not.

#[path = "../../benches/chaos/mod.rs"]
mod harness;

use std::time::Duration;

use harness::checker::{self, CheckSettings, ViolationKind};
use harness::history::{
    Answer, Attempt, AttemptResult, ConnectionRecord, FaultKind, FaultRecord, History, Invitee,
    OpKind, Operation, Origin, ProbeRecord, PushFrame, PushRecord, SessionSpec, View,
};
use serde_json::{Value, json};

/// Longest the short run may take before it counts as hung.
const SHORT_RUN_BOUND: Duration = Duration::from_secs(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_seeded_chaos_run_finds_no_violation_and_recovers_within_five_seconds() {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(1);
    let config = harness::Config::short(seed);
    let result = tokio::time::timeout(SHORT_RUN_BOUND, harness::run(&config))
        .await
        .expect("the chaos run ends by itself")
        .expect("the chaos run can be set up and driven");
    harness::print_seed_report(&result);
    for recovery in &result.report.recoveries {
        let slowest = recovery.slowest();
        assert!(
            slowest.is_some_and(|time| time <= config.check.recovery_limit),
            "fault {} ({}) recovered after {}; logs in {}",
            recovery.fault,
            recovery.kind.name(),
            checker::describe_recovery(recovery),
            result.directory.display()
        );
    }
    assert!(
        result.passed(),
        "{} violations (see above); logs in {}",
        result.report.violations.len(),
        result.directory.display()
    );
}

// ---- the checker on hand-made histories ----

const SESSION: &str = "s-1";

fn s(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds)
}

fn view(title_seq: u64, joined: &[&str]) -> View {
    View {
        id: SESSION.to_owned(),
        title: harness::history::title_of("public-0", title_seq),
        joined: joined.iter().map(|user| (*user).to_owned()).collect(),
        invited: Vec::new(),
        waitlist_position: None,
        is_valid: true,
        version: 0,
    }
}

fn rendering(view: &View) -> Value {
    json!({"session": {
        "id": view.id,
        "title": view.title,
        "joinedUsers": view.joined.iter().map(|user| json!({"id": user})).collect::<Vec<_>>(),
        "invitedUsers": view.invited.iter().map(|invitee| json!({
            "user": {"id": invitee.user}, "role": invitee.role, "status": invitee.status
        })).collect::<Vec<_>>(),
        "isValid": view.is_valid,
        "version": view.version,
        "waitlistPosition": view.waitlist_position,
    }})
}

fn answered(sent: f64, at: f64, code: i64, message: &str, data: Option<Value>) -> Attempt {
    Attempt {
        connection: 0,
        sent: s(sent),
        result: AttemptResult::Answered(Answer {
            at: s(at),
            code,
            message: message.to_owned(),
            data,
        }),
    }
}

fn ok(sent: f64, at: f64) -> Attempt {
    answered(sent, at, 0, "", None)
}

/// A session (2 seats) of `o` where `a` and `b` take the seats, `o` retitles it, `c` waits,
/// `a` declines and `c` is promoted; everyone connected throughout, each push where it
/// belongs, and the final reads agreeing. Connection ids: o 0, a 1, b 2, c 3.
struct Sketch {
    history: History,
    next_push: u64,
}

impl Sketch {
    fn clean() -> Sketch {
        let mut sketch = Sketch {
            history: History {
                sessions: vec![SessionSpec {
                    id: SESSION.to_owned(),
                    label: "public-0".to_owned(),
                    owner: "o".to_owned(),
                    private: false,
                    seat_limit: 2,
                }],
                workload_ended: s(50.0),
                final_reads_started: s(55.0),
                ended: s(60.0),
                ..History::default()
            },
            next_push: 1000,
        };
        for (id, user) in ["o", "a", "b", "c"].iter().enumerate() {
            sketch.history.connections.push(ConnectionRecord {
                id: id as u64,
                user: (*user).to_owned(),
                process: 0,
                opened: s(0.0),
                closed: None,
                resume_after: None,
            });
        }
        sketch.op("a", OpKind::Join { waitlist: false }, vec![ok(1.0, 1.1)]);
        sketch.pushes(&["o", "a"], 1.2, &view(0, &["a"]));
        sketch.op(
            "o",
            OpKind::Update { title_seq: 1 },
            vec![answered(2.0, 2.1, 0, "", Some(rendering(&view(1, &["a"]))))],
        );
        sketch.pushes(&["o", "a"], 2.2, &view(1, &["a"]));
        sketch.op("b", OpKind::Join { waitlist: false }, vec![ok(3.0, 3.1)]);
        sketch.pushes(&["o", "a", "b"], 3.2, &view(1, &["a", "b"]));
        sketch.op(
            "c",
            OpKind::Join { waitlist: true },
            vec![answered(
                4.0,
                4.1,
                0,
                "",
                Some(json!({"waitlisted": true, "position": 1})),
            )],
        );
        sketch.op("a", OpKind::Decline, vec![ok(5.0, 5.1)]);
        sketch.pushes(&["o", "b", "c"], 5.2, &view(1, &["b", "c"]));
        for user in ["o", "a", "b", "c"] {
            sketch.final_read(user, view(1, &["b", "c"]));
        }
        sketch
    }

    /// Records a request; answers its `event.id`.
    fn op(&mut self, user: &str, kind: OpKind, attempts: Vec<Attempt>) -> String {
        let event_id = format!("{user}-{}", self.history.operations.len());
        self.op_from(user, kind, Origin::Workload, &event_id, attempts);
        event_id
    }

    fn op_from(
        &mut self,
        user: &str,
        kind: OpKind,
        origin: Origin,
        event_id: &str,
        attempts: Vec<Attempt>,
    ) {
        self.history.operations.push(Operation {
            user: user.to_owned(),
            session: SESSION.to_owned(),
            kind,
            event_id: event_id.to_owned(),
            origin,
            attempts,
        });
    }

    fn connection_of(&self, user: &str) -> u64 {
        self.history
            .connections
            .iter()
            .rev()
            .find(|connection| connection.user == user)
            .map_or(0, |connection| connection.id)
    }

    fn pushes(&mut self, users: &[&str], at: f64, shown: &View) {
        self.next_push += 1;
        for user in users {
            let mut shown = shown.clone();
            shown.waitlist_position = None;
            self.history.pushes.push(PushRecord {
                user: (*user).to_owned(),
                connection: self.connection_of(user),
                at: s(at),
                frame: PushFrame::Updated {
                    event_id: self.next_push.to_string(),
                    view: Ok(shown),
                },
            });
        }
    }

    fn final_read(&mut self, user: &str, shown: View) {
        let at = 56.0 + self.history.operations.len() as f64 * 0.01;
        self.history.operations.push(Operation {
            user: user.to_owned(),
            session: SESSION.to_owned(),
            kind: OpKind::Get,
            event_id: format!("{user}-final"),
            origin: Origin::Final,
            attempts: vec![answered(at, at + 0.005, 0, "", Some(rendering(&shown)))],
        });
    }

    /// Replaces the final reads with `shown` (as everyone sees it).
    fn finally(&mut self, shown: &View) {
        self.history
            .operations
            .retain(|operation| operation.origin != Origin::Final);
        for user in ["o", "a", "b", "c"] {
            self.final_read(user, shown.clone());
        }
    }

    fn kinds(&self) -> Vec<ViolationKind> {
        let report = checker::check(&self.history, &CheckSettings::default());
        let mut kinds: Vec<ViolationKind> = report
            .violations
            .iter()
            .map(|violation| violation.kind)
            .collect();
        kinds.dedup();
        kinds
    }
}

#[test]
fn a_clean_history_has_no_violation() {
    let report = checker::check(&Sketch::clean().history, &CheckSettings::default());
    assert_eq!(report.violations, vec![], "{:#?}", report.violations);
    assert!(!report.push_lags.is_empty());
}

#[test]
fn more_participants_than_seats_in_any_rendering_is_reported() {
    let mut sketch = Sketch::clean();
    sketch.pushes(&["o"], 5.3, &view(1, &["b", "c", "a"]));
    assert!(sketch.kinds().contains(&ViolationKind::SeatLimit));
}

#[test]
fn an_answered_join_missing_at_the_end_is_reported() {
    let mut sketch = Sketch::clean();
    sketch.finally(&view(1, &["c"]));
    assert!(
        sketch.kinds().contains(&ViolationKind::JoinLost),
        "{:?}",
        sketch.kinds()
    );
}

#[test]
fn a_user_seated_though_every_join_was_refused_is_reported() {
    let mut sketch = Sketch::clean();
    sketch.op(
        "d",
        OpKind::Join { waitlist: false },
        vec![answered(6.0, 6.1, 409, "the session is full", None)],
    );
    sketch.op(
        "e",
        OpKind::Join { waitlist: false },
        vec![answered(
            6.0,
            6.1,
            503,
            "database unavailable: the request had no effect and may be retried",
            None,
        )],
    );
    sketch.finally(&view(1, &["b", "d"]));
    assert!(
        sketch.kinds().contains(&ViolationKind::SeatedWithoutJoin),
        "{:?}",
        sketch.kinds()
    );
    // A join whose outcome is unknown may have seated the user.
    let mut sketch = Sketch::clean();
    sketch.op(
        "d",
        OpKind::Join { waitlist: false },
        vec![answered(6.0, 9.0, 503, "database unavailable: the request may or may not have taken effect; it may be retried (read first where repeating it would matter)", None)],
    );
    sketch.finally(&view(1, &["b", "d"]));
    assert!(
        !sketch.kinds().contains(&ViolationKind::SeatedWithoutJoin),
        "{:?}",
        sketch.kinds()
    );
}

#[test]
fn a_retried_join_that_seats_a_user_again_after_their_decline_is_reported() {
    let mut sketch = Sketch::clean();
    // `a` sends its first join again with its event.id after declining; it seats `a` again.
    sketch.op_from(
        "a",
        OpKind::Join { waitlist: false },
        Origin::Resend,
        "a-0",
        vec![ok(40.0, 40.1)],
    );
    sketch.finally(&view(1, &["c", "a"]));
    let kinds = sketch.kinds();
    assert!(kinds.contains(&ViolationKind::DeclineLost), "{kinds:?}");
}

#[test]
fn a_retry_answered_differently_from_the_first_answer_is_reported() {
    let mut sketch = Sketch::clean();
    let first = sketch.op(
        "d",
        OpKind::Join { waitlist: false },
        vec![answered(6.0, 6.1, 409, "the session is full", None)],
    );
    sketch.op_from(
        "d",
        OpKind::Join { waitlist: false },
        Origin::Resend,
        &first,
        vec![ok(7.0, 7.1)],
    );
    assert!(
        sketch.kinds().contains(&ViolationKind::RetryAnswersDiffer),
        "{:?}",
        sketch.kinds()
    );
    // Answers that ask for a retry need not agree.
    let mut sketch = Sketch::clean();
    sketch.op(
        "d",
        OpKind::Join { waitlist: false },
        vec![
            answered(
                6.0,
                6.1,
                503,
                "database unavailable: the request had no effect and may be retried",
                None,
            ),
            answered(6.5, 6.6, 409, "the session is full", None),
        ],
    );
    assert_eq!(sketch.kinds(), vec![]);
}

#[test]
fn a_promotion_out_of_waitlist_order_and_a_free_seat_while_waiting_are_reported() {
    let mut sketch = Sketch::clean();
    // `d` waits after `c` was answered; `b` leaves; `d` is seated while `c`... is already
    // seated: make `e` wait before `d` and stay waiting while `d` takes a seat.
    sketch.op(
        "e",
        OpKind::Join { waitlist: true },
        vec![answered(
            4.5,
            4.6,
            0,
            "",
            Some(json!({"waitlisted": true, "position": 1})),
        )],
    );
    sketch.op(
        "d",
        OpKind::Join { waitlist: true },
        vec![answered(
            4.8,
            4.9,
            0,
            "",
            Some(json!({"waitlisted": true, "position": 2})),
        )],
    );
    sketch.op("b", OpKind::Decline, vec![ok(6.0, 6.1)]);
    sketch.finally(&view(1, &["c", "d"]));
    let mut waiting = view(1, &["c", "d"]);
    waiting.waitlist_position = Some(1);
    sketch.final_read("e", waiting);
    assert!(
        sketch.kinds().contains(&ViolationKind::WaitlistOrder),
        "{:?}",
        sketch.kinds()
    );

    let mut sketch = Sketch::clean();
    sketch.op(
        "e",
        OpKind::Join { waitlist: true },
        vec![answered(
            4.5,
            4.6,
            0,
            "",
            Some(json!({"waitlisted": true, "position": 1})),
        )],
    );
    sketch.op("b", OpKind::Decline, vec![ok(6.0, 6.1)]);
    sketch.finally(&view(1, &["c"]));
    let mut waiting = view(1, &["c"]);
    waiting.waitlist_position = Some(1);
    sketch.final_read("e", waiting);
    assert!(
        sketch
            .kinds()
            .contains(&ViolationKind::FreeSeatWhileWaiting),
        "{:?}",
        sketch.kinds()
    );
}

#[test]
fn a_push_going_back_to_an_older_state_is_reported() {
    let mut sketch = Sketch::clean();
    sketch.pushes(&["o"], 6.0, &view(0, &["b", "c"]));
    assert!(
        sketch.kinds().contains(&ViolationKind::PushOrder),
        "{:?}",
        sketch.kinds()
    );
    // A participant who left showing up again.
    let mut sketch = Sketch::clean();
    sketch.pushes(&["b"], 6.0, &view(1, &["a", "b"]));
    assert!(
        sketch.kinds().contains(&ViolationKind::PushOrder),
        "{:?}",
        sketch.kinds()
    );
    // An invitation going back from declined to pending.
    let mut sketch = Sketch::clean();
    let mut invited = view(1, &["b", "c"]);
    invited.invited = vec![Invitee {
        user: "d".to_owned(),
        role: 0,
        status: 2,
    }];
    sketch.pushes(&["o"], 6.0, &invited);
    invited.invited[0].status = 0;
    sketch.pushes(&["o"], 6.5, &invited);
    assert!(
        sketch.kinds().contains(&ViolationKind::PushOrder),
        "{:?}",
        sketch.kinds()
    );
}

#[test]
fn a_push_received_twice_is_reported() {
    let mut sketch = Sketch::clean();
    let again = sketch
        .history
        .pushes
        .iter()
        .find(|push| push.user == "b")
        .cloned()
        .expect("a push to b");
    sketch.history.pushes.push(PushRecord {
        at: s(7.0),
        ..again
    });
    assert!(
        sketch.kinds().contains(&ViolationKind::PushDuplicate),
        "{:?}",
        sketch.kinds()
    );
}

#[test]
fn a_change_that_never_reaches_a_connected_member_of_its_audience_is_reported_unless_resynced() {
    let mut sketch = Sketch::clean();
    // The owner never hears of the update.
    sketch
        .history
        .pushes
        .retain(|push| !(push.user == "o" && push.at == s(2.2)));
    sketch
        .history
        .pushes
        .retain(|push| !(push.user == "o" && push.at > s(2.2)));
    let kinds = sketch.kinds();
    assert!(kinds.contains(&ViolationKind::PushMissing), "{kinds:?}");

    let mut resynced = Sketch::clean();
    resynced.history.pushes.retain(|push| push.user != "o");
    resynced.history.pushes.push(PushRecord {
        user: "o".to_owned(),
        connection: 0,
        at: s(6.0),
        frame: PushFrame::Resync,
    });
    let kinds = resynced.kinds();
    assert!(!kinds.contains(&ViolationKind::PushMissing), "{kinds:?}");

    // Disconnected without resuming: nothing was owed.
    let mut away = Sketch::clean();
    away.history
        .pushes
        .retain(|push| push.user != "b" || push.at < s(5.0));
    away.history.connections[2].closed = Some(s(4.0));
    away.history.connections.push(ConnectionRecord {
        id: 4,
        user: "b".to_owned(),
        process: 1,
        opened: s(20.0),
        closed: None,
        resume_after: None,
    });
    let kinds = away.kinds();
    assert!(!kinds.contains(&ViolationKind::PushMissing), "{kinds:?}");
}

#[test]
fn a_last_view_that_differs_from_the_final_state_is_reported() {
    let mut sketch = Sketch::clean();
    sketch.finally(&view(1, &["b", "c"]));
    sketch.op(
        "o",
        OpKind::Update { title_seq: 2 },
        vec![answered(
            8.0,
            8.1,
            0,
            "",
            Some(rendering(&view(2, &["b", "c"]))),
        )],
    );
    // Nobody but the owner (by its answer) hears of title #2.
    sketch.finally(&view(2, &["b", "c"]));
    let kinds = sketch.kinds();
    assert!(kinds.contains(&ViolationKind::StaleView), "{kinds:?}");
    assert!(kinds.contains(&ViolationKind::PushMissing), "{kinds:?}");
}

/// The clean sketch where the owner's update (title #1, version 2) is answered at 5.3, after
/// the push of the decline and promotion (version `pushed_version`) at 5.2.
fn answer_after_a_newer_push(pushed_version: i64) -> Sketch {
    let mut sketch = Sketch::clean();
    let update = sketch
        .history
        .operations
        .iter_mut()
        .find(|operation| matches!(operation.kind, OpKind::Update { .. }))
        .unwrap();
    let mut written = view(1, &["a"]);
    written.version = 2;
    update.attempts = vec![answered(2.0, 5.3, 0, "", Some(rendering(&written)))];
    for push in &mut sketch.history.pushes {
        if let PushFrame::Updated { view: Ok(view), .. } = &mut push.frame
            && push.at == s(5.2)
        {
            view.version = pushed_version;
        }
    }
    sketch
}

#[test]
fn an_answer_arriving_after_a_push_of_a_newer_version_is_not_the_last_view() {
    assert_eq!(answer_after_a_newer_push(5).kinds(), []);
    // A push that is not newer leaves the answer the last view: stale.
    let kinds = answer_after_a_newer_push(0).kinds();
    assert!(kinds.contains(&ViolationKind::StaleView), "{kinds:?}");
}

#[test]
fn a_resent_request_answered_again_late_is_no_newer_knowledge() {
    let mut sketch = Sketch::clean();
    // The owner's update (`o-1`, first answered at 2.1) is sent again and answered again,
    // after the push of a later state, with its first answer.
    sketch.op_from(
        "o",
        OpKind::Update { title_seq: 1 },
        Origin::Resend,
        "o-1",
        vec![answered(6.0, 6.1, 0, "", Some(rendering(&view(1, &["a"]))))],
    );
    assert_eq!(sketch.kinds(), []);
}

#[test]
fn an_answered_update_lost_at_the_end_is_reported() {
    let mut sketch = Sketch::clean();
    sketch.finally(&view(0, &["b", "c"]));
    assert!(
        sketch.kinds().contains(&ViolationKind::UpdateLost),
        "{:?}",
        sketch.kinds()
    );
}

#[test]
fn a_fault_without_normal_service_afterwards_is_reported_as_slow_recovery() {
    let mut sketch = Sketch::clean();
    sketch.history.faults.push(FaultRecord {
        kind: FaultKind::DatabaseFrozen,
        detail: "frozen for 2 s".to_owned(),
        started: s(10.0),
        ended: s(12.0),
    });
    let probe = |process: usize, sent: f64, latency: f64, succeeded: bool| ProbeRecord {
        process,
        sent: s(sent),
        finished: s(sent + latency),
        succeeded,
    };
    for tick in 0..400 {
        let at = tick as f64 * 0.1;
        // Process 0 serves normally from 13 s on; process 1 fails until 20 s.
        let zero_ok = !(10.0..13.0).contains(&at);
        let one_ok = !(10.0..20.0).contains(&at);
        sketch.history.probes.push(probe(0, at, 0.01, zero_ok));
        sketch.history.probes.push(probe(1, at, 0.01, one_ok));
    }
    let report = checker::check(&sketch.history, &CheckSettings::default());
    let recovery = &report.recoveries[0];
    assert_eq!(
        recovery.per_process[0].map(|time| (time.as_secs_f64() * 10.0).round()),
        Some(9.0)
    );
    assert!(recovery.per_process[1].is_some_and(|time| time > s(7.0)));
    assert!(
        report
            .violations
            .iter()
            .any(|violation| violation.kind == ViolationKind::SlowRecovery)
    );

    // Slow answers count as failures, lone slow ones do not.
    let mut sketch = Sketch::clean();
    sketch.history.faults = vec![FaultRecord {
        kind: FaultKind::Burst,
        detail: "burst".to_owned(),
        started: s(10.0),
        ended: s(12.0),
    }];
    for tick in 0..400 {
        let at = tick as f64 * 0.1;
        let latency = if (12.0..19.0).contains(&at) {
            0.9
        } else {
            0.01
        };
        let latency = if (at - 25.0).abs() < 0.01 {
            0.9
        } else {
            latency
        };
        sketch.history.probes.push(probe(0, at, latency, true));
    }
    let report = checker::check(&sketch.history, &CheckSettings::default());
    let recovered = report.recoveries[0].per_process[0].expect("recovered");
    assert!(recovered > s(6.5) && recovered < s(8.0), "{recovered:?}");

    // A probe still in flight when the next fault begins belongs to that fault.
    let mut sketch = Sketch::clean();
    for (started, ended) in [(10.0, 12.0), (20.0, 22.0)] {
        sketch.history.faults.push(FaultRecord {
            kind: FaultKind::DatabaseKilled,
            detail: "down".to_owned(),
            started: s(started),
            ended: s(ended),
        });
    }
    for tick in 0..400 {
        let at = tick as f64 * 0.1;
        let failing = (10.0..12.0).contains(&at) || (19.8..22.0).contains(&at);
        let latency = if failing { 3.0 } else { 0.01 };
        sketch.history.probes.push(probe(0, at, latency, !failing));
    }
    let report = checker::check(&sketch.history, &CheckSettings::default());
    assert_eq!(report.recoveries[0].per_process[0], Some(Duration::ZERO));
}

#[test]
fn outcomes_follow_what_the_answers_say_about_effects() {
    let operation = |attempts: Vec<Attempt>| Operation {
        user: "u".to_owned(),
        session: SESSION.to_owned(),
        kind: OpKind::Join { waitlist: true },
        event_id: "u-1".to_owned(),
        origin: Origin::Workload,
        attempts,
    };
    let no_effect = "database unavailable: the request had no effect and may be retried";
    let maybe = "database unavailable: the request may or may not have taken effect; it may be retried (read first where repeating it would matter)";
    assert_eq!(
        checker::outcome_of(
            &operation(vec![answered(1.0, 1.1, 503, no_effect, None)]),
            &[]
        ),
        checker::Outcome::Refused
    );
    assert_eq!(
        checker::outcome_of(&operation(vec![answered(1.0, 1.1, 503, maybe, None)]), &[]),
        checker::Outcome::Unknown
    );
    assert_eq!(
        checker::outcome_of(
            &operation(vec![Attempt {
                connection: 0,
                sent: s(1.0),
                result: AttemptResult::TimedOut { at: s(11.0) }
            }]),
            &[]
        ),
        checker::Outcome::Unknown
    );
    let late = Answer {
        at: s(12.0),
        code: 0,
        message: String::new(),
        data: Some(json!({"waitlisted": true, "position": 4})),
    };
    assert_eq!(
        checker::outcome_of(
            &operation(vec![Attempt {
                connection: 0,
                sent: s(1.0),
                result: AttemptResult::TimedOut { at: s(11.0) }
            }]),
            &[&late]
        ),
        checker::Outcome::Succeeded {
            at: s(12.0),
            waitlisted: Some(4)
        }
    );
}

#[test]
fn the_fault_schedule_depends_on_the_seed_alone_and_has_every_kind() {
    let settings = harness::Config::long(7, 1000, 120).schedule_settings();
    let one = harness::faults::Schedule::generate(7, &settings);
    assert_eq!(one, harness::faults::Schedule::generate(7, &settings));
    assert_ne!(one, harness::faults::Schedule::generate(8, &settings));
    for kind in FaultKind::ALL {
        assert!(
            one.faults.iter().any(|fault| fault.kind() == kind),
            "{one:?}"
        );
    }
}

#[test]
fn a_user_twice_in_joined_users_and_an_unreadable_push_are_reported() {
    let mut sketch = Sketch::clean();
    sketch.pushes(&["o"], 5.3, &view(1, &["b", "b"]));
    sketch.history.pushes.push(PushRecord {
        user: "o".to_owned(),
        connection: 0,
        at: s(5.4),
        frame: PushFrame::Other {
            text: "not json".to_owned(),
        },
    });
    let kinds = sketch.kinds();
    assert!(
        kinds.contains(&ViolationKind::DuplicateParticipant),
        "{kinds:?}"
    );
    assert!(kinds.contains(&ViolationKind::MalformedFrame), "{kinds:?}");
}

#[test]
fn a_wait_that_ends_neither_seated_nor_waiting_is_reported() {
    let mut sketch = Sketch::clean();
    sketch.op(
        "d",
        OpKind::Join { waitlist: true },
        vec![answered(
            6.0,
            6.1,
            0,
            "",
            Some(json!({"waitlisted": true, "position": 1})),
        )],
    );
    sketch.final_read("d", view(1, &["b", "c"]));
    assert!(
        sketch.kinds().contains(&ViolationKind::WaitlistLost),
        "{:?}",
        sketch.kinds()
    );
}

#[test]
fn waitlist_ranks_with_a_gap_or_twice_the_same_are_reported() {
    let mut sketch = Sketch::clean();
    for (user, sent) in [("d", 6.0), ("e", 6.5)] {
        sketch.op(
            user,
            OpKind::Join { waitlist: true },
            vec![answered(
                sent,
                sent + 0.1,
                0,
                "",
                Some(json!({"waitlisted": true, "position": 1})),
            )],
        );
    }
    for (user, rank) in [("d", 1), ("e", 3)] {
        let mut waiting = view(1, &["b", "c"]);
        waiting.waitlist_position = Some(rank);
        sketch.final_read(user, waiting);
    }
    assert!(
        sketch.kinds().contains(&ViolationKind::WaitlistRanks),
        "{:?}",
        sketch.kinds()
    );
}

#[test]
fn an_invitation_or_uninvitation_lost_at_the_end_is_reported() {
    let mut sketch = Sketch::clean();
    sketch.op(
        "o",
        OpKind::Invite {
            users: vec!["d".to_owned()],
        },
        vec![ok(6.0, 6.1)],
    );
    assert!(
        sketch.kinds().contains(&ViolationKind::InviteLost),
        "{:?}",
        sketch.kinds()
    );

    let mut sketch = Sketch::clean();
    sketch.op(
        "o",
        OpKind::Uninvite {
            users: vec!["d".to_owned()],
        },
        vec![ok(6.0, 6.1)],
    );
    let mut still = view(1, &["b", "c"]);
    still.invited = vec![Invitee {
        user: "d".to_owned(),
        role: 0,
        status: 0,
    }];
    sketch.finally(&still);
    assert!(
        sketch.kinds().contains(&ViolationKind::UninviteLost),
        "{:?}",
        sketch.kinds()
    );
}

#[test]
fn an_unanswered_final_read_and_a_process_that_exited_are_reported() {
    let mut sketch = Sketch::clean();
    sketch.history.operations.push(Operation {
        user: "b".to_owned(),
        session: SESSION.to_owned(),
        kind: OpKind::Get,
        event_id: "b-final-2".to_owned(),
        origin: Origin::Final,
        attempts: vec![answered(
            57.0,
            60.0,
            503,
            "database unavailable: the request had no effect and may be retried",
            None,
        )],
    });
    sketch.history.exited_processes = vec![2];
    let kinds = sketch.kinds();
    assert!(kinds.contains(&ViolationKind::FinalReadFailed), "{kinds:?}");
    assert!(kinds.contains(&ViolationKind::ProcessExited), "{kinds:?}");
}
