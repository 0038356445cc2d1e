//! The embedded development database: SecantusDB, a MongoDB-wire-compatible server,
//! run as a child process from a project-local Python environment.
//!
//! Used only when no `MONGODB_URI` is configured. The Python environment is created on
//! first use from the pinned requirement in `embedded-db/requirements.txt`. The server
//! runs under a small supervisor (`embedded-db/supervise.py`) that stops it gracefully
//! when this process exits, however it exits, so no database outlives the service or a
//! test run. The URI of a running embedded database is written to the data dir, so that
//! `social-events import` can reach the database of a running development server.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The pinned requirement, shared with `.ci/run`.
const REQUIREMENTS: &str = include_str!("../../embedded-db/requirements.txt");
/// The supervisor script.
const SUPERVISOR: &str = include_str!("../../embedded-db/supervise.py");
/// Longest wait for the server to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Name of the file in the data dir that holds a running embedded database's URI.
const URI_FILE: &str = "embedded-db.uri";

/// A running embedded database; stopped on drop.
pub struct EmbeddedDatabase {
    child: Child,
    /// Closing the supervisor's stdin asks it to stop the server.
    stdin: Option<ChildStdin>,
    uri: String,
    uri_file: Option<PathBuf>,
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
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let port = free_port()?;
        let mut child = Command::new(venv.join("bin").join("python"))
            .arg("-c")
            .arg(SUPERVISOR)
            .arg(&server)
            .arg("127.0.0.1")
            .arg(port.to_string())
            .arg(storage)
            .arg(if throwaway { "1" } else { "0" })
            .args(options)
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C in the terminal reaches the service, which
            // drains its connections before it stops the database.
            .process_group(0)
            .spawn()
            .context("cannot start the embedded database")?;
        let stdin = child.stdin.take();
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the embedded database exited with {status} at start-up; see {}",
                    log_path.display()
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("the embedded database did not start within {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::info!(%address, storage = %storage.display(), "embedded database started");
        Ok(EmbeddedDatabase {
            child,
            stdin,
            uri: format!("mongodb://{address}/?directConnection=true"),
            uri_file: None,
        })
    }

    /// Starts the database of the development server under `data_dir` and records its URI
    /// there for the other commands.
    pub fn start_in_data_dir(venv: &Path, data_dir: &Path) -> anyhow::Result<Self> {
        super::private_dir(data_dir)?;
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

    /// Stops the server gracefully and waits for it.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(uri_file) = self.uri_file.take() {
            let _ = std::fs::remove_file(uri_file);
        }
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        match self.child.wait() {
            Ok(status) if !status.success() => {
                tracing::warn!(%status, "embedded database stopped with an error");
            }
            Ok(_) => tracing::info!("embedded database stopped"),
            Err(error) => tracing::warn!(%error, "cannot wait for the embedded database"),
        }
    }
}

impl Drop for EmbeddedDatabase {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            self.shut_down();
        }
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
