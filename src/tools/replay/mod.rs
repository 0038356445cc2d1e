//! QA fixture replay: JSON scenarios in `fixtures/` replayed against a running server.
//!
//! A scenario is self-contained: the users and memberships it needs (seeded through the
//! server's database), then steps. Each step sends a request frame as a named user and
//! states what must come back under `expect` (see [`matching`] for matchers and
//! variables), and may state the pushes a user must receive (`pushes`) or must not
//! (`noPushesTo`); the users whose pushes a step states start the step with nothing
//! pending. The variable `${run}` is unique to each replay, so that a scenario
//! replays any number of times against the same server. `fixtures/README.md` documents
//! the format.

pub mod client;
pub mod matching;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::ids::new_id;
use crate::domain::session::Session;
use crate::domain::time::Timestamp;
use crate::store::Store;
use crate::token::TokenSigner;
use crate::tools::import::{ImportFile, import};
use client::Client;
use matching::{Variables, compare, substitute};

/// Longest wait for an expected push.
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// Lifetime of the tokens the replayer mints.
const TOKEN_TTL_SECONDS: i64 = 3600;

/// One scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Users in the shape of `social-events import`.
    #[serde(default)]
    pub users: Vec<Value>,
    /// Memberships in the shape of `social-events import`.
    #[serde(default)]
    pub memberships: Vec<Value>,
    /// Sessions written straight to the database before the steps, in bulk: for states
    /// that would take more requests than the rate limit allows a replay.
    #[serde(default)]
    pub seed_sessions: Vec<SeedSessions>,
    pub steps: Vec<Step>,
}

/// `count` standalone Public sessions of `owner_id`, a day from now, a minute long.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedSessions {
    pub owner_id: String,
    pub count: usize,
}

/// The most sessions one scenario may seed.
const MAX_SEEDED_SESSIONS: usize = 10_000;

/// One request and what must follow it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Step {
    #[serde(default)]
    pub name: String,
    /// The user id that sends the request.
    #[serde(rename = "as")]
    pub user: String,
    /// The request frame; the replayer adds `event`.
    pub send: Request,
    /// What the response frame must hold.
    pub expect: Value,
    #[serde(default)]
    pub pushes: Vec<ExpectedPush>,
    #[serde(default)]
    pub no_pushes_to: Vec<String>,
}

/// The request frame of a step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub endpoint: String,
    #[serde(default)]
    pub data: Option<Value>,
    /// `{"id": ...}` to send the request under this `event.id` (a retry repeats one);
    /// otherwise the replayer makes one up.
    #[serde(default)]
    pub event: Option<RequestEvent>,
}

/// The `event` of a step's request: only its id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestEvent {
    pub id: String,
}

/// A push a user must receive after the step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedPush {
    pub to: String,
    pub expect: Value,
}

/// The server a replay runs against.
pub struct Target {
    /// WebSocket URL of the server (`ws://host:port`, with or without `/api/v0/ws`).
    pub url: String,
    /// The server's database, for seeding users and memberships.
    pub store: Store,
    /// Signs the scenario users' tokens with the server's secret.
    pub signer: TokenSigner,
}

impl Target {
    fn websocket_url(&self) -> String {
        let base = self.url.trim_end_matches('/');
        if base.ends_with("/api/v0/ws") {
            base.to_owned()
        } else {
            format!("{base}/api/v0/ws")
        }
    }
}

/// What went wrong in a scenario.
#[derive(Debug)]
pub struct Failure {
    /// 1-based step number; 0 for the scenario itself.
    pub step: usize,
    pub what: String,
    pub expected: Option<Box<Value>>,
    pub actual: Option<Box<Value>>,
    pub differences: Vec<String>,
}

impl Failure {
    fn scenario(what: impl Into<String>) -> Failure {
        Failure {
            step: 0,
            what: what.into(),
            expected: None,
            actual: None,
            differences: Vec::new(),
        }
    }
}

/// The result of one scenario.
#[derive(Debug)]
pub struct Outcome {
    pub path: PathBuf,
    pub name: String,
    pub steps: usize,
    pub failure: Option<Failure>,
    /// Every request sent and the answer it got, in order (also those of a failed step).
    pub exchanges: Vec<Exchange>,
}

/// One request of a replay and its answer, as sent and received.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub endpoint: String,
    /// The request's `data`.
    pub data: Value,
    /// The whole answer frame.
    pub answer: Value,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// One line for a pass; for a failure, the file, the step, the expected and actual
    /// frames, and one line per difference.
    pub fn report(&self) -> String {
        let path = self.path.display();
        let Some(failure) = &self.failure else {
            return format!("PASS {path} — {} ({} steps)", self.name, self.steps);
        };
        let mut text = format!("FAIL {path} — {}\n", self.name);
        let place = if failure.step == 0 {
            "scenario".to_owned()
        } else {
            format!("step {}", failure.step)
        };
        let _ = writeln!(text, "  {place}: {}", failure.what);
        if let Some(expected) = &failure.expected {
            let _ = writeln!(text, "  expected: {expected}");
        }
        if let Some(actual) = &failure.actual {
            let _ = writeln!(text, "  actual:   {actual}");
        }
        if !failure.differences.is_empty() {
            let _ = writeln!(text, "  differences:");
            for difference in &failure.differences {
                let _ = writeln!(text, "    {difference}");
            }
        }
        text.trim_end().to_owned()
    }
}

