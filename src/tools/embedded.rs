//! The embedded development database: SecantusDB, a MongoDB-wire-compatible server,
//! run as a child process from a project-local Python environment.
//!
//! Used only when no `MONGODB_URI` is configured. The Python environment is created on
//! first use from the pinned requirement in `embedded-db/requirements.txt`. The server
//! runs under a small supervisor (`embedded-db/supervise.py`) that stops it gracefully
//! when this process exits, however it exits, so no database outlives the service or a
//! test run. A server that dies on its own (killed, crashed) is started again on the same
//! port and files, and the service reconnects by itself. The URI of a running embedded database is written to the data dir, so that
//! `social-events import` can reach the database of a running development server.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The pinned requirement, shared with `.ci/run`.
const REQUIREMENTS: &str = include_str!("../../embedded-db/requirements.txt");
/// The supervisor script.
const SUPERVISOR: &str = include_str!("../../embedded-db/supervise.py");
/// Longest wait for the server to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How many free ports a first start tries (another process may take one first).
const PORT_ATTEMPTS: usize = 5;
/// Pause before a dead server is started again; doubled after each failed attempt, up to
/// [`MAX_RESTART_DELAY`].
const RESTART_DELAY: Duration = Duration::from_millis(200);
const MAX_RESTART_DELAY: Duration = Duration::from_secs(10);
/// Name of the file in the data dir that holds a running embedded database's URI.
const URI_FILE: &str = "embedded-db.uri";

/// A running embedded database; stopped on drop. When the server dies on its own it is
/// started again, on the same port and files, by a watcher thread (logged).
pub struct EmbeddedDatabase {
    uri: String,
    uri_file: Option<PathBuf>,
    /// The supervisor process that runs now (replaced at each restart).
    running: Arc<Mutex<Running>>,
    /// Set before the database is stopped on purpose: the watcher then restarts nothing.
    stopping: Arc<AtomicBool>,
    watcher: Option<std::thread::JoinHandle<()>>,
}

/// The current supervisor process.
struct Running {
    pid: u32,
    /// Closing the supervisor's stdin asks it to stop the server.
    stdin: Option<ChildStdin>,
}

/// How to start the server: the same every time.
struct Launch {
    python: PathBuf,
    server: PathBuf,
    port: u16,
    storage: PathBuf,
    throwaway: bool,
    options: Vec<String>,
    log_path: PathBuf,
}

impl Launch {
    /// Starts the supervisor and the server; blocks until the server listens. `None` when
    /// another process holds its port.
    fn start(&self) -> anyhow::Result<Option<Child>> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("cannot open {}", self.log_path.display()))?;
        let earlier = log.metadata()?.len();
        let mut child = Command::new(&self.python)
            .arg("-c")
            .arg(SUPERVISOR)
            .arg(&self.server)
            .arg("127.0.0.1")
            .arg(self.port.to_string())
            .arg(&self.storage)
            .arg(if self.throwaway { "1" } else { "0" })
            // Readiness is read from the server's INFO log, whatever a configuration file
            // of the machine says.
            .args(["--log-level", "INFO"])
            .args(&self.options)
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C in the terminal reaches the service, which
            // drains its connections before it stops the database.
            .process_group(0)
            .spawn()
            .context("cannot start the embedded database")?;
        match wait_until_listening(
            &mut child,
            &self.log_path,
            earlier,
            self.port,
            START_TIMEOUT,
        ) {
            Ok(StartUp::Listening) => Ok(Some(child)),
            Ok(StartUp::PortTaken) => Ok(None),
            Ok(StartUp::Exited) => bail!(
                "the embedded database exited at start-up; see {}",
                self.log_path.display()
            ),
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(error)
            }
        }
    }

    fn address(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }
}

/// How a start-up ended.
#[derive(Debug, PartialEq, Eq)]
pub enum StartUp {
    /// The server listens on its port.
    Listening,
    /// The server exited because another process holds its port.
    PortTaken,
    /// The server exited for another reason (its log says why).
    Exited,
}

