//! The TypeScript client (`clients/typescript`) and the tools client developers use, run
//! from this suite: the client's own tests against a real `serve` process, the checked-in
//! generated types against the served AsyncAPI document, and the served contracts through
//! `@asyncapi/parser`, Modelina with `tsc --strict` and `redocly lint`.
//!
//! They need Node.js 20 or later and the package's dependencies: installed here with
//! `npm ci` on first use, as the embedded database's Python environment is.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use social_events::domain::kinds::MembershipRole as Role;
use social_events::domain::source::Membership;
use social_events::store::{DEFAULT_DEADLINE, Store};

use crate::helpers::{SECRET, ServeProcess, spawn_app, unique};

/// The package's directory.
fn package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/typescript")
}

/// `output` as text, for a failure's message.
fn described(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Installs the package's dependencies (`npm ci`) once per run when they are missing.
fn npm_installed() -> &'static Path {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let package = package();
        if !package.join("node_modules/.package-lock.json").exists() {
            let output = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&package)
                .output()
                .expect("npm runs (Node.js 20 or later is needed)");
            assert!(output.status.success(), "npm ci: {}", described(&output));
        }
        package
    })
}

/// Runs `node` with `arguments` in the package's directory.
async fn node(arguments: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(&arguments)
            .current_dir(npm_installed())
            .output()
            .expect("node runs")
    })
    .await
    .unwrap()
}

/// The served document at `path` of `app`, saved in a file of its own.
async fn saved(app: &crate::helpers::TestApp, path: &str) -> tempfile::TempPath {
    let text = reqwest::get(app.http_url(path))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file.into_temp_path()
}

#[tokio::test]
async fn standard_tools_accept_the_served_contracts() {
    let app = spawn_app().await;
    let asyncapi = saved(&app, "/asyncapi.json").await;
    let openapi = saved(&app, "/openapi.json").await;
    let output = node(vec![
        "scripts/check-contracts.mjs".into(),
        asyncapi.to_string_lossy().into_owned(),
        openapi.to_string_lossy().into_owned(),
    ])
    .await;
    assert!(output.status.success(), "{}", described(&output));
}

/// `clients/typescript/src/generated/contract.ts` is what the served document generates:
/// a change of the contract fails here until the types are generated again
/// (`npm run generate` in `clients/typescript` against a running server).
#[tokio::test]
async fn the_generated_types_match_the_served_document() {
    let app = spawn_app().await;
    let asyncapi = saved(&app, "/asyncapi.json").await;
    let output = node(vec![
        "scripts/generate.mjs".into(),
        asyncapi.to_string_lossy().into_owned(),
        "--check".into(),
    ])
    .await;
    assert!(output.status.success(), "{}", described(&output));
}

/// The client's own tests (`npm test`: `tsc --strict` of the package, its tests and its
/// example, then `node --test`) against a real `serve` process, with a network whose
/// admin and member they act as.
#[tokio::test]
async fn the_typescript_client_passes_its_tests_against_serve() {
    let db_name = unique("typescript");
    let server = ServeProcess::start(&db_name).await;
    let store = Store::connect(&server.mongodb_uri, &db_name, DEFAULT_DEADLINE)
        .await
        .unwrap();
    let network = unique("net");
    let admin = unique("admin");
    let member = unique("member");
    for (user, role) in [(&admin, Role::Admin), (&member, Role::Member)] {
        store
            .upsert_membership(&Membership {
                user_id: user.clone(),
                network_id: network.clone(),
                community_id: None,
                role,
            })
            .await
            .unwrap();
    }
    npm_installed();
    let running = tokio::process::Command::new("npm")
        .args(["test", "--silent"])
        .current_dir(package())
        .env("SOCIAL_WS_URL", server.ws_url())
        .env("SOCIAL_JWT_SECRET", SECRET)
        .env("SOCIAL_NETWORK", network)
        .env("SOCIAL_ADMIN", admin)
        .env("SOCIAL_MEMBER", member)
        .kill_on_drop(true)
        .output();
    // A client left open keeps the test process alive: that fails here instead of hanging.
    let output = tokio::time::timeout(NPM_TEST_BOUND, running)
        .await
        .expect("npm test finished (a client left open keeps its process running)")
        .expect("npm runs");
    assert!(output.status.success(), "{}", described(&output));
}

/// How long the client's tests may take, their build included (they take about 30 s).
const NPM_TEST_BOUND: std::time::Duration = std::time::Duration::from_secs(300);
