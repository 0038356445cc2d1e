//! The long chaos run, by hand: `cargo bench --bench chaos -- --seeds 20 --clients 1000
//! --seconds 120`. Runs one seed after the other (see `chaos/mod.rs`), prints each seed's
//! operations, faults, recoveries and violations and a summary table, and exits non-zero
//! when any seed found a violation (a recovery slower than 5 s included).
//!
//! Flags: `--seeds N` (20), `--first-seed S` (1), `--seed S` (only that one),
//! `--clients N` (1000), `--seconds N` (120), `--processes N` (3), `--rate STEPS_PER_S`
//! (30), `--db-timeout SECONDS` (3), `--database PATH` (a SecantusDB server executable such
//! as `secantusd-rs`; default the Python one of `.venv`), `--keep-logs`, `--short` (the
//! test suite's short run: 150 clients, one fault of each kind).

#[path = "chaos/mod.rs"]
mod harness;

use std::process::ExitCode;

/// The flags, read by hand.
struct Flags {
    seeds: Vec<u64>,
    clients: usize,
    seconds: u64,
    processes: usize,
    rate: Option<f64>,
    db_timeout: Option<f64>,
    database: Option<std::path::PathBuf>,
    keep_logs: bool,
    /// The test suite's short run instead.
    short: bool,
}

fn parse_flags() -> Result<Flags, String> {
    let mut flags = Flags {
        seeds: Vec::new(),
        clients: 1000,
        seconds: 120,
        processes: 3,
        rate: None,
        db_timeout: None,
        database: None,
        keep_logs: false,
        short: false,
    };
    let (mut count, mut first, mut only) = (20_u64, 1_u64, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            // `cargo bench` adds `--bench`.
            "--bench" => {}
            "--keep-logs" => flags.keep_logs = true,
            "--short" => flags.short = true,
            "--seeds" => count = number(&value("--seeds")?)?,
            "--first-seed" => first = number(&value("--first-seed")?)?,
            "--seed" => only = Some(number(&value("--seed")?)?),
            "--clients" => flags.clients = number(&value("--clients")?)? as usize,
            "--seconds" => flags.seconds = number(&value("--seconds")?)?,
            "--processes" => flags.processes = number(&value("--processes")?)? as usize,
            "--rate" => flags.rate = Some(decimal(&value("--rate")?)?),
            "--db-timeout" => flags.db_timeout = Some(decimal(&value("--db-timeout")?)?),
            "--database" => flags.database = Some(value("--database")?.into()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    flags.seeds = match only {
        Some(seed) => vec![seed],
        None => (first..first + count).collect(),
    };
    Ok(flags)
}

fn decimal(text: &str) -> Result<f64, String> {
    text.parse()
        .ok()
        .filter(|value: &f64| value.is_finite() && *value > 0.0)
        .ok_or_else(|| format!("not a positive number: {text}"))
}

fn number(text: &str) -> Result<u64, String> {
    text.parse().map_err(|_| format!("not a number: {text}"))
}

fn main() -> ExitCode {
    let flags = match parse_flags() {
        Ok(flags) => flags,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut results = Vec::new();
    let mut failed = false;
    for seed in &flags.seeds {
        let mut config = if flags.short {
            harness::Config::short(*seed)
        } else {
            let mut config = harness::Config::long(*seed, flags.clients, flags.seconds);
            config.processes = flags.processes;
            config
        };
        config.keep_logs = flags.keep_logs;
        config.database = flags.database.clone();
        if let Some(seconds) = flags.db_timeout {
            config.db_timeout = std::time::Duration::from_secs_f64(seconds);
        }
        if let Some(rate) = flags.rate {
            config.operations_per_second = rate;
        }
        match runtime.block_on(harness::run(&config)) {
            Ok(result) => {
                harness::print_seed_report(&result);
                failed |= !result.passed();
                results.push(result.summary());
            }
            Err(error) => {
                println!("== seed {seed}: the run itself failed: {error:#}");
                failed = true;
            }
        }
    }
    harness::print_summary(&results);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
