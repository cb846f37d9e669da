//! The standalone service (`persona-engine serve`): the same planning tick and worker batch the Lambdas
//! run, on a timer, until told to stop.

use std::time::Duration;

use tokio::sync::watch;

use crate::engine::Engine;
use crate::planner;
use crate::worker::{self, Budget};

/// Every `interval`: one planning tick, then one worker batch of at most `MAX_TASKS_PER_TICK` tasks, run
/// to its end whatever the interval (a tick that comes due meanwhile waits for it). Returns when `stop`
/// turns true, after the batch in progress (if any) has finished.
pub async fn run_scheduler(engine: Engine, interval: Duration, mut stop: watch::Receiver<bool>) {
    let mut timer = tokio::time::interval(interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = timer.tick() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        match planner::tick(&engine, None).await {
            Ok(report) => tracing::debug!(?report, "tick"),
            Err(e) => tracing::error!(error = %e, "planning tick failed; the next tick tries again"),
        }
        // Not bounded by the interval: with an interval shorter than one task's time limit, every batch
        // would stop for its "deadline" before claiming anything.
        worker::drain(&engine, engine.settings.scheduler.max_tasks_per_tick, Budget::Unbounded).await;
    }
    tracing::info!("scheduler stopped");
}
