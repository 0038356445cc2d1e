//! The seeded clients of a chaos run: one WebSocket per user, requests with their
//! `event.id`s and retries, pushes, reconnects with `resumeAfter`, and every frame
//! recorded (see `history.rs`).
//!
//! Each client follows rules that make the history decidable for the checker: it waits
//! for each answer before its next step (bursts and refetches aside, which run beside it);
//! it joins a session at most once — after a decline, or being uninvited, never again
//! (only an earlier, finished join may be *sent again* with its `event.id`, which must not
//! be worked on twice); an owner updates its session's title one numbered version at a
//! time and invites each user at most once; an invitee acts on an invitation only once
//! its invite was answered with success. A request whose answer asks for a retry, or that
//! got none, is retried with the same `event.id`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use futures_util::stream::{SplitSink, StreamExt};
use futures_util::{SinkExt, stream};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use social_events::domain::kinds::MembershipRole;
use social_events::domain::source::Membership;
use social_events::store::Store;
use social_events::token::TokenSigner;
use tokio::net::TcpStream;
use tokio::sync::{Notify, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use super::checker::{Outcome, outcome_of};
use super::cluster::SECRET;
use super::history::{
    Answer, Attempt, AttemptResult, OpKind, Operation, Origin, PushFrame, Recorder, SessionSpec,
    parse_view, title_of,
};

/// How long a client waits for one answer before it counts the attempt as lost.
pub const ANSWER_PATIENCE: Duration = Duration::from_secs(10);
/// Attempts of one request (the first and its retries).
const MAX_ATTEMPTS: usize = 4;
/// Longest wait for a connection before an attempt is given up.
const CONNECT_PATIENCE: Duration = Duration::from_secs(20);
/// Longest wait for one WebSocket upgrade.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(5);
/// How many requests a probe keeps in flight at most.
const PROBES_IN_FLIGHT: usize = 8;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the workload is made of.
#[derive(Debug, Clone)]
pub struct WorkloadSettings {
    pub seed: u64,
    pub clients: usize,
    /// Sessions besides the burst sessions.
    pub sessions: usize,
    /// Share of those sessions that are Private (with invitations).
    pub private_share: f64,
    /// `participantLimit` of the sessions' event.
    pub seat_limit: usize,
    /// `participantLimit` of the burst sessions' event.
    pub burst_limit: usize,
    /// One burst session per burst fault.
    pub burst_sessions: usize,
    /// Steps per second of all clients together.
    pub operations_per_second: f64,
}

/// A workload session (with its index in [`World::sessions`]).
#[derive(Debug, Clone)]
pub struct WorkloadSession {
    pub spec: SessionSpec,
    /// Index of the owner in [`World::clients`].
    pub owner: usize,
    /// `Some(n)`: the session of the `n`th burst, closed to the workload until then.
    pub burst: Option<usize>,
}

/// Who an owner invited to one of its sessions.
#[derive(Debug, Default)]
struct InviteBook {
    /// Every user named in an invite (never named again).
    named: HashSet<usize>,
    /// Invitations answered with success.
    confirmed: HashSet<usize>,
    /// Users an uninvite was sent for.
    uninvited: HashSet<usize>,
}

/// Where a client stands with one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// No join that may have worked.
    Fresh,
    Seated,
    Waiting,
    /// A join whose outcome is unknown.
    Unknown,
    /// Declined (or uninvited): never joins again.
    Gone,
}

/// A finished request that may be sent again with its `event.id`.
#[derive(Debug, Clone)]
struct Finished {
    session: usize,
    kind: OpKind,
    endpoint: &'static str,
    data: Value,
    event_id: String,
}

/// One user: a connection at a time, and what it knows.
pub struct Client {
    pub index: usize,
    pub user: String,
    token: String,
    /// The process it (re)connects to.
    home: AtomicUsize,
    link: Mutex<Option<Arc<Link>>>,
    /// The highest push `event.id` seen, for `resumeAfter`.
    last_push: Mutex<Option<(i64, String)>>,
    /// Whether it ever had a connection (a later one without `resumeAfter` refetches).
    connected_before: AtomicBool,
    standings: Mutex<HashMap<usize, Standing>>,
    /// Sessions it asked to wait for, or read (for the final reads).
    touched: Mutex<HashSet<usize>>,
    finished: Mutex<Vec<Finished>>,
    next_request: AtomicU64,
    reconnecting: AtomicBool,
    refetching: AtomicBool,
    /// Held while a connection is made: one at a time.
    connecting: tokio::sync::Mutex<()>,
}

impl Client {
    fn new(
        index: usize,
        user: String,
        home: usize,
        signer: &TokenSigner,
    ) -> anyhow::Result<Client> {
        Ok(Client {
            index,
            token: signer.sign_for_user(&user, 4 * 3600)?,
            user,
            home: AtomicUsize::new(home),
            link: Mutex::new(None),
            last_push: Mutex::new(None),
            connected_before: AtomicBool::new(false),
            standings: Mutex::new(HashMap::new()),
            touched: Mutex::new(HashSet::new()),
            finished: Mutex::new(Vec::new()),
            next_request: AtomicU64::new(0),
            reconnecting: AtomicBool::new(false),
            refetching: AtomicBool::new(false),
            connecting: tokio::sync::Mutex::new(()),
        })
    }

