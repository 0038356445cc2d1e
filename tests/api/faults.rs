//! Faults, for real: the database killed, frozen and restarted under a running server, and
//! the server killed in the middle of writes. Tests that break their database get a
//! database server of their own ([`DatabaseProcess`]), so the others never notice.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use social_events::domain::kinds::MembershipRole as Role;
use social_events::domain::source::Membership;
use social_events::domain::time::Timestamp;
use social_events::store::{DEFAULT_DEADLINE, Store};
use social_events::tools::embedded::{StartUp, ensure_python_env, wait_until_listening};
use social_events::tools::replay::client::Client as RawClient;
use tokio::sync::{Barrier, mpsc};

use crate::helpers::{
    Patience, Scrape, ServeProcess, TestApp, create_session, invited, joined_ids, network,
    published_event, session_fields, spawn_app, spawn_app_with, unique,
};

/// A SecantusDB server of one test, driven by hand: killed, frozen, restarted on the same
/// files. Killed and its files removed when dropped.
pub struct DatabaseProcess {
    executable: PathBuf,
    storage: PathBuf,
    port: u16,
    options: Vec<String>,
    child: Option<Child>,
}

/// The database server the fault tests start: `SOCIAL_TEST_DATABASE` (a SecantusDB server
/// executable such as `secantusd-rs`, which takes the same flags) when set, else the
/// Python server of `.venv`.
fn test_database_executable() -> PathBuf {
    match std::env::var_os("SOCIAL_TEST_DATABASE") {
        Some(executable) => PathBuf::from(executable),
        None => ensure_python_env(Path::new(".venv")).unwrap(),
    }
}

impl DatabaseProcess {
    pub async fn start(options: &[&str]) -> DatabaseProcess {
        let options: Vec<String> = options.iter().map(|option| (*option).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            let mut database = DatabaseProcess {
                executable: test_database_executable(),
                storage: std::env::temp_dir().join(format!("social-events-fault-{}", unique("db"))),
                port: 0,
                options,
                child: None,
            };
            database.port = database.run_on_free_port();
            database
        })
        .await
        .unwrap()
    }

    pub fn uri(&self) -> String {
        uri_of(self.port)
    }

    /// Starts the server on a free port and waits until it listens; answers the port.
    fn run_on_free_port(&mut self) -> u16 {
        // Another process may take a port between `free_port` and the server's bind.
        for _ in 0..5 {
            let port = free_port();
            if self.try_run_on(port) {
                return port;
            }
        }
        panic!("the database found no free port");
    }

    /// Starts the server on `port` and waits until it listens.
    fn run_on(&mut self, port: u16) {
        assert!(
            self.try_run_on(port),
            "the database cannot listen on {port}"
        );
    }

    /// Starts the server on `port` and waits until it says it listens: `false` when
    /// another process holds the port.
    fn try_run_on(&mut self, port: u16) -> bool {
        let log_path = self.storage.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let earlier = log.metadata().unwrap().len();
        let child = Command::new(&self.executable)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--log-level", "INFO"])
            .arg("--storage-path")
            .arg(&self.storage)
            .args(&self.options)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the database server starts");
        // Kept at once, so that the server is killed with this value whatever happens.
        let child = self.child.insert(child);
        let started =
            wait_until_listening(child, &log_path, earlier, port, Duration::from_secs(60)).unwrap();
        match started {
            StartUp::Listening => true,
            StartUp::PortTaken => false,
            StartUp::Exited => panic!("the database exited; see {}", log_path.display()),
        }
    }

    /// `kill -9`: nothing is flushed, nothing is shut down.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Stops the server gracefully (SIGTERM), as an operator would.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            send_signal(child.id(), "TERM");
            child.wait().unwrap();
        }
    }

    /// Starts the killed server again on its own port and files.
    async fn restart(mut self) -> DatabaseProcess {
        tokio::task::spawn_blocking(move || {
            self.run_on(self.port);
            self
        })
        .await
        .unwrap()
    }

    /// Sends `signal` (`STOP`, `CONT`) to the running server.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("the database runs").id();
        send_signal(pid, signal);
    }

    /// Stops the server (`SIGSTOP`) and waits until every one of its threads is stopped:
    /// a thread still running (waiting for a CPU on a busy machine) could answer a request
    /// sent after `kill` returned.
    pub fn freeze(&self) {
        self.signal("STOP");
        let pid = self.child.as_ref().expect("the database runs").id();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !all_threads_stopped(pid) {
            assert!(Instant::now() < deadline, "the database did not stop");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Whether every thread of process `pid` is stopped (state `T` in `/proc`).
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    threads.flatten().all(|thread| {
        std::fs::read_to_string(thread.path().join("stat")).is_ok_and(|stat| {
            // The state follows the command name, which ends with the last ')'.
            stat.rfind(')')
                .and_then(|end| stat[end + 1..].split_whitespace().next())
                .is_some_and(|state| state == "T")
        })
    })
}

impl Drop for DatabaseProcess {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.signal("CONT");
        }
        self.kill();
        let _ = std::fs::remove_dir_all(&self.storage);
        let _ = std::fs::remove_file(self.storage.with_extension("log"));
    }
}

fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn uri_of(port: u16) -> String {
    format!("mongodb://127.0.0.1:{port}/?directConnection=true")
}

/// A server on `database`, with a deadline of `db_timeout` on every database call.
pub async fn app_on(database: &DatabaseProcess, db_timeout: Duration) -> TestApp {
    let uri = database.uri();
    spawn_app_with(move |settings| {
        settings.mongodb_uri = uri.into();
        settings.db_timeout = db_timeout;
    })
    .await
}

/// Waits until `/readyz` says the database answers again (the service reconnects by
/// itself; nothing else signals it).
async fn until_ready(app: &TestApp) {
    let patience = Patience::of(Duration::from_secs(30));
    loop {
        let ready = reqwest::get(app.http_url("/readyz"))
            .await
            .is_ok_and(|response| response.status() == 200);
        if ready {
            return;
        }
        patience.wait("the service ready again").await;
    }
}

#[tokio::test]
async fn answered_writes_survive_a_database_crash() {
    let database = DatabaseProcess::start(&[]).await;
    let app = app_on(&database, DEFAULT_DEADLINE).await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({"participantLimit": 5})).await;
    let invitee = unique("invitee");
    let mut session_ids = Vec::new();
    for index in 0..10 {
        let mut fields = session_fields(&format!("Talk {index}"), 30 + index);
        fields["eventId"] = event["id"].clone();
        let session = create_session(&mut net.admin, fields, json!([])).await;
        session_ids.push(session["id"].clone());
    }
    net.member
        .ok("social:joinSession", json!({"sessionId": session_ids[0]}))
        .await;
    net.admin
        .ok(
            "social:inviteUsersToSession",
            json!({"sessionId": session_ids[1], "usersToInvite": [{"userId": &invitee, "role": 2}]}),
        )
        .await;

    let mut database = database;
    database.kill();
    let _database = database.restart().await;
    until_ready(&app).await;

    // The same connections, the same server: every answered change is there.
    for (index, id) in session_ids.iter().enumerate() {
        let seen = net
            .admin
            .ok("social:getSession", json!({"sessionId": id}))
            .await;
        assert_eq!(seen["session"]["title"], format!("Talk {index}"));
    }
    let joined = net
        .admin
        .ok("social:getSession", json!({"sessionId": session_ids[0]}))
        .await;
    assert_eq!(joined_ids(&joined["session"]), [net.member_id.clone()]);
    let invitation = net
        .admin
        .ok("social:getSession", json!({"sessionId": session_ids[1]}))
        .await;
    assert_eq!(invited(&invitation["session"]), [(invitee, 2, 0)]);
}