/// Waits until the SecantusDB server `child` (or its supervisor) writes to `log`, after
/// its first `since` bytes, that it listens on `port` (the server must log at `INFO`). A
/// connection that succeeds would not tell this server from another process on the port.
pub fn wait_until_listening(
    child: &mut Child,
    log: &Path,
    since: u64,
    port: u16,
    timeout: Duration,
) -> anyhow::Result<StartUp> {
    let deadline = Instant::now() + timeout;
    loop {
        let written = std::fs::read(log).unwrap_or_default();
        let written = String::from_utf8_lossy(written.get(since as usize..).unwrap_or_default());
        if says_listening(&written, port) {
            return Ok(StartUp::Listening);
        }
        if child.try_wait()?.is_some() {
            return Ok(if written.contains("Address already in use") {
                StartUp::PortTaken
            } else {
                StartUp::Exited
            });
        }
        if Instant::now() > deadline {
            bail!("the embedded database did not start within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether `log` has the server's line saying it listens on `port` (not a longer port
/// number that starts with the same digits).
fn says_listening(log: &str, port: u16) -> bool {
    let listening = format!("listening on 127.0.0.1:{port}");
    log.match_indices(&listening)
        .any(|(at, _)| !log[at + listening.len()..].starts_with(|next: char| next.is_ascii_digit()))
}

impl EmbeddedDatabase {
    /// Starts a server storing its files in `storage` (created when missing), using the
    /// Python environment `venv` (created when missing). With `throwaway`, the storage is
    /// deleted when the server stops. Blocks until the server accepts connections.
    pub fn start(venv: &Path, storage: &Path, throwaway: bool) -> anyhow::Result<Self> {
        Self::start_with_options(venv, storage, throwaway, &[])
    }

    /// Like [`EmbeddedDatabase::start`], passing `options` to the server (for example
    /// `--standalone`, a server without replica set and so without change streams).
    pub fn start_with_options(
        venv: &Path,
        storage: &Path,
        throwaway: bool,
        options: &[&str],
    ) -> anyhow::Result<Self> {
        let server = ensure_python_env(venv)?;
        std::fs::create_dir_all(storage)
            .with_context(|| format!("cannot create {}", storage.display()))?;
        let log_path = storage.with_extension("log");
        std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut launch = Launch {
            python: venv.join("bin").join("python"),
            server,
            port: free_port()?,
            storage: storage.to_owned(),
            throwaway,
            options: options.iter().map(|option| (*option).to_owned()).collect(),
            log_path,
        };
        // Another process may take the port between `free_port` and the server's bind.
        let mut attempts = 1;
        let mut child = loop {
            match launch.start()? {
                Some(child) => break child,
                None if attempts < PORT_ATTEMPTS => {
                    attempts += 1;
                    launch.port = free_port()?;
                }
                None => bail!("the embedded database found no free port"),
            }
        };
        let address = launch.address();
        tracing::info!(%address, storage = %storage.display(), "embedded database started");
        let running = Arc::new(Mutex::new(Running {
            pid: child.id(),
            stdin: child.stdin.take(),
        }));
        let stopping = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (running, stopping) = (Arc::clone(&running), Arc::clone(&stopping));
            std::thread::Builder::new()
                .name("embedded-db-watcher".to_owned())
                .spawn(move || watch(child, &launch, &running, &stopping))
                .context("cannot start the embedded database's watcher")?
        };
        Ok(EmbeddedDatabase {
            uri: format!("mongodb://{address}/?directConnection=true"),
            uri_file: None,
            running,
            stopping,
            watcher: Some(watcher),
        })
    }

    /// Starts the database of the development server under `data_dir` and records its URI
    /// there for the other commands.
    pub fn start_in_data_dir(venv: &Path, data_dir: &Path) -> anyhow::Result<Self> {
        super::data_dir::private_dir(data_dir)?;
        let mut database = Self::start(venv, &data_dir.join("db"), false)?;
        let uri_file = data_dir.join(URI_FILE);
        std::fs::write(&uri_file, &database.uri)
            .with_context(|| format!("cannot write {}", uri_file.display()))?;
        database.uri_file = Some(uri_file);
        Ok(database)
    }

    /// The URI of a development server's database already running under `data_dir`.
    pub fn running_in_data_dir(data_dir: &Path) -> Option<String> {
        let uri = std::fs::read_to_string(data_dir.join(URI_FILE)).ok()?;
        let address: SocketAddr = uri
            .trim()
            .strip_prefix("mongodb://")?
            .split('/')
            .next()?
            .parse()
            .ok()?;
        TcpStream::connect_timeout(&address, Duration::from_millis(500))
            .is_ok()
            .then(|| uri.trim().to_owned())
    }

    /// The connection string.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The process id of the supervisor that runs the server now (it changes when the
    /// server is restarted); the server is its only child.
    pub fn supervisor_pid(&self) -> u32 {
        lock(&self.running).pid
    }

    /// Stops the server gracefully and waits for it.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(uri_file) = self.uri_file.take() {
            let _ = std::fs::remove_file(uri_file);
        }
        self.stopping.store(true, Ordering::SeqCst);
        drop(lock(&self.running).stdin.take());
        if let Some(watcher) = self.watcher.take()
            && watcher.join().is_err()
        {
            tracing::warn!("the embedded database's watcher panicked");
        }
    }
}

impl Drop for EmbeddedDatabase {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn lock(running: &Mutex<Running>) -> std::sync::MutexGuard<'_, Running> {
    running.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits for the supervisor to exit; unless the database is being stopped, logs it and
/// starts it again on the same port and files, once the port is free (retrying with a
/// growing pause).
fn watch(mut child: Child, launch: &Launch, running: &Mutex<Running>, stopping: &AtomicBool) {
    loop {
        let status = child.wait();
        if stopping.load(Ordering::SeqCst) {
            match status {
                Ok(status) if !status.success() => {
                    tracing::warn!(%status, "embedded database stopped with an error");
                }
                Ok(_) => tracing::info!("embedded database stopped"),
                Err(error) => tracing::warn!(%error, "cannot wait for the embedded database"),
            }
            return;
        }
        tracing::error!(
            status = ?status.ok(),
            log = %launch.log_path.display(),
            "the embedded database died; restarting it"
        );
        let mut delay = RESTART_DELAY;
        child = loop {
            std::thread::sleep(delay);
            if stopping.load(Ordering::SeqCst) {
                return;
            }
            // A server still stopping would answer the readiness check in the new one's place.
            if TcpStream::connect_timeout(&launch.address(), Duration::from_millis(200)).is_ok() {
                tracing::warn!(address = %launch.address(), "the embedded database's port is still taken; waiting");
            } else {
                match launch.start() {
                    Ok(Some(child)) => break child,
                    Ok(None) => {
                        tracing::error!(log = %launch.log_path.display(), "the embedded database exited at start-up; retrying")
                    }
                    Err(error) => {
                        tracing::error!(%error, "cannot restart the embedded database; retrying")
                    }
                }
            }
            delay = (delay * 2).min(MAX_RESTART_DELAY);
        };
        let stdin = child.stdin.take();
        let mut current = lock(running);
        current.pid = child.id();
        // A stop requested meanwhile found no stdin to close: close this one.
        current.stdin = if stopping.load(Ordering::SeqCst) {
            None
        } else {
            stdin
        };
        drop(current);
        tracing::info!(address = %launch.address(), "embedded database restarted");
    }
}

/// Creates the Python environment with the pinned SecantusDB unless it is already there;
/// answers the server executable.
pub fn ensure_python_env(venv: &Path) -> anyhow::Result<PathBuf> {
    let server = venv.join("bin").join("secantusd-py");
    let marker = venv.join("social-events-requirements.txt");
    let installed = std::fs::read_to_string(&marker).ok();
    if server.exists() && installed.as_deref() == Some(REQUIREMENTS) {
        return Ok(server);
    }
    tracing::info!(venv = %venv.display(), "installing the embedded database (first run only)");
    if !venv.join("bin").join("python").exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(venv))
            .context("cannot create the Python environment; is python3 with venv installed?")?;
    }
    let requirements = venv.join("requirements-embedded.txt");
    std::fs::write(&requirements, REQUIREMENTS)?;
    run(Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))
    .context("cannot install the embedded database with pip")?;
    std::fs::write(&marker, REQUIREMENTS)?;
    Ok(server)
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("no free local port")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str, log: &Path) -> Child {
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(log)
            .spawn()
            .unwrap()
    }

    #[test]
    fn a_server_is_ready_once_it_says_it_listens_on_its_port_after_the_old_log() {
        let directory = tempfile::tempdir().unwrap();
        let log = directory.path().join("db.log");
        std::fs::write(&log, "secantus listening on 127.0.0.1:4000\n").unwrap();
        let since = std::fs::metadata(&log).unwrap().len();
        let mut server = shell(
            "sleep 0.2; echo 'secantus listening on 127.0.0.1:4000' >> \"$1\"; sleep 5",
            &log,
        );
        let started = Instant::now();
        let ready = wait_until_listening(&mut server, &log, since, 4000, START_TIMEOUT);
        assert_eq!(ready.unwrap(), StartUp::Listening);
        assert!(started.elapsed() >= Duration::from_millis(200));
        let _ = server.kill();
        let _ = server.wait();
    }

    #[test]
    fn a_server_that_exits_at_start_up_says_whether_its_port_was_taken() {
        let directory = tempfile::tempdir().unwrap();
        let log = directory.path().join("db.log");
        let mut server = shell(
            "echo 'OSError: [Errno 98] Address already in use' >> \"$1\"; exit 1",
            &log,
        );
        let ready = wait_until_listening(&mut server, &log, 0, 4000, START_TIMEOUT);
        assert_eq!(ready.unwrap(), StartUp::PortTaken);
        let since = std::fs::metadata(&log).unwrap().len();
        let mut server = shell("echo 'bad storage' >> \"$1\"; exit 1", &log);
        let ready = wait_until_listening(&mut server, &log, since, 4000, START_TIMEOUT);
        assert_eq!(ready.unwrap(), StartUp::Exited);
    }

    #[test]
    fn another_port_starting_with_the_same_digits_is_not_this_one() {
        assert!(says_listening(
            "secantus listening on 127.0.0.1:4000\n",
            4000
        ));
        assert!(says_listening("listening on 127.0.0.1:4000", 4000));
        assert!(!says_listening(
            "secantus listening on 127.0.0.1:40001\n",
            4000
        ));
    }
}
