//! The QA fixtures in `fixtures/`: every one replays against a fresh server, twice in a
//! row, through the library and through the `social-events replay` command; every
//! endpoint has one.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Value, json};
use social_events::api::endpoint::Registry;
use social_events::token::TokenSigner;
use social_events::tools::replay::{Target, read_scenario, replay_file, scenario_files};

use crate::helpers::{SECRET, ServeProcess, TestApp, spawn_app};

fn all_fixtures() -> Vec<PathBuf> {
    let files = scenario_files(&[PathBuf::from("fixtures")]).unwrap();
    assert!(files.len() >= 16, "the fixture library: {files:?}");
    files
}

fn target(app: &TestApp) -> Target {
    Target {
        url: format!("ws://{}", app.addr),
        store: app.store.clone(),
        signer: TokenSigner::hs256(SECRET.as_bytes()),
    }
}

/// Replays every fixture; answers the reports of the failures.
async fn replay_all(target: &Target) -> Vec<String> {
    let mut failures = Vec::new();
    for file in all_fixtures() {
        let outcome = replay_file(target, &file).await;
        if !outcome.passed() {
            failures.push(outcome.report());
        }
    }
    failures
}

#[tokio::test]
async fn every_fixture_passes_twice_in_a_row_against_the_same_server() {
    let app = spawn_app().await;
    let target = target(&app);
    for round in ["first", "second"] {
        let failures = replay_all(&target).await;
        assert!(
            failures.is_empty(),
            "{round} replay:\n{}",
            failures.join("\n")
        );
    }
}