#[tokio::test]
async fn a_frozen_database_costs_the_deadline_and_the_same_connection_recovers() {
    let deadline = Duration::from_secs(1);
    let database = DatabaseProcess::start(&[]).await;
    let app = app_on(&database, deadline).await;
    let mut owner = app.connect(&unique("owner")).await;
    let session = create_session(&mut owner, session_fields("Frozen", 30), json!([])).await;
    let request = json!({"sessionId": session["id"]});

    let errors_before = Scrape::of(&app).await;
    database.freeze();
    let started = Instant::now();
    let message = owner.fails("social:getSession", request.clone(), 503).await;
    let waited = started.elapsed();
    let timeouts = [("kind", "timeout")];
    let errors_after = Scrape::of(&app).await;
    assert!(
        errors_after.value("social_db_errors_total", &timeouts)
            > errors_before.value("social_db_errors_total", &timeouts)
    );
    assert!(
        waited < deadline + Duration::from_secs(1),
        "answered after {waited:?}"
    );
    assert_eq!(
        message,
        "database unavailable: the request had no effect and may be retried"
    );

    let started = Instant::now();
    let readiness = reqwest::get(app.http_url("/readyz")).await.unwrap();
    assert_eq!(readiness.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let health = reqwest::get(app.http_url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);

    database.signal("CONT");
    until_ready(&app).await;
    let seen = owner.ok("social:getSession", request).await;
    assert_eq!(seen["session"]["title"], "Frozen");
}

#[tokio::test]
async fn pushes_flow_again_after_the_database_restarts() {
    let database = DatabaseProcess::start(&[]).await;
    let app = app_on(&database, DEFAULT_DEADLINE).await;
    let invitee_id = unique("invitee");
    let mut owner = app.connect(&unique("owner")).await;
    let mut invitee = app.connect(&invitee_id).await;
    let session = create_session(
        &mut owner,
        session_fields("Before", 30),
        json!([{"userId": &invitee_id, "role": 2}]),
    )
    .await;
    invitee.next_push("social:sessionUpdated").await;

    let mut database = database;
    database.kill();
    let _database = database.restart().await;
    until_ready(&app).await;

    owner
        .ok(
            "social:updateSession",
            json!({"session": {"id": session["id"], "title": "After"}}),
        )
        .await;
    let pushed = invitee.next_push("social:sessionUpdated").await;
    assert_eq!(pushed["session"]["title"], "After");
}

#[tokio::test]
async fn a_process_that_cannot_resume_its_push_stream_tells_its_clients_to_resync() {
    let mut database = DatabaseProcess::start(&[]).await;
    let app = app_on(&database, DEFAULT_DEADLINE).await;
    let user_id = unique("user");
    let mut client = app.connect(&user_id).await;
    let session = create_session(&mut client, session_fields("Mine", 30), json!([])).await;

    // The database goes away; before the service sees it again, more changes happen than
    // its history keeps (on another port, which the service does not know, with a history
    // of five changes).
    database.kill();
    let mut database = tokio::task::spawn_blocking(move || {
        let usual = std::mem::replace(
            &mut database.options,
            vec!["--oplog-max-entries".to_owned(), "5".to_owned()],
        );
        let other_port = database.run_on_free_port();
        database.options = usual;
        (database, other_port)
    })
    .await
    .unwrap();
    let outsider = mongodb::Client::with_uri_str(uri_of(database.1))
        .await
        .unwrap();
    let scratch = outsider.database("scratch").collection("writes");
    for index in 0..20 {
        scratch.insert_one(bson::doc! { "n": index }).await.unwrap();
    }
    outsider
        .database("admin")
        .run_command(bson::doc! { "secantusAdmin.pruneOplog": 1 })
        .await
        .unwrap();
    database.0.stop();
    let _database = database.0.restart().await;

    let frame = client.next_frame().await;
    assert_eq!(frame, json!({"endpoint": "social:resync", "data": {}}));
    // Live again: the next change reaches its audience.
    let invitee_id = unique("invitee");
    let mut invitee = app.connect(&invitee_id).await;
    client
        .ok(
            "social:inviteUsersToSession",
            json!({"sessionId": session["id"], "usersToInvite": [{"userId": &invitee_id}]}),
        )
        .await;
    invitee.next_push("social:sessionUpdated").await;
}

#[tokio::test]
async fn killing_the_service_during_joins_loses_no_answered_join_and_keeps_the_limit() {
    const CROWD: usize = 100;
    const LIMIT: usize = 40;
    let db_name = format!("t_{}", unique("killed"));
    let mut server = ServeProcess::start(&db_name).await;
    let store = Store::connect(&server.mongodb_uri, &db_name, DEFAULT_DEADLINE)
        .await
        .unwrap();
    let network_id = unique("net");
    let admin_id = unique("admin");
    let members: Vec<String> = (0..CROWD)
        .map(|index| format!("{}-{index}", unique("m")))
        .collect();
    for (user_id, role) in std::iter::once((&admin_id, Role::Admin))
        .chain(members.iter().map(|member| (member, Role::Member)))
    {
        store
            .upsert_membership(&Membership {
                user_id: user_id.clone(),
                network_id: network_id.clone(),
                community_id: None,
                role,
            })
            .await
            .unwrap();
    }
    let mut admin = server.connect(&admin_id).await;
    let mut fields = crate::helpers::event_fields("Crowded");
    fields["endDate"] = json!(4_102_444_800_000_i64);
    fields["participantLimit"] = json!(LIMIT);
    let event = admin
        .ok(
            "social:createEvent",
            json!({"source": format!("network:{network_id}"), "event": fields}),
        )
        .await;
    let event_id = event["event"]["id"].clone();
    admin
        .ok("social:publishEvent", json!({"eventId": event_id}))
        .await;
    let mut session = session_fields("Joined", 30);
    session["eventId"] = event_id;
    let session_id = create_session(&mut admin, session, json!([])).await["id"].clone();

    // Every member connects, then all join at once; the service dies after a few answers.
    let barrier = std::sync::Arc::new(Barrier::new(CROWD + 1));
    let (answers, mut answered) = mpsc::unbounded_channel();
    for member in &members {
        let (url, token) = (server.ws_url(), server.token(member));
        let (barrier, answers, member) = (barrier.clone(), answers.clone(), member.clone());
        let request = json!({"sessionId": session_id});
        tokio::spawn(async move {
            let mut client = RawClient::connect(&url, &token).await.unwrap();
            barrier.wait().await;
            let code = match client.request("social:joinSession", request).await {
                Ok(frame) => frame["error"]["code"].as_u64(),
                Err(_) => None,
            };
            let _ = answers.send((member, code));
        });
    }
    drop(answers);
    tokio::time::timeout(Duration::from_secs(60), barrier.wait())
        .await
        .expect("every member connects");
    let mut outcomes: Vec<(String, Option<u64>)> = Vec::new();
    while outcomes.iter().filter(|(_, code)| code.is_some()).count() < 3 {
        outcomes.push(answered.recv().await.expect("a join answers"));
    }
    server.kill();
    while let Some(outcome) = answered.recv().await {
        outcomes.push(outcome);
    }
    let answered_joins: HashSet<&String> = outcomes
        .iter()
        .filter(|(_, code)| *code == Some(0))
        .map(|(member, _)| member)
        .collect();
    assert!(
        outcomes.iter().any(|(_, code)| code.is_none()),
        "the service died with joins in flight"
    );

    let server = ServeProcess::start(&db_name).await;
    let mut admin = server.connect(&admin_id).await;
    let seen = admin
        .ok("social:getSession", json!({"sessionId": session_id}))
        .await;
    let joined = joined_ids(&seen["session"]);
    let distinct: HashSet<&String> = joined.iter().collect();
    assert_eq!(
        distinct.len(),
        joined.len(),
        "no one joined twice: {joined:?}"
    );
    assert!(joined.len() <= LIMIT, "{} joined", joined.len());
    for member in &answered_joins {
        assert!(joined.contains(member), "{member}'s answered join was lost");
    }

    // Everyone tries again on the new process: the limit is reached exactly.
    for member in &members {
        let mut client = server.connect(member).await;
        let frame = client
            .request("social:joinSession", json!({"sessionId": session_id}))
            .await;
        assert!(
            matches!(frame["error"]["code"].as_u64(), Some(0 | 409)),
            "{frame}"
        );
    }
    let seen = admin
        .ok("social:getSession", json!({"sessionId": session_id}))
        .await;
    assert_eq!(joined_ids(&seen["session"]).len(), LIMIT);
}

#[tokio::test]
async fn the_embedded_database_comes_back_by_itself_under_a_running_service() {
    let data_dir = std::env::temp_dir().join(format!("social-events-{}", unique("serve")));
    let venv = std::fs::canonicalize(".venv").unwrap();
    let mut server = ServeProcess::launch(
        &[
            ("SOCIAL_DATA_DIR", data_dir.to_str().unwrap()),
            ("SOCIAL_EMBEDDED_VENV", venv.to_str().unwrap()),
            ("RUST_LOG", "info"),
        ],
        Stdio::piped(),
    )
    .await;
    let log = BufReader::new(server.take_stderr().unwrap()).lines();
    let user_id = unique("user");
    let mut client = server.connect(&user_id).await;
    let session = create_session(&mut client, session_fields("Kept", 30), json!([])).await;

    let database_pid = descendants(server.pid())
        .into_iter()
        // The server itself (`python secantusd-py …`), not its supervisor (`python -c …`).
        .find(|pid| {
            command_line(*pid)
                .get(1)
                .is_some_and(|script| script.ends_with("secantusd-py"))
        })
        .expect("the embedded database runs under the service");
    send_signal(database_pid, "KILL");

    // The service says it restarted the database (its log is read to the end, so that it
    // never waits on a full pipe).
    let (lines, mut logged) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in log.map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = logged.recv().await {
            if line.contains("embedded database restarted") {
                return;
            }
        }
        panic!("the service ended");
    })
    .await
    .expect("the restart is logged in time");
    let patience = Patience::of(Duration::from_secs(30));
    let seen: Value = loop {
        let frame = client
            .request("social:getSession", json!({"sessionId": session["id"]}))
            .await;
        if frame["error"]["code"] == 0 {
            break frame["data"].clone();
        }
        assert_eq!(frame["error"]["code"], 503, "{frame}");
        patience.wait("the service recovered").await;
    };
    assert_eq!(seen["session"]["title"], "Kept");
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Every process descended from `pid`.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|child| {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
            // The parent follows the command name in parentheses, which may hold spaces.
            let after_name = &stat[stat.rfind(')')? + 2..];
            let parent = after_name.split(' ').nth(1)?.parse().ok()?;
            Some((child, parent))
        })
        .collect();
    let mut found = vec![pid];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            parents
                .iter()
                .filter(|(_, of)| *of == parent)
                .map(|(child, _)| *child),
        );
        index += 1;
    }
    found.remove(0);
    found
}