    fn new_event_id(&self) -> String {
        let number = self.next_request.fetch_add(1, Ordering::Relaxed);
        format!("{}-r{number}", self.user)
    }

    fn standing(&self, session: usize) -> Standing {
        *lock(&self.standings)
            .get(&session)
            .unwrap_or(&Standing::Fresh)
    }

    fn set_standing(&self, session: usize, standing: Standing) {
        lock(&self.standings).insert(session, standing);
    }

    fn current_link(&self) -> Option<Arc<Link>> {
        lock(&self.link)
            .as_ref()
            .filter(|link| !link.closed.is_cancelled())
            .cloned()
    }

    fn resume_after(&self) -> Option<String> {
        lock(&self.last_push).as_ref().map(|(_, id)| id.clone())
    }

    /// Takes push `event_id` that arrived on `link` into what the client knows: `false`
    /// when the client had left that connection by then. Like a real client that closed
    /// it, the client ignores it: its `resumeAfter` was taken without it, so the push
    /// comes again on the next connection.
    fn saw_push(&self, link: &Link, event_id: &str) -> bool {
        let mut last = lock(&self.last_push);
        if link.leaving.load(Ordering::SeqCst) {
            return false;
        }
        if let Ok(number) = event_id.parse::<i64>()
            && last.as_ref().is_none_or(|(highest, _)| number > *highest)
        {
            *last = Some((number, event_id.to_owned()));
        }
        true
    }

