//! The real processes of a chaos run: one SecantusDB server (a single-node replica set, so
//! that change streams carry pushes between processes) and several `social-events serve`
//! processes on it, each of which can be frozen, killed and started again on the same port
//! (and, for the database, the same files). Every child is killed when the [`Cluster`] is
//! dropped, also when the run panics. Logs go to the run's directory.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use social_events::tools::embedded::{StartUp, ensure_python_env, wait_until_listening};

/// The HS256 secret of the run's `serve` processes.
pub const SECRET: &str = "chaos-run-secret-of-at-least-32-bytes";

/// Longest wait for the database to listen, and for a `serve` process to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The database server.
pub struct DatabaseProcess {
    executable: PathBuf,
    storage: PathBuf,
    log: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl DatabaseProcess {
    /// Starts SecantusDB — `executable` (its Rust server, `secantusd-rs`), or none: the
    /// Python one of the environment `.venv` — with its files and log in `directory`, on a
    /// free port; blocks until it listens.
    pub fn start(executable: Option<&Path>, directory: &Path) -> anyhow::Result<DatabaseProcess> {
        let executable = match executable {
            Some(executable) => executable.to_owned(),
            None => ensure_python_env(Path::new(".venv"))?,
        };
        let mut database = DatabaseProcess {
            executable,
            storage: directory.join("db"),
            log: directory.join("db.log"),
            port: 0,
            child: None,
        };
        for _ in 0..5 {
            let port = free_port()?;
            if database.run_on(port)? {
                database.port = port;
                return Ok(database);
            }
        }
        anyhow::bail!("the database found no free port")
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// Starts the server on `port`: `false` when another process holds the port.
    fn run_on(&mut self, port: u16) -> anyhow::Result<bool> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let earlier = log.metadata()?.len();
        let child = Command::new(&self.executable)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--log-level", "INFO"])
            .arg("--storage-path")
            .arg(&self.storage)
            // Honour `j: true` (the service's write concern) as MongoDB does: without it,
            // `secantusd-rs` acknowledges journaled writes it has not written yet, and a
            // `kill -9` loses writes the service was told were durable.
            .arg("--sync-on-commit")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let child = self.child.insert(child);
        match wait_until_listening(child, &self.log, earlier, port, START_TIMEOUT)? {
            StartUp::Listening => Ok(true),
            StartUp::PortTaken => Ok(false),
            StartUp::Exited => anyhow::bail!("the database exited; see {}", self.log.display()),
        }
    }

    fn pid(&self) -> Option<Pid> {
        self.child
            .as_ref()
            .map(|child| Pid::from_raw(child.id() as i32))
    }

    /// SIGCONT.
    pub fn thaw(&self) -> anyhow::Result<()> {
        if let Some(pid) = self.pid() {
            kill(pid, Signal::SIGCONT)?;
        }
        Ok(())
    }

    /// SIGKILL: nothing flushed, nothing shut down.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the killed server again on its port and files; blocks until it listens.
    fn restart(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.run_on(self.port)? {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the database's port {} stayed taken",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for DatabaseProcess {
    fn drop(&mut self) {
        let _ = self.thaw();
        self.kill();
    }
}

/// SIGSTOP to `pid`, then waits until every thread of it is stopped (a thread still
/// running could answer a request sent after this returns).
fn freeze(pid: Pid) -> anyhow::Result<()> {
    kill(pid, Signal::SIGSTOP)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !all_threads_stopped(pid.as_raw() as u32) {
        anyhow::ensure!(Instant::now() < deadline, "the database did not stop");
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Whether every thread of process `pid` is stopped (state `T` in `/proc`).
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    threads.flatten().all(|thread| {
        std::fs::read_to_string(thread.path().join("stat")).is_ok_and(|stat| {
            stat.rfind(')')
                .and_then(|end| stat[end + 1..].split_whitespace().next())
                .is_some_and(|state| state == "T")
        })
    })
}

/// One `social-events serve` process on a fixed port.
pub struct ServeProcess {
    pub index: usize,
    pub addr: SocketAddr,
    environment: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

/// How the `serve` processes are configured.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub mongodb_uri: String,
    pub db_name: String,
    /// `SOCIAL_DB_TIMEOUT`.
    pub db_timeout: Duration,
    /// `RUST_LOG`.
    pub log_filter: String,
}

impl ServeProcess {
    /// Starts process `index` on a free port; waits until it answers `/healthz`.
    pub async fn start(
        index: usize,
        settings: &ServeSettings,
        directory: &Path,
    ) -> anyhow::Result<ServeProcess> {
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()?).into();
        let environment = vec![
            ("SOCIAL_BIND".to_owned(), addr.to_string()),
            ("SOCIAL_JWT_SECRET".to_owned(), SECRET.to_owned()),
            ("MONGODB_URI".to_owned(), settings.mongodb_uri.clone()),
            ("SOCIAL_DB".to_owned(), settings.db_name.clone()),
            (
                "SOCIAL_DB_TIMEOUT".to_owned(),
                settings.db_timeout.as_secs_f64().to_string(),
            ),
            // The workload is many users on few processes; rates are not under test.
            ("SOCIAL_RATE_LIMIT".to_owned(), "100000".to_owned()),
            ("SOCIAL_RATE_BURST".to_owned(), "100000".to_owned()),
            ("RUST_LOG".to_owned(), settings.log_filter.clone()),
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ];
        let mut process = ServeProcess {
            index,
            addr,
            environment,
            log: directory.join(format!("serve-{index}.log")),
            child: None,
        };
        process.launch().await?;
        Ok(process)
    }

    /// Starts the binary and waits until `/healthz` answers.
    async fn launch(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(env!("CARGO_BIN_EXE_social-events"))
            .arg("serve")
            .envs(self.environment.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let client = http_client()?;
        let health = format!("http://{}/healthz", self.addr);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                anyhow::bail!(
                    "serve {} exited with {status}; see {}",
                    self.index,
                    self.log.display()
                );
            }
            let healthy = client
                .get(&health)
                .send()
                .await
                .is_ok_and(|answer| answer.status().is_success());
            if healthy {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "serve {} did not answer /healthz",
                self.index
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `/readyz` says the process can use the database.
    pub async fn until_ready(&self, patience: Duration) -> anyhow::Result<()> {
        let client = http_client()?;
        let ready = format!("http://{}/readyz", self.addr);
        let deadline = Instant::now() + patience;
        loop {
            let answered = client
                .get(&ready)
                .send()
                .await
                .is_ok_and(|answer| answer.status().is_success());
            if answered {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "serve {} not ready within {patience:?}",
                self.index
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the killed process again on its port.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.launch().await
    }

    /// Whether the process is still running (not exited by itself).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/api/v0/ws", self.addr)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A short-timeout HTTP client for health checks.
fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The run's processes and its directory of logs.
pub struct Cluster {
    pub directory: PathBuf,
    /// Taken out only while it restarts.
    database: Option<DatabaseProcess>,
    pub serves: Vec<ServeProcess>,
    pub settings: ServeSettings,
}

impl Cluster {
    /// Starts the database (`database_executable`, see [`DatabaseProcess::start`]) and
    /// `processes` serve processes on database `db_name`, with everything kept in
    /// `directory`.
    pub async fn start(
        directory: PathBuf,
        processes: usize,
        db_name: &str,
        db_timeout: Duration,
        database_executable: Option<PathBuf>,
    ) -> anyhow::Result<Cluster> {
        std::fs::create_dir_all(&directory)?;
        let database = {
            let directory = directory.clone();
            tokio::task::spawn_blocking(move || {
                DatabaseProcess::start(database_executable.as_deref(), &directory)
            })
            .await??
        };
        let settings = ServeSettings {
            mongodb_uri: database.uri(),
            db_name: db_name.to_owned(),
            db_timeout,
            log_filter: std::env::var("CHAOS_SERVER_LOG").unwrap_or_else(|_| "warn".to_owned()),
        };
        let mut cluster = Cluster {
            directory,
            database: Some(database),
            serves: Vec::new(),
            settings,
        };
        for index in 0..processes {
            let process = ServeProcess::start(index, &cluster.settings, &cluster.directory).await?;
            cluster.serves.push(process);
        }
        for process in &cluster.serves {
            process.until_ready(START_TIMEOUT).await?;
        }
        Ok(cluster)
    }

    pub fn urls(&self) -> Vec<String> {
        self.serves.iter().map(ServeProcess::ws_url).collect()
    }

    /// Freezes the database (SIGSTOP, until every thread stopped).
    pub async fn freeze_database(&self) -> anyhow::Result<()> {
        let pid = self
            .database
            .as_ref()
            .and_then(DatabaseProcess::pid)
            .ok_or_else(|| anyhow::anyhow!("no database runs"))?;
        tokio::task::spawn_blocking(move || freeze(pid)).await?
    }

    /// Lets the frozen database continue (SIGCONT).
    pub fn thaw_database(&self) -> anyhow::Result<()> {
        match &self.database {
            Some(database) => database.thaw(),
            None => Ok(()),
        }
    }

    /// Kills the database and starts it again on its port and files once `down` has
    /// passed; returns when it listens.
    pub async fn kill_and_restart_database(&mut self, down: Duration) -> anyhow::Result<()> {
        let mut database = self
            .database
            .take()
            .ok_or_else(|| anyhow::anyhow!("no database runs"))?;
        database.kill();
        tokio::time::sleep(down).await;
        let (database, restarted) = tokio::task::spawn_blocking(move || {
            let restarted = database.restart();
            (database, restarted)
        })
        .await?;
        self.database = Some(database);
        restarted
    }

    /// Processes that exited although nobody killed them.
    pub fn exited_processes(&mut self) -> Vec<usize> {
        self.serves
            .iter_mut()
            .filter_map(|process| (!process.is_running()).then_some(process.index))
            .collect()
    }
}
