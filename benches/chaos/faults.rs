//! The seeded fault schedule and its execution: which faults, in which order, with which
//! parameters, all drawn from the run's seed (`StdRng::seed_from_u64`). Every kind comes
//! once, in a seeded order; more faults of seeded kinds follow while the workload's time
//! allows. After each fault the run waits an observation window (during which the probes
//! measure recovery) before the next one starts.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::cluster::Cluster;
use super::history::{FaultKind, FaultRecord};
use super::workload::{self, World};

/// What shapes the schedule.
#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    /// How long the workload runs (the schedule fills it; the last window may end later).
    pub workload: Duration,
    /// Time before the first fault (for the probes' normal latency).
    pub warmup: Duration,
    /// Observation window after each fault.
    pub window: Duration,
    /// Shortest and longest freeze of the database.
    pub freeze: (Duration, Duration),
    /// Shortest and longest time the killed database stays down before it restarts.
    pub database_down: (Duration, Duration),
    /// Number of `serve` processes (one is picked per kill).
    pub processes: usize,
    /// Simultaneous joins per burst.
    pub burst_clients: usize,
    /// How long a burst is expected to take to be answered (for planning only).
    pub burst_estimate: Duration,
}

/// One planned fault.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannedFault {
    DatabaseFrozen {
        for_: Duration,
    },
    DatabaseKilled {
        down: Duration,
    },
    ServeKilled {
        process: usize,
    },
    /// The `n`th burst (onto its own session).
    Burst {
        number: usize,
    },
}

impl PlannedFault {
    pub fn kind(&self) -> FaultKind {
        match self {
            PlannedFault::DatabaseFrozen { .. } => FaultKind::DatabaseFrozen,
            PlannedFault::DatabaseKilled { .. } => FaultKind::DatabaseKilled,
            PlannedFault::ServeKilled { .. } => FaultKind::ServeKilled,
            PlannedFault::Burst { .. } => FaultKind::Burst,
        }
    }

    /// Roughly how long the fault lasts, for planning.
    fn estimate(&self, settings: &ScheduleSettings) -> Duration {
        match self {
            PlannedFault::DatabaseFrozen { for_ } => *for_,
            PlannedFault::DatabaseKilled { down } => *down + Duration::from_secs(2),
            PlannedFault::ServeKilled { .. } => Duration::from_secs(1),
            PlannedFault::Burst { .. } => settings.burst_estimate,
        }
    }
}

/// The faults of one run, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub faults: Vec<PlannedFault>,
}

fn between(rng: &mut StdRng, (low, high): (Duration, Duration)) -> Duration {
    if high <= low {
        return low;
    }
    Duration::from_millis(rng.random_range(low.as_millis() as u64..=high.as_millis() as u64))
}

impl Schedule {
    pub fn generate(seed: u64, settings: &ScheduleSettings) -> Schedule {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x00fa_0175);
        let mut kinds = FaultKind::ALL.to_vec();
        kinds.shuffle(&mut rng);
        let mut faults = Vec::new();
        let mut bursts = 0;
        let mut planned = settings.warmup;
        let mut make = |kind: FaultKind, rng: &mut StdRng| match kind {
            FaultKind::DatabaseFrozen => PlannedFault::DatabaseFrozen {
                for_: between(rng, settings.freeze),
            },
            FaultKind::DatabaseKilled => PlannedFault::DatabaseKilled {
                down: between(rng, settings.database_down),
            },
            FaultKind::ServeKilled => PlannedFault::ServeKilled {
                process: rng.random_range(0..settings.processes.max(1)),
            },
            FaultKind::Burst => {
                bursts += 1;
                PlannedFault::Burst { number: bursts - 1 }
            }
        };
        for kind in kinds {
            let fault = make(kind, &mut rng);
            planned += fault.estimate(settings) + settings.window;
            faults.push(fault);
        }
        loop {
            let kind = FaultKind::ALL[rng.random_range(0..FaultKind::ALL.len())];
            let fault = make(kind, &mut rng);
            let next = planned + fault.estimate(settings) + settings.window;
            if next > settings.workload {
                break;
            }
            planned = next;
            faults.push(fault);
        }
        Schedule { faults }
    }

    /// How many bursts (and so burst sessions) the schedule has.
    pub fn bursts(&self) -> usize {
        self.faults
            .iter()
            .filter(|fault| matches!(fault, PlannedFault::Burst { .. }))
            .count()
    }
}

/// Breaks the cluster as planned, one fault after the other with an observation window
/// after each, and records each fault.
pub async fn execute(
    schedule: &Schedule,
    settings: &ScheduleSettings,
    cluster: &mut Cluster,
    world: &Arc<World>,
) -> anyhow::Result<()> {
    let recorder = &world.recorder;
    tokio::time::sleep(settings.warmup).await;
    for fault in &schedule.faults {
        let started = recorder.now();
        let detail = match fault {
            PlannedFault::DatabaseFrozen { for_ } => {
                cluster.freeze_database().await?;
                tokio::time::sleep(*for_).await;
                cluster.thaw_database()?;
                format!("frozen for {:.1} s", for_.as_secs_f64())
            }
            PlannedFault::DatabaseKilled { down } => {
                cluster.kill_and_restart_database(*down).await?;
                format!("down for {:.1} s before its restart", down.as_secs_f64())
            }
            PlannedFault::ServeKilled { process } => {
                let serve = &mut cluster.serves[*process];
                serve.kill();
                serve.restart().await?;
                format!("serve {process}")
            }
            PlannedFault::Burst { number } => {
                workload::burst(world, *number, settings.burst_clients)
                    .await
                    .1
            }
        };
        let ended = recorder.now();
        recorder.fault(FaultRecord {
            kind: fault.kind(),
            detail,
            started,
            ended,
        });
        tokio::time::sleep(settings.window).await;
    }
    Ok(())
}