/// The scenario files in `paths`: files as given, folders searched for `*.json`, sorted.
pub fn scenario_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect_json(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn collect_json(folder: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("cannot read {}", folder.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_json(&entry, files)?;
        } else if entry
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            files.push(entry);
        }
    }
    Ok(())
}

/// Reads a scenario file.
pub fn read_scenario(path: &Path) -> anyhow::Result<Scenario> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid scenario", path.display()))
}

/// Replays one scenario file.
pub async fn replay_file(target: &Target, path: &Path) -> Outcome {
    let scenario = match read_scenario(path) {
        Ok(scenario) => scenario,
        Err(error) => {
            return Outcome {
                path: path.to_owned(),
                name: String::new(),
                steps: 0,
                failure: Some(Failure::scenario(format!("{error:#}"))),
                exchanges: Vec::new(),
            };
        }
    };
    let mut exchanges = Vec::new();
    let failure = replay(target, &scenario, &mut exchanges).await.err();
    Outcome {
        path: path.to_owned(),
        name: scenario.name,
        steps: scenario.steps.len(),
        failure,
        exchanges,
    }
}

/// Replays a scenario: seeds its world, connects its users, runs its steps; each request
/// and its answer is added to `exchanges`.
pub async fn replay(
    target: &Target,
    scenario: &Scenario,
    exchanges: &mut Vec<Exchange>,
) -> Result<(), Failure> {
    let mut variables = Variables::new();
    variables.insert(
        "run".to_owned(),
        json!(format!("{:010x}", rand::random::<u64>() >> 24)),
    );
    seed(target, scenario, &variables).await.map_err(|error| {
        Failure::scenario(format!("cannot seed users and memberships: {error:#}"))
    })?;

    let mut clients: BTreeMap<String, Client> = BTreeMap::new();
    for step in &scenario.steps {
        let names = std::iter::once(&step.user)
            .chain(step.pushes.iter().map(|push| &push.to))
            .chain(&step.no_pushes_to);
        for name in names {
            let user_id = user_id(name, &variables).map_err(Failure::scenario)?;
            if let std::collections::btree_map::Entry::Vacant(entry) = clients.entry(user_id) {
                let token = target
                    .signer
                    .sign_for_user(entry.key(), TOKEN_TTL_SECONDS)
                    .map_err(|error| Failure::scenario(error.to_string()))?;
                let client = Client::connect(&target.websocket_url(), &token)
                    .await
                    .map_err(|error| {
                        Failure::scenario(format!("cannot connect as {}: {error:#}", entry.key()))
                    })?;
                entry.insert(client);
            }
        }
    }

    for (index, step) in scenario.steps.iter().enumerate() {
        run_step(step, &mut clients, &mut variables, exchanges)
            .await
            .map_err(|mut failure| {
                failure.step = index + 1;
                failure
            })?;
    }
    Ok(())
}

async fn seed(target: &Target, scenario: &Scenario, variables: &Variables) -> anyhow::Result<()> {
    let users =
        substitute(&Value::Array(scenario.users.clone()), variables).map_err(anyhow::Error::msg)?;
    let memberships = substitute(&Value::Array(scenario.memberships.clone()), variables)
        .map_err(anyhow::Error::msg)?;
    let file = ImportFile {
        users: serde_json::from_value(users).context("users")?,
        memberships: serde_json::from_value(memberships).context("memberships")?,
    };
    import(&target.store, &file).await?;
    for seed in &scenario.seed_sessions {
        anyhow::ensure!(
            seed.count <= MAX_SEEDED_SESSIONS,
            "at most {MAX_SEEDED_SESSIONS} seeded sessions"
        );
        let owner_id = user_id(&seed.owner_id, variables).map_err(anyhow::Error::msg)?;
        let start = Timestamp::now().plus_seconds(86_400);
        let sessions: Vec<Session> = (0..seed.count)
            .map(|index| {
                let mut session = Session::new(new_id(), &owner_id, None, start);
                session.room_id = "seed".to_owned();
                session.prop_id = "seed".to_owned();
                session.title = format!("seeded {index}");
                session.duration = 60;
                session.end_date = start.plus_seconds(60);
                session.active_until = Some(session.end_date);
                session
            })
            .collect();
        target.store.insert_sessions(&sessions).await?;
    }
    Ok(())
}