    /// Leaves `link`: from now on its pushes are ignored (see [`Client::saw_push`]).
    fn leave(&self, link: &Link) {
        let _known = lock(&self.last_push);
        link.leaving.store(true, Ordering::SeqCst);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One WebSocket connection: requests go out through the sink, the reader task hands
/// answers to their waiters and records everything else.
pub struct Link {
    pub id: u64,
    sink: tokio::sync::Mutex<SplitSink<Socket, Message>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    closed: CancellationToken,
    /// Set when the client closes it on purpose (no automatic reconnect).
    leaving: AtomicBool,
}

/// Everything the clients share.
pub struct World {
    pub settings: WorkloadSettings,
    pub recorder: Recorder,
    pub urls: Vec<String>,
    /// The sessions, set once they are created.
    layout: OnceLock<Layout>,
    pub clients: Vec<Arc<Client>>,
    /// The admin who owns the events and the burst sessions (no steps of its own).
    pub admin: Arc<Client>,
    /// Stops the clients' steps (the quiet period before the final reads).
    pub stop: CancellationToken,
    /// Ends everything: no reconnects, no retries.
    pub shutdown: CancellationToken,
}

/// The sessions of the workload and what the clients share about each.
struct Layout {
    sessions: Vec<WorkloadSession>,
    invitations: Vec<Mutex<InviteBook>>,
    /// Per session: open to the workload (burst sessions open after their burst).
    open: Vec<AtomicBool>,
}

/// Before the sessions exist (during set-up).
static NO_LAYOUT: OnceLock<Layout> = OnceLock::new();

impl World {
    fn layout(&self) -> &Layout {
        self.layout.get().unwrap_or_else(|| {
            NO_LAYOUT.get_or_init(|| Layout {
                sessions: Vec::new(),
                invitations: Vec::new(),
                open: Vec::new(),
            })
        })
    }

    pub fn sessions(&self) -> &[WorkloadSession] {
        &self.layout().sessions
    }
}

/// Connects `client` to process `process`, resuming after its last push when it saw one.
/// One connection at a time, as a real client: the one it replaces is left before the new
/// one is asked for (so that `resumeAfter` covers every push the client took), and with
/// `only_if_disconnected` (a reconnect after a loss) a connection made meanwhile is kept.
async fn connect(
    world: &Arc<World>,
    client: &Arc<Client>,
    process: usize,
    only_if_disconnected: bool,
) -> anyhow::Result<Arc<Link>> {
    let _connecting = client.connecting.lock().await;
    if let Some(current) = client.current_link() {
        if only_if_disconnected {
            return Ok(current);
        }
        client.leave(&current);
        current.closed.cancel();
    }
    let resume_after = client.resume_after();
    let mut url = world.urls[process].clone();
    if let Some(after) = &resume_after {
        url.push_str(&format!("?resumeAfter={after}"));
    }
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {}", client.token).parse()?);
    let (socket, _) =
        tokio::time::timeout(UPGRADE_TIMEOUT, tokio_tungstenite::connect_async(request))
            .await
            .map_err(|_| anyhow::anyhow!("the upgrade took longer than {UPGRADE_TIMEOUT:?}"))??;
    let connected_before = client.connected_before.swap(true, Ordering::SeqCst);
    let fresh = resume_after.is_none() && connected_before;
    let id = world
        .recorder
        .connection_opened(&client.user, process, resume_after);
    let (sink, reader) = socket.split();
    let link = Arc::new(Link {
        id,
        sink: tokio::sync::Mutex::new(sink),
        waiting: Mutex::new(HashMap::new()),
        closed: CancellationToken::new(),
        leaving: AtomicBool::new(false),
    });
    client.home.store(process, Ordering::SeqCst);
    // Left above, when it was open.
    let replaced = lock(&client.link).replace(Arc::clone(&link));
    if let Some(replaced) = replaced {
        client.leave(&replaced);
        replaced.closed.cancel();
    }
    tokio::spawn(read_frames(
        Arc::clone(world),
        Arc::clone(client),
        Arc::clone(&link),
        reader,
    ));
    if fresh {
        // A new connection that could not resume: what was missed is refetched.
        spawn_refetch(world, client);
    }
    Ok(link)
}

/// Reads one connection's frames until it closes; then reconnects unless the client left.
async fn read_frames(
    world: Arc<World>,
    client: Arc<Client>,
    link: Arc<Link>,
    mut reader: stream::SplitStream<Socket>,
) {
    loop {
        let message = tokio::select! {
            () = link.closed.cancelled() => break,
            message = reader.next() => message,
        };
        match message {
            Some(Ok(Message::Text(text))) => handle_frame(&world, &client, &link, text.as_str()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    link.closed.cancel();
    world.recorder.connection_closed(link.id);
    // Dropping the senders tells the waiters that the connection was lost.
    lock(&link.waiting).clear();
    if !link.leaving.load(Ordering::SeqCst) {
        spawn_reconnect(&world, &client);
    }
}

fn handle_frame(world: &Arc<World>, client: &Arc<Client>, link: &Link, text: &str) {
    let recorder = &world.recorder;
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        recorder.push(
            &client.user,
            link.id,
            PushFrame::Other {
                text: text.to_owned(),
            },
        );
        return;
    };
    let endpoint = frame["endpoint"].as_str().unwrap_or_default();
    let event_id = frame["event"]["id"].as_str().unwrap_or_default().to_owned();
    match endpoint {
        "social:sessionUpdated" => {
            if !client.saw_push(link, &event_id) {
                return;
            }
            recorder.push(
                &client.user,
                link.id,
                PushFrame::Updated {
                    event_id,
                    view: parse_view(&frame["data"]["session"]),
                },
            );
        }
        "social:sessionDeleted" => {
            if !client.saw_push(link, &event_id) {
                return;
            }
            recorder.push(
                &client.user,
                link.id,
                PushFrame::Deleted {
                    event_id,
                    session_id: frame["data"]["sessionId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                },
            );
        }
        "social:resync" => {
            if link.leaving.load(Ordering::SeqCst) {
                return;
            }
            recorder.push(&client.user, link.id, PushFrame::Resync);
            spawn_refetch(world, client);
        }
        _ => {
            let answer = Answer {
                at: recorder.now(),
                code: frame["error"]["code"].as_i64().unwrap_or(-1),
                message: frame["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                data: frame.get("data").cloned(),
            };
            let waiter = lock(&link.waiting).remove(&event_id);
            match waiter {
                Some(waiter) => {
                    let _ = waiter.send(answer);
                }
                None if !event_id.is_empty() => {
                    recorder.late_answer(&client.user, &event_id, answer);
                }
                None => recorder.push(
                    &client.user,
                    link.id,
                    PushFrame::Other {
                        text: text.to_owned(),
                    },
                ),
            }
        }
    }
}

/// Reconnects `client` to its process in the background, every 250 ms or so, until it
/// succeeds or the run ends.
fn spawn_reconnect(world: &Arc<World>, client: &Arc<Client>) {
    if world.shutdown.is_cancelled() || client.reconnecting.swap(true, Ordering::SeqCst) {
        return;
    }
    let (world, client) = (Arc::clone(world), Arc::clone(client));
    tokio::spawn(async move {
        let mut rng = StdRng::seed_from_u64(world.settings.seed ^ client.index as u64 ^ 0x7e5);
        loop {
            let pause = Duration::from_millis(rng.random_range(150..400));
            tokio::select! {
                () = world.shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
            if client.current_link().is_some() {
                break;
            }
            let home = client.home.load(Ordering::SeqCst);
            if connect(&world, &client, home, true).await.is_ok() {
                break;
            }
        }
        client.reconnecting.store(false, Ordering::SeqCst);
    });
}

/// Closes the client's connection on purpose.
async fn disconnect(client: &Client) {
    let link = lock(&client.link).take();
    if let Some(link) = link {
        client.leave(&link);
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let mut sink = link.sink.lock().await;
            let _ = sink.send(Message::Close(None)).await;
        })
        .await;
        link.closed.cancel();
    }
}

/// Waits until the client is connected (or gives up).
async fn wait_for_link(world: &World, client: &Client) -> Option<Arc<Link>> {
    let deadline = tokio::time::Instant::now() + CONNECT_PATIENCE;
    loop {
        if let Some(link) = client.current_link() {
            return Some(link);
        }
        if world.shutdown.is_cancelled() || tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends one request on `link` and waits for its answer.
async fn attempt(
    recorder: &Recorder,
    link: &Link,
    endpoint: &str,
    data: &Value,
    event_id: &str,
) -> Attempt {
    let (waiter, answer) = oneshot::channel();
    lock(&link.waiting).insert(event_id.to_owned(), waiter);
    let frame = json!({"endpoint": endpoint, "data": data, "event": {"id": event_id, "date": 0}});
    let sent = recorder.now();
    let delivered = tokio::time::timeout(ANSWER_PATIENCE, async {
        link.sink
            .lock()
            .await
            .send(Message::text(frame.to_string()))
            .await
    })
    .await;
    if !matches!(delivered, Ok(Ok(()))) {
        lock(&link.waiting).remove(event_id);
        return Attempt {
            connection: link.id,
            sent,
            result: AttemptResult::ConnectionLost { at: recorder.now() },
        };
    }
    let result = match tokio::time::timeout(ANSWER_PATIENCE, answer).await {
        Ok(Ok(answer)) => AttemptResult::Answered(answer),
        Ok(Err(_)) => AttemptResult::ConnectionLost { at: recorder.now() },
        Err(_) => {
            lock(&link.waiting).remove(event_id);
            AttemptResult::TimedOut { at: recorder.now() }
        }
    };
    Attempt {
        connection: link.id,
        sent,
        result,
    }
}

/// Whether an attempt settles its request (no retry needed).
fn settles(attempt: &Attempt) -> bool {
    match &attempt.result {
        AttemptResult::Answered(answer) => {
            let retry = answer.code >= 500
                || answer.code == 429
                || answer.code == 409 && answer.message.contains("retry");
            !retry
        }
        AttemptResult::TimedOut { .. } | AttemptResult::ConnectionLost { .. } => false,
    }
}

/// Counts the first attempts of a burst.
pub struct BurstTally {
    remaining: AtomicUsize,
    done: Notify,
}

impl BurstTally {
    fn attempted(&self) {
        if self.remaining.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.done.notify_waiters();
        }
    }
}

/// Sends a request with its retries and records it; answers its outcome.
#[allow(clippy::too_many_arguments)]
async fn perform(
    world: &World,
    client: &Client,
    session: usize,
    kind: OpKind,
    endpoint: &'static str,
    data: Value,
    origin: Origin,
    event_id: Option<String>,
    tally: Option<&BurstTally>,
) -> Outcome {
    let event_id = event_id.unwrap_or_else(|| client.new_event_id());
    let mut operation = Operation {
        user: client.user.clone(),
        session: world.sessions()[session].spec.id.clone(),
        kind: kind.clone(),
        event_id: event_id.clone(),
        origin,
        attempts: Vec::new(),
    };
    let recorded = world.recorder.start_operation(operation.clone());
    let mut tally = tally;
    let mut rng =
        StdRng::seed_from_u64(world.settings.seed ^ client.next_request.load(Ordering::Relaxed));
    for number in 0..MAX_ATTEMPTS {
        if number > 0 {
            let pause = Duration::from_millis(250 << number.min(3))
                + Duration::from_millis(rng.random_range(0..200));
            tokio::select! {
                () = world.shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        let Some(link) = wait_for_link(world, client).await else {
            break;
        };
        let attempt = attempt(&world.recorder, &link, endpoint, &data, &event_id).await;
        if let Some(tally) = tally.take() {
            tally.attempted();
        }
        world.recorder.add_attempt(recorded, attempt.clone());
        let settled = settles(&attempt);
        operation.attempts.push(attempt);
        if settled {
            break;
        }
    }
    if let Some(tally) = tally {
        tally.attempted();
    }
    let outcome = outcome_of(&operation, &[]);
    let kept = operation.answers().any(|answer| {
        settles(&Attempt {
            connection: 0,
            sent: Duration::ZERO,
            result: AttemptResult::Answered(answer.clone()),
        })
    });
    if kind.changes_data() && kept && origin != Origin::Resend {
        lock(&client.finished).push(Finished {
            session,
            kind,
            endpoint,
            data,
            event_id,
        });
    }
    outcome
}

/// Joins (or asks for its rank) and updates the client's standing.
async fn join(
    world: &World,
    client: &Client,
    session: usize,
    waitlist: bool,
    origin: Origin,
    tally: Option<&BurstTally>,
) {
    let before = client.standing(session);
    if waitlist {
        lock(&client.touched).insert(session);
    }
    let data = json!({"sessionId": world.sessions()[session].spec.id, "waitlist": waitlist});
    let outcome = perform(
        world,
        client,
        session,
        OpKind::Join { waitlist },
        "social:joinSession",
        data,
        origin,
        None,
        tally,
    )
    .await;
    let after = match outcome {
        Outcome::Succeeded {
            waitlisted: None, ..
        } => Standing::Seated,
        Outcome::Succeeded {
            waitlisted: Some(_),
            ..
        } => Standing::Waiting,
        Outcome::Unknown if before == Standing::Fresh => Standing::Unknown,
        _ => before,
    };
    // A decline or an uninvite may have come meanwhile (a burst runs beside the steps).
    if client.standing(session) == before {
        client.set_standing(session, after);
    }
}

async fn decline(world: &World, client: &Client, session: usize) {
    client.set_standing(session, Standing::Gone);
    let data = json!({"sessionId": world.sessions()[session].spec.id});
    perform(
        world,
        client,
        session,
        OpKind::Decline,
        "social:declineSessionJoin",
        data,
        Origin::Workload,
        None,
        None,
    )
    .await;
}

async fn read(world: &World, client: &Client, session: usize, origin: Origin) {
    let data = json!({"sessionId": world.sessions()[session].spec.id});
    perform(
        world,
        client,
        session,
        OpKind::Get,
        "social:getSession",
        data,
        origin,
        None,
        None,
    )
    .await;
}

/// The sessions whose state the client should hold (and reads again after a resync).
fn followed(world: &World, client: &Client) -> Vec<usize> {
    let standings = lock(&client.standings).clone();
    let touched = lock(&client.touched).clone();
    (0..world.sessions().len())
        .filter(|&session| {
            let invited = {
                let book = lock(&world.layout().invitations[session]);
                book.named.contains(&client.index) && !book.uninvited.contains(&client.index)
            };
            world.sessions()[session].owner == client.index
                || invited
                || touched.contains(&session)
                || matches!(
                    standings.get(&session),
                    Some(Standing::Seated | Standing::Waiting | Standing::Unknown | Standing::Gone)
                )
        })
        .collect()
}

/// Reads every followed session again, in the background (once at a time).
fn spawn_refetch(world: &Arc<World>, client: &Arc<Client>) {
    if world.shutdown.is_cancelled() || client.refetching.swap(true, Ordering::SeqCst) {
        return;
    }
    let (world, client) = (Arc::clone(world), Arc::clone(client));
    tokio::spawn(async move {
        for session in followed(&world, &client) {
            read(&world, &client, session, Origin::Refetch).await;
        }
        client.refetching.store(false, Ordering::SeqCst);
    });
}

/// One step a client may take.
enum Step {
    Join(usize, bool),
    Decline(usize),
    Update(usize),
    Invite(usize, Vec<usize>),
    Uninvite(usize, usize),
    Read(usize),
    Resend(Finished),
    Reconnect,
}

fn choose_step(world: &World, client: &Client, rng: &mut StdRng) -> Option<Step> {
    let me = client.index;
    let open = |session: usize| world.layout().open[session].load(Ordering::SeqCst);
    let may_join = |session: usize| {
        let spec = &world.sessions()[session];
        if spec.owner == me || !open(session) {
            return false;
        }
        if spec.spec.private {
            let book = lock(&world.layout().invitations[session]);
            book.confirmed.contains(&me) && !book.uninvited.contains(&me)
        } else {
            true
        }
    };
    let sessions = 0..world.sessions().len();
    let roll = rng.random_range(0..100);
    let pick = |candidates: Vec<usize>, rng: &mut StdRng| {
        (!candidates.is_empty()).then(|| candidates[rng.random_range(0..candidates.len())])
    };
    let owned: Vec<usize> = sessions
        .clone()
        .filter(|&session| world.sessions()[session].owner == me)
        .collect();
    match roll {
        0..38 => {
            let candidates: Vec<usize> = sessions
                .filter(|&session| {
                    may_join(session)
                        && matches!(
                            client.standing(session),
                            Standing::Fresh | Standing::Waiting
                        )
                })
                .collect();
            let session = pick(candidates, rng)?;
            let waitlist = client.standing(session) == Standing::Waiting || rng.random_bool(0.5);
            Some(Step::Join(session, waitlist))
        }
        38..52 => {
            let candidates: Vec<usize> = sessions
                .filter(|&session| {
                    let standing = client.standing(session);
                    let invited = world.sessions()[session].spec.private && {
                        let book = lock(&world.layout().invitations[session]);
                        book.confirmed.contains(&me) && !book.uninvited.contains(&me)
                    };
                    open(session)
                        && (matches!(
                            standing,
                            Standing::Seated | Standing::Waiting | Standing::Unknown
                        ) || standing == Standing::Fresh && invited)
                })
                .collect();
            let session = pick(candidates, rng)?;
            // Leaving a burst session pushes to hundreds: rarer.
            let burst = world.sessions()[session].burst.is_some();
            (!burst || rng.random_bool(0.2)).then_some(Step::Decline(session))
        }
        52..64 => pick(owned, rng).map(Step::Update),
        64..71 => {
            let session = pick(
                owned
                    .into_iter()
                    .filter(|&session| world.sessions()[session].spec.private)
                    .collect(),
                rng,
            )?;
            let book = lock(&world.layout().invitations[session]);
            let mut invitees = Vec::new();
            for _ in 0..rng.random_range(1..=3) {
                let candidate = rng.random_range(0..world.clients.len());
                if candidate != me
                    && !book.named.contains(&candidate)
                    && !invitees.contains(&candidate)
                {
                    invitees.push(candidate);
                }
            }
            (!invitees.is_empty()).then_some(Step::Invite(session, invitees))
        }
        71..73 => {
            let session = pick(
                owned
                    .into_iter()
                    .filter(|&session| world.sessions()[session].spec.private)
                    .collect(),
                rng,
            )?;
            let candidates: Vec<usize> = {
                let book = lock(&world.layout().invitations[session]);
                book.confirmed
                    .difference(&book.uninvited)
                    .copied()
                    .collect()
            };
            let mut candidates = candidates;
            candidates.sort_unstable();
            pick(candidates, rng).map(|user| Step::Uninvite(session, user))
        }
        73..88 => {
            let candidates: Vec<usize> = sessions
                .filter(|&session| {
                    !world.sessions()[session].spec.private || followed_one(world, client, session)
                })
                .collect();
            pick(candidates, rng).map(Step::Read)
        }
        88..96 => {
            let finished = lock(&client.finished);
            (!finished.is_empty())
                .then(|| Step::Resend(finished[rng.random_range(0..finished.len())].clone()))
        }
        _ => Some(Step::Reconnect),
    }
}

fn followed_one(world: &World, client: &Client, session: usize) -> bool {
    world.sessions()[session].owner == client.index
        || lock(&world.layout().invitations[session])
            .named
            .contains(&client.index)
}

/// Runs one client's steps until the workload stops.
pub async fn run_client(world: Arc<World>, client: Arc<Client>) {
    let mut rng =
        StdRng::seed_from_u64(world.settings.seed.wrapping_mul(1_000_003) ^ client.index as u64);
    let mean_pause = world.settings.clients as f64 / world.settings.operations_per_second;
    let mut title_seq = 0_u64;
    loop {
        // Exponential pauses: the clients' steps form a Poisson stream of the chosen rate.
        let pause = -mean_pause * (1.0 - rng.random::<f64>()).ln();
        tokio::select! {
            () = world.stop.cancelled() => break,
            () = tokio::time::sleep(Duration::from_secs_f64(pause.min(mean_pause * 5.0))) => {}
        }
        let Some(step) = choose_step(&world, &client, &mut rng) else {
            continue;
        };
        match step {
            Step::Join(session, waitlist) => {
                join(&world, &client, session, waitlist, Origin::Workload, None).await
            }
            Step::Decline(session) => decline(&world, &client, session).await,
            Step::Update(session) => {
                title_seq += 1;
                let spec = &world.sessions()[session].spec;
                let data =
                    json!({"session": {"id": spec.id, "title": title_of(&spec.label, title_seq)}});
                perform(
                    &world,
                    &client,
                    session,
                    OpKind::Update { title_seq },
                    "social:updateSession",
                    data,
                    Origin::Workload,
                    None,
                    None,
                )
                .await;
            }
            Step::Invite(session, invitees) => {
                lock(&world.layout().invitations[session])
                    .named
                    .extend(invitees.iter().copied());
                let users: Vec<String> = invitees
                    .iter()
                    .map(|&index| world.clients[index].user.clone())
                    .collect();
                let entries: Vec<Value> = users
                    .iter()
                    .map(|user| json!({"userId": user, "role": 0}))
                    .collect();
                let data = json!({"sessionId": world.sessions()[session].spec.id, "usersToInvite": entries});
                let outcome = perform(
                    &world,
                    &client,
                    session,
                    OpKind::Invite { users },
                    "social:inviteUsersToSession",
                    data,
                    Origin::Workload,
                    None,
                    None,
                )
                .await;
                if matches!(outcome, Outcome::Succeeded { .. }) {
                    lock(&world.layout().invitations[session])
                        .confirmed
                        .extend(invitees);
                }
            }
            Step::Uninvite(session, invitee) => {
                lock(&world.layout().invitations[session])
                    .uninvited
                    .insert(invitee);
                world.clients[invitee].set_standing(session, Standing::Gone);
                let users = vec![world.clients[invitee].user.clone()];
                let data =
                    json!({"sessionId": world.sessions()[session].spec.id, "usersToInvite": users});
                perform(
                    &world,
                    &client,
                    session,
                    OpKind::Uninvite { users },
                    "social:deleteUserSessionInvitations",
                    data,
                    Origin::Workload,
                    None,
                    None,
                )
                .await;
            }
            Step::Read(session) => read(&world, &client, session, Origin::Workload).await,
            Step::Resend(finished) => {
                perform(
                    &world,
                    &client,
                    finished.session,
                    finished.kind,
                    finished.endpoint,
                    finished.data,
                    Origin::Resend,
                    Some(finished.event_id),
                    None,
                )
                .await;
            }
            Step::Reconnect => {
                disconnect(&client).await;
                let process = rng.random_range(0..world.urls.len());
                if connect(&world, &client, process, false).await.is_err() {
                    spawn_reconnect(&world, &client);
                }
            }
        }
    }
}

/// The `n`th burst: every client that can sends `joinSession` for the burst session at
/// the same moment (half of them with `waitlist`). Returns when every request had its
/// first answer (or was given up), and how many were sent.
pub async fn burst(world: &Arc<World>, burst: usize, clients: usize) -> (usize, String) {
    let Some(session) = world
        .sessions()
        .iter()
        .position(|session| session.burst == Some(burst))
    else {
        return (0, "no burst session".to_owned());
    };
    world.layout().open[session].store(true, Ordering::SeqCst);
    let joining: Vec<Arc<Client>> = world
        .clients
        .iter()
        .filter(|client| client.standing(session) == Standing::Fresh)
        .take(clients)
        .cloned()
        .collect();
    let tally = Arc::new(BurstTally {
        remaining: AtomicUsize::new(joining.len()),
        done: Notify::new(),
    });
    let start = Arc::new(tokio::sync::Barrier::new(joining.len() + 1));
    let mut rng = StdRng::seed_from_u64(world.settings.seed ^ 0xb0b ^ burst as u64);
    for client in &joining {
        let waitlist = rng.random_bool(0.5);
        let (world, client, tally, start) = (
            Arc::clone(world),
            Arc::clone(client),
            Arc::clone(&tally),
            Arc::clone(&start),
        );
        tokio::spawn(async move {
            start.wait().await;
            join(
                &world,
                &client,
                session,
                waitlist,
                Origin::Burst,
                Some(&tally),
            )
            .await;
        });
    }
    let all_attempted = tally.done.notified();
    tokio::pin!(all_attempted);
    all_attempted.as_mut().enable();
    start.wait().await;
    if tally.remaining.load(Ordering::SeqCst) > 0 {
        let _ = tokio::time::timeout(ANSWER_PATIENCE + CONNECT_PATIENCE, all_attempted).await;
    }
    (
        joining.len(),
        format!(
            "{} joins onto {}",
            joining.len(),
            world.sessions()[session].spec.label
        ),
    )
}

/// The final reads: every client (and the admin) reads each session it followed.
pub async fn final_reads(world: &Arc<World>) {
    let everyone: Vec<Arc<Client>> = world
        .clients
        .iter()
        .chain(std::iter::once(&world.admin))
        .cloned()
        .collect();
    stream::iter(everyone)
        .for_each_concurrent(64, |client| {
            let world = Arc::clone(world);
            async move {
                for session in followed(&world, &client) {
                    read(&world, &client, session, Origin::Final).await;
                }
            }
        })
        .await;
}

/// Closes every connection (after the run).
pub async fn close_all(world: &World) {
    world.shutdown.cancel();
    for client in world.clients.iter().chain(std::iter::once(&world.admin)) {
        disconnect(client).await;
    }
}

/// A recovery probe: `getSession` of the probe session on one process, every 100 ms.
pub async fn run_probe(
    world: Arc<World>,
    probe: Arc<Client>,
    session_id: String,
    until: CancellationToken,
) {
    let process = probe.home.load(Ordering::SeqCst);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let data = json!({"sessionId": session_id});
    loop {
        tokio::select! {
            () = until.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let Some(link) = probe.current_link() else {
            let now = world.recorder.now();
            world.recorder.probe(super::history::ProbeRecord {
                process,
                sent: now,
                finished: now,
                succeeded: false,
            });
            spawn_reconnect(&world, &probe);
            continue;
        };
        if in_flight.load(Ordering::SeqCst) >= PROBES_IN_FLIGHT {
            continue;
        }
        in_flight.fetch_add(1, Ordering::SeqCst);
        let (world, probe, in_flight, data) = (
            Arc::clone(&world),
            Arc::clone(&probe),
            Arc::clone(&in_flight),
            data.clone(),
        );
        tokio::spawn(async move {
            let event_id = probe.new_event_id();
            let attempt = attempt(
                &world.recorder,
                &link,
                "social:getSession",
                &data,
                &event_id,
            )
            .await;
            let succeeded =
                matches!(&attempt.result, AttemptResult::Answered(answer) if answer.code == 0);
            world.recorder.probe(super::history::ProbeRecord {
                process,
                sent: attempt.sent,
                finished: attempt.ended(),
                succeeded,
            });
            in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// What setting up made: the world, and the probes with their session.
pub struct Setup {
    pub world: Arc<World>,
    pub probes: Vec<Arc<Client>>,
    pub probe_session: String,
}

/// Sends one setup request as `client`, which must succeed; answers its `data`.
async fn setup_request(
    world: &World,
    client: &Client,
    endpoint: &str,
    data: Value,
) -> anyhow::Result<Value> {
    for _ in 0..5 {
        let link = wait_for_link(world, client)
            .await
            .ok_or_else(|| anyhow::anyhow!("{} has no connection", client.user))?;
        let attempt = attempt(
            &world.recorder,
            &link,
            endpoint,
            &data,
            &client.new_event_id(),
        )
        .await;
        match attempt.result {
            AttemptResult::Answered(answer) if answer.code == 0 => {
                return Ok(answer.data.unwrap_or(Value::Null));
            }
            AttemptResult::Answered(answer) if answer.code < 500 => {
                anyhow::bail!("{endpoint} failed: {} {}", answer.code, answer.message)
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    anyhow::bail!("{endpoint} kept failing during set-up")
}

/// Seeds memberships, creates the events and sessions, and connects every client.
pub async fn set_up(
    settings: WorkloadSettings,
    recorder: Recorder,
    urls: Vec<String>,
    mongodb_uri: &str,
    db_name: &str,
) -> anyhow::Result<Setup> {
    let signer = TokenSigner::hs256(SECRET.as_bytes());
    let network = format!("chaos-{}", settings.seed);
    let processes = urls.len();
    let clients: Vec<Arc<Client>> = (0..settings.clients)
        .map(|index| {
            Client::new(index, format!("u{index}"), index % processes, &signer).map(Arc::new)
        })
        .collect::<anyhow::Result<_>>()?;
    let admin = Arc::new(Client::new(
        settings.clients,
        "admin".to_owned(),
        0,
        &signer,
    )?);
    let probes: Vec<Arc<Client>> = (0..processes)
        .map(|process| {
            Client::new(
                usize::MAX - process,
                format!("probe-{process}"),
                process,
                &signer,
            )
            .map(Arc::new)
        })
        .collect::<anyhow::Result<_>>()?;

    // Memberships, as the wider platform writes them.
    let store = Store::connect(mongodb_uri, db_name, Duration::from_secs(10)).await?;
    let memberships: Vec<Membership> = clients
        .iter()
        .map(|client| (client.user.clone(), MembershipRole::Member))
        .chain(std::iter::once(("admin".to_owned(), MembershipRole::Admin)))
        .map(|(user_id, role)| Membership {
            user_id,
            network_id: network.clone(),
            community_id: None,
            role,
        })
        .collect();
    let written: Vec<anyhow::Result<()>> = stream::iter(memberships)
        .map(|membership| {
            let store = store.clone();
            async move {
                store
                    .upsert_membership(&membership)
                    .await
                    .map_err(|error| anyhow::anyhow!("cannot write a membership: {error}"))
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    written.into_iter().collect::<anyhow::Result<Vec<()>>>()?;

    let connecting = Arc::new(World {
        settings: settings.clone(),
        recorder,
        urls,
        layout: OnceLock::new(),
        clients,
        admin,
        stop: CancellationToken::new(),
        shutdown: CancellationToken::new(),
    });
    connect_all(&connecting, &probes).await?;
    let source = format!("network:{network}");
    let now = chrono::Utc::now().timestamp_millis();
    let mut event_ids = Vec::new();
    for (title, limit) in [
        ("Sessions", settings.seat_limit),
        ("Bursts", settings.burst_limit),
    ] {
        let created = setup_request(
            &connecting,
            &connecting.admin,
            "social:createEvent",
            json!({"source": source, "event": {
                "title": title, "startDate": now, "endDate": now + 30 * 86_400_000_i64,
                "roomId": "chaos-room", "participantLimit": limit}}),
        )
        .await?;
        let event_id = created["event"]["id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("createEvent answered no id: {created}"))?
            .to_owned();
        setup_request(
            &connecting,
            &connecting.admin,
            "social:publishEvent",
            json!({"eventId": event_id}),
        )
        .await?;
        event_ids.push(event_id);
    }
    let mut plans = Vec::new();
    let private_count = (settings.sessions as f64 * settings.private_share).round() as usize;
    for index in 0..settings.sessions {
        let private = index < private_count;
        let label = if private {
            format!("private-{index}")
        } else {
            format!("public-{index}")
        };
        plans.push((
            label,
            index % settings.clients,
            private,
            None,
            event_ids[0].clone(),
            settings.seat_limit,
        ));
    }
    for burst in 0..settings.burst_sessions {
        plans.push((
            format!("burst-{burst}"),
            settings.clients,
            false,
            Some(burst),
            event_ids[1].clone(),
            settings.burst_limit,
        ));
    }
    let created: Vec<anyhow::Result<WorkloadSession>> = stream::iter(plans)
        .map(|(label, owner, private, burst, event_id, seat_limit)| {
            let world = Arc::clone(&connecting);
            async move {
                let client = if owner == world.settings.clients {
                    &world.admin
                } else {
                    &world.clients[owner]
                };
                let data = setup_request(
                    &world,
                    client,
                    "social:createSession",
                    json!({"session": {
                        "eventId": event_id, "roomId": "chaos-room", "propId": label,
                        "sessionType": if private { 1 } else { 0 },
                        "title": title_of(&label, 0), "description": "chaos",
                        "startDate": now + 86_400_000_i64, "duration": 3600}}),
                )
                .await?;
                let id = data["session"]["id"]
                    .as_str()
                    .ok_or_else(|| anyhow::anyhow!("createSession answered no id: {data}"))?
                    .to_owned();
                Ok(WorkloadSession {
                    spec: SessionSpec {
                        id,
                        label,
                        owner: client.user.clone(),
                        private,
                        seat_limit,
                    },
                    owner,
                    burst,
                })
            }
        })
        .buffered(16)
        .collect()
        .await;
    let sessions: Vec<WorkloadSession> = created.into_iter().collect::<anyhow::Result<_>>()?;
    let probe = setup_request(
        &connecting,
        &probes[0],
        "social:createSession",
        json!({"session": {"eventId": "", "roomId": "chaos-room", "propId": "probe",
            "sessionType": 0, "title": "Probe", "startDate": now + 86_400_000_i64, "duration": 3600}}),
    )
    .await?;
    let probe_session = probe["session"]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("createSession answered no id: {probe}"))?
        .to_owned();

    let world = connecting;
    for session in &sessions {
        world.recorder.add_session(session.spec.clone());
    }
    let layout = Layout {
        open: sessions
            .iter()
            .map(|session| AtomicBool::new(session.burst.is_none()))
            .collect(),
        invitations: sessions
            .iter()
            .map(|_| Mutex::new(InviteBook::default()))
            .collect(),
        sessions,
    };
    if world.layout.set(layout).is_err() {
        anyhow::bail!("the sessions were laid out twice");
    }
    Ok(Setup {
        world,
        probes,
        probe_session,
    })
}

/// Connects every client, the admin and the probes (32 upgrades at a time).
async fn connect_all(world: &Arc<World>, probes: &[Arc<Client>]) -> anyhow::Result<()> {
    let everyone: Vec<Arc<Client>> = world
        .clients
        .iter()
        .chain(std::iter::once(&world.admin))
        .chain(probes.iter())
        .cloned()
        .collect();
    let connected: Vec<anyhow::Result<()>> = stream::iter(everyone)
        .map(|client| {
            let world = Arc::clone(world);
            async move {
                let home = client.home.load(Ordering::SeqCst);
                let mut last_error = None;
                for _ in 0..5 {
                    match connect(&world, &client, home, true).await {
                        Ok(_) => return Ok(()),
                        Err(error) => last_error = Some(error),
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(anyhow::anyhow!(
                    "{} cannot connect: {}",
                    client.user,
                    last_error.map_or(String::new(), |error| error.to_string())
                ))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    connected.into_iter().collect()
}