/// `(endpoint, expected error code)` of every step, and the endpoints of expected pushes.
fn coverage() -> (BTreeSet<(String, u64)>, BTreeSet<String>) {
    let mut steps = BTreeSet::new();
    let mut pushed = BTreeSet::new();
    for file in all_fixtures() {
        let scenario = read_scenario(&file).unwrap();
        for step in &scenario.steps {
            let code = step.expect["error"]["code"].as_u64().unwrap_or(u64::MAX);
            steps.insert((step.send.endpoint.clone(), code));
            for push in &step.pushes {
                pushed.insert(
                    push.expect["endpoint"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
    }
    (steps, pushed)
}

#[test]
fn every_registered_endpoint_has_a_fixture_of_its_success_and_of_a_400() {
    let (steps, _) = coverage();
    for name in Registry::global().names() {
        for code in [0, 400] {
            assert!(
                steps.contains(&(name.to_owned(), code)),
                "no fixture expects {code} from {name}"
            );
        }
    }
}

#[test]
fn the_documented_refusals_of_each_endpoint_have_fixtures() {
    let (steps, _) = coverage();
    let refusals = [
        ("social:createEvent", 403),
        ("social:updateEvent", 403),
        ("social:updateEvent", 404),
        ("social:publishEvent", 403),
        ("social:publishEvent", 404),
        ("social:deleteEvent", 403),
        ("social:deleteEvent", 404),
        ("social:getEvent", 404),
        ("social:createSession", 404),
        ("social:updateSession", 403),
        ("social:updateSession", 404),
        ("social:deleteSession", 403),
        ("social:deleteSession", 404),
        ("social:getSession", 404),
        ("social:inviteUsersToSession", 403),
        ("social:inviteUsersToSession", 404),
        ("social:deleteUserSessionInvitations", 403),
        ("social:deleteUserSessionInvitations", 404),
        ("social:joinSession", 404),
        ("social:joinSession", 409),
        ("social:declineSessionJoin", 404),
        ("social:watchProp", 409),
    ];
    for (endpoint, code) in refusals {
        assert!(
            steps.contains(&(endpoint.to_owned(), code)),
            "no fixture expects {code} from {endpoint}"
        );
    }
}

#[test]
fn the_session_and_prop_board_pushes_have_fixtures() {
    let (_, pushed) = coverage();
    for push in [
        "social:sessionUpdated",
        "social:sessionDeleted",
        "social:propSessionsUpdated",
    ] {
        assert!(pushed.contains(push), "no fixture expects {push}");
    }
}

#[tokio::test]
async fn a_failing_step_is_reported_with_file_step_frames_and_differences() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.json");
    let scenario = json!({
        "name": "a wrong expectation",
        "users": [{"id": "qa-${run}"}],
        "steps": [
            {"as": "qa-${run}", "send": {"endpoint": "social:getEvents", "data": {"source": "network:n"}},
             "expect": {"data": {"events": []}}},
            {"as": "qa-${run}", "send": {"endpoint": "social:getEvent", "data": {"eventId": "nope"}},
             "expect": {"error": {"code": 0}, "data": {"event": "{{object}}"}}}
        ]
    });
    std::fs::write(&path, scenario.to_string()).unwrap();
    let outcome = replay_file(&target(&app), &path).await;
    assert!(!outcome.passed());
    let report = outcome.report();
    assert!(
        report.starts_with(&format!("FAIL {}", path.display())),
        "{report}"
    );
    assert!(
        report.contains("step 2: social:getEvent as qa-"),
        "{report}"
    );
    assert!(report.contains("expected: {"), "{report}");
    assert!(report.contains("actual:   {"), "{report}");
    assert!(
        report.contains("error.code: expected 0, got 404"),
        "{report}"
    );
    assert!(
        report.contains(r#"data: expected {"event":"{{object}}"}, but it is absent"#),
        "{report}"
    );
}

/// Runs `social-events replay` against a server process; answers its status and output.
fn run_replay(server: &ServeProcess, db_name: &str, paths: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_social-events"))
        .arg("replay")
        .arg("--url")
        .arg(format!("ws://{}", server.addr))
        .args(paths)
        .env("MONGODB_URI", &server.mongodb_uri)
        .env("SOCIAL_DB", db_name)
        .env("SOCIAL_JWT_SECRET", SECRET)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn the_replay_command_prints_a_line_per_scenario_and_fails_on_a_failure() {
    let db_name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let server = ServeProcess::start(&db_name).await;
    let (passed, output) = run_replay(&server, &db_name, &["fixtures/events"]);
    assert!(passed, "{output}");
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 7, "{output}");
    assert!(
        lines[..6]
            .iter()
            .all(|line| line.starts_with("PASS fixtures/events/")),
        "{output}"
    );
    assert_eq!(lines[6], "replay: 6 passed, 0 failed");

    let dir = tempfile::tempdir().unwrap();
    let failing = dir.path().join("failing.json");
    let scenario: Value = json!({"name": "fails", "steps": [
        {"as": "qa", "send": {"endpoint": "social:getEvent", "data": {"eventId": "x"}}, "expect": {"error": {"code": 0}}}
    ]});
    std::fs::write(&failing, scenario.to_string()).unwrap();
    let (passed, output) = run_replay(&server, &db_name, &[failing.to_str().unwrap()]);
    assert!(!passed, "a failing scenario fails the command: {output}");
    assert!(
        output.contains("FAIL ") && output.contains("replay: 0 passed, 1 failed"),
        "{output}"
    );
}

/// Replays one scenario given as JSON; answers its report when it fails.
async fn failure_of(app: &TestApp, scenario: Value) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.json");
    std::fs::write(&path, scenario.to_string()).unwrap();
    let outcome = replay_file(&target(app), &path).await;
    assert!(!outcome.passed(), "the scenario should fail");
    outcome.report()
}

/// A standalone session owned by `owner-${run}` with `guest-${run}` invited.
fn session_step() -> Value {
    json!({"as": "owner-${run}",
        "send": {"endpoint": "social:createSession", "data": {
            "session": {"roomId": "r-${run}", "title": "S", "startDate": "2099-01-01T00:00:00Z", "duration": 60},
            "usersToInvite": [{"userId": "guest-${run}"}]}},
        "expect": {"data": {"session": {"id": "{{capture sessionId}}"}}}})
}

#[tokio::test]
async fn a_push_that_differs_from_the_expected_one_fails_the_step() {
    let app = spawn_app().await;
    let report = failure_of(&app, json!({"name": "wrong push", "steps": [
        session_step(),
        {"as": "owner-${run}",
         "send": {"endpoint": "social:updateSession", "data": {"session": {"id": "${sessionId}", "title": "New"}}},
         "expect": {"error": {"code": 0}},
         "pushes": [{"to": "guest-${run}", "expect": {"endpoint": "social:sessionUpdated", "data": {"session": {"title": "Other"}}}}]}
    ]})).await;
    assert!(
        report.contains("step 2: social:updateSession as owner-"),
        "{report}"
    );
    assert!(report.contains("the push to guest-"), "{report}");
    assert!(
        report.contains(r#"data.session.title: expected "Other", got "New""#),
        "{report}"
    );
}

#[tokio::test]
async fn a_push_that_never_comes_fails_the_step() {
    let app = spawn_app().await;
    let report = failure_of(
        &app,
        json!({"name": "missing push", "steps": [
            session_step(),
            {"as": "owner-${run}",
             "send": {"endpoint": "social:getSession", "data": {"sessionId": "${sessionId}"}},
             "expect": {"error": {"code": 0}},
             "pushes": [{"to": "guest-${run}", "expect": {"endpoint": "social:sessionUpdated"}}]}
        ]}),
    )
    .await;
    assert!(report.contains("the push to guest-"), "{report}");
    assert!(report.contains("no push within"), "{report}");
}

#[tokio::test]
async fn a_push_to_a_user_listed_under_no_pushes_to_fails_the_step() {
    let app = spawn_app().await;
    let report = failure_of(&app, json!({"name": "unwanted push", "steps": [
        session_step(),
        {"as": "owner-${run}",
         "send": {"endpoint": "social:updateSession", "data": {"session": {"id": "${sessionId}", "title": "New"}}},
         "expect": {"error": {"code": 0}},
         "noPushesTo": ["guest-${run}"]}
    ]})).await;
    assert!(
        report.contains("guest-") && report.contains("must receive no push"),
        "{report}"
    );
    assert!(
        report.contains(r#""endpoint":"social:sessionUpdated""#),
        "{report}"
    );
}