fn user_id(name: &str, variables: &Variables) -> Result<String, String> {
    match substitute(&json!(name), variables)? {
        Value::String(user_id) if !user_id.is_empty() => Ok(user_id),
        other => Err(format!("a user must be a non-empty string, not {other}")),
    }
}

fn client<'a>(
    clients: &'a mut BTreeMap<String, Client>,
    user_id: &str,
) -> Result<&'a mut Client, Failure> {
    clients
        .get_mut(user_id)
        .ok_or_else(|| Failure::scenario(format!("{user_id} is not connected")))
}

async fn run_step(
    step: &Step,
    clients: &mut BTreeMap<String, Client>,
    variables: &mut Variables,
    exchanges: &mut Vec<Exchange>,
) -> Result<(), Failure> {
    let sender = user_id(&step.user, variables).map_err(Failure::scenario)?;
    let endpoint =
        match substitute(&json!(step.send.endpoint), variables).map_err(Failure::scenario)? {
            Value::String(endpoint) => endpoint,
            other => other.to_string(),
        };
    let data = substitute(step.send.data.as_ref().unwrap_or(&json!({})), variables)
        .map_err(Failure::scenario)?;
    let title = if step.name.is_empty() {
        format!("{endpoint} as {sender}")
    } else {
        format!("{} ({endpoint} as {sender})", step.name)
    };

    // Everyone whose pushes the step states starts from a clean slate: whatever earlier
    // steps sent them is taken out of the way, so that only this step's pushes count.
    let silent: Vec<String> = step
        .no_pushes_to
        .iter()
        .map(|name| user_id(name, variables))
        .collect::<Result<_, _>>()
        .map_err(Failure::scenario)?;
    let mut listened: Vec<String> = silent.clone();
    for push in &step.pushes {
        let receiver = user_id(&push.to, variables).map_err(Failure::scenario)?;
        if !listened.contains(&receiver) {
            listened.push(receiver);
        }
    }
    for user in &listened {
        client(clients, user)?
            .frames_before_sentinel()
            .await
            .map_err(|error| Failure::scenario(format!("{title}: {error:#}")))?;
    }

    let event_id = match &step.send.event {
        Some(event) => match substitute(&json!(event.id), variables).map_err(Failure::scenario)? {
            Value::String(id) => Some(id),
            other => Some(other.to_string()),
        },
        None => None,
    };
    let sending = client(clients, &sender)?;
    let actual = match &event_id {
        Some(event_id) => sending.request_as(&endpoint, data.clone(), event_id).await,
        None => sending.request(&endpoint, data.clone()).await,
    }
    .map_err(|error| Failure::scenario(format!("{title}: {error:#}")))?;
    exchanges.push(Exchange {
        endpoint: endpoint.clone(),
        data,
        answer: actual.clone(),
    });
    let expected = substitute(&step.expect, variables).map_err(Failure::scenario)?;
    let differences = compare(&expected, &actual, variables);
    if !differences.is_empty() {
        return Err(Failure {
            step: 0,
            what: title,
            expected: Some(Box::new(expected)),
            actual: Some(Box::new(actual)),
            differences,
        });
    }

    for push in &step.pushes {
        let receiver = user_id(&push.to, variables).map_err(Failure::scenario)?;
        let expected = substitute(&push.expect, variables).map_err(Failure::scenario)?;
        expect_push(client(clients, &receiver)?, &expected, variables)
            .await
            .map_err(|(differences, actual)| Failure {
                step: 0,
                what: format!("{title}: the push to {receiver}"),
                expected: Some(Box::new(expected.clone())),
                actual: actual.map(Box::new),
                differences,
            })?;
    }

    for user in &silent {
        let received = client(clients, user)?
            .frames_before_sentinel()
            .await
            .map_err(|error| Failure::scenario(format!("{title}: {error:#}")))?;
        if let Some(first) = received.into_iter().next() {
            return Err(Failure {
                step: 0,
                what: format!("{title}: {user} must receive no push"),
                expected: None,
                actual: Some(Box::new(first)),
                differences: vec![format!("{user}: received a push")],
            });
        }
    }
    Ok(())
}

/// The receiver's next frame must be the expected push: pushes to one user arrive in the
/// order of the changes, so a fixture lists them in that order.
async fn expect_push(
    receiver: &mut Client,
    expected: &Value,
    variables: &mut Variables,
) -> Result<(), (Vec<String>, Option<Value>)> {
    let frame = receiver
        .next_frame_within(PUSH_TIMEOUT)
        .await
        .map_err(|error| {
            (
                vec![format!("no push within {PUSH_TIMEOUT:?}: {error:#}")],
                None,
            )
        })?;
    let differences = compare(expected, &frame, variables);
    if differences.is_empty() {
        Ok(())
    } else {
        Err((differences, Some(frame)))
    }
}