/// The arguments `pid` was started with.
fn command_line(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|byte| *byte == 0)
                .map(|argument| String::from_utf8_lossy(argument).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn an_event_deletion_cut_short_is_gone_for_clients_and_finished_by_the_next_start() {
    let app = spawn_app().await;
    let mut net = network(&app).await;
    let event = published_event(&mut net, json!({})).await;
    let event_id = event["id"].as_str().unwrap().to_owned();
    let mut fields = session_fields("Doomed", 30);
    fields["eventId"] = json!(event_id);
    fields["roomId"] = json!("doomed-room");
    let invitation = json!([{"userId": &net.member_id, "role": 2}]);
    let session = create_session(&mut net.admin, fields, invitation).await;
    let session_id = session["id"].as_str().unwrap().to_owned();
    net.member.next_push("social:sessionUpdated").await;

    // Another process dies right after the first write of `deleteEvent`; this one hears
    // of the write through its change stream.
    assert!(
        app.platform()
            .await
            .begin_event_deletion(&event_id.as_str().into(), Timestamp::now())
            .await
            .unwrap()
    );
    let patience = Patience::new();
    while net
        .admin
        .request("social:getEvent", json!({"eventId": &event_id}))
        .await["error"]["code"]
        == 0
    {
        patience.wait("the deletion").await;
    }
    // From then on, neither the event nor its session is seen by anyone.
    for client in [&mut net.admin, &mut net.member] {
        client
            .fails("social:getEvent", json!({"eventId": &event_id}), 404)
            .await;
        client
            .fails("social:getSession", json!({"sessionId": &session_id}), 404)
            .await;
        let sessions = client
            .ok("social:getSessions", json!({"eventId": &event_id}))
            .await;
        assert_eq!(sessions["sessions"], json!([]));
        let events = client
            .ok("social:getEvents", json!({"source": &net.source}))
            .await;
        assert_eq!(events["events"], json!([]));
        let at_prop = client
            .ok(
                "social:getPropSessions",
                json!({"roomId": "doomed-room", "propId": "stage"}),
            )
            .await;
        assert_eq!(at_prop["sessions"], json!([]));
    }
    net.admin
        .fails(
            "social:updateSession",
            json!({"session": {"id": &session_id, "title": "Revived"}}),
            404,
        )
        .await;

    // The next process to start on the database finishes the deletion before it serves
    // (and its pushes reach the connections of the first).
    assert_eq!(app.push_mode, social_events::push::PushMode::Shared);
    let db_name = app.db_name.clone();
    let restarted = spawn_app_with(move |settings| settings.db_name = db_name).await;
    assert_eq!(
        restarted
            .store
            .find_session(&session_id.as_str().into())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        restarted.store.events_being_deleted().await.unwrap(),
        Vec::<String>::new()
    );
    let deleted = net.member.next_push("social:sessionDeleted").await;
    assert_eq!(deleted["sessionId"], session_id);
}

#[tokio::test]
async fn pending_invitations_attach_once_however_often_the_attachment_runs() {
    let app = spawn_app().await;
    let mut owner = app.connect(&unique("owner")).await;
    let address = format!("{}@example.org", unique("newcomer"));
    let mut sessions = Vec::new();
    for index in 0..3 {
        let invitation = json!([{"emails": [&address], "role": 2}]);
        let session = create_session(
            &mut owner,
            session_fields(&format!("S{index}"), 60),
            invitation,
        )
        .await;
        sessions.push(session["id"].clone());
    }

    // The attachment runs at every connect; four first connections race, as a retry after
    // an interrupted attachment would.
    let newcomer = unique("newcomer");
    let claims = social_events::token::Claims {
        sub: newcomer.clone(),
        exp: chrono::Utc::now().timestamp() + 600,
        email: Some(address.clone()),
        email_verified: Some(true),
        ..Default::default()
    };
    let token = app.token_with(&claims);
    let connections =
        futures_util::future::join_all((0..4).map(|_| app.connect_with_token(&token))).await;
    drop(connections);
    let mut again = app.connect_with_token(&token).await;
    for id in &sessions {
        let seen = again
            .ok("social:getSession", json!({"sessionId": id}))
            .await;
        assert_eq!(invited(&seen["session"]), [(newcomer.clone(), 2, 0)]);
    }
}

#[tokio::test]
async fn an_event_changed_through_one_process_is_seen_changed_by_another() {
    let first = spawn_app().await;
    let db_name = first.db_name.clone();
    let second = spawn_app_with(move |settings| settings.db_name = db_name).await;
    let mut net = network(&first).await;
    let event = published_event(&mut net, json!({})).await;
    let request = json!({"eventId": event["id"]});
    let mut admin_elsewhere = second.connect(&net.admin_id).await;
    let seen = admin_elsewhere.ok("social:getEvent", request.clone()).await;
    assert_eq!(seen["event"]["title"], "Conference");

    net.admin
        .ok(
            "social:updateEvent",
            json!({"eventId": event["id"], "event": {"title": "Renamed"}}),
        )
        .await;
    // The process that made the change answers with it at once.
    let here = net.admin.ok("social:getEvent", request.clone()).await;
    assert_eq!(here["event"]["title"], "Renamed");
    // The other one hears of it through the database's change stream.
    let patience = Patience::new();
    loop {
        let seen = admin_elsewhere.ok("social:getEvent", request.clone()).await;
        if seen["event"]["title"] == "Renamed" {
            break;
        }
        assert_eq!(seen["event"]["title"], "Conference");
        patience.wait("the change").await;
    }
    // An update made there builds on the change made here.
    admin_elsewhere
        .ok(
            "social:updateEvent",
            json!({"eventId": event["id"], "event": {"description": "Both"}}),
        )
        .await;
    let both = admin_elsewhere.ok("social:getEvent", request).await;
    assert_eq!(
        (
            both["event"]["title"].as_str(),
            both["event"]["description"].as_str()
        ),
        (Some("Renamed"), Some("Both"))
    );
}
