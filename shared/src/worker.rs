//! One worker batch: claim due tasks as slots free up (at most `MAX_CONCURRENT_TASKS` running, at most
//! `max_tasks` in all), run each under its own time limit, and stop claiming when the invocation's
//! deadline is too close to finish another task.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;

use crate::engine::Engine;
use crate::kinds::{RunOutcome, TaskReport};
use crate::queue::{Failure, Task, TaskStatus};

/// Time kept free before the deadline, beyond one task's time limit, for recording outcomes.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// What a batch did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct WorkerReport {
    /// Tasks run.
    pub processed: usize,
    /// Published (DONE).
    pub succeeded: usize,
    /// FAILED, or back to PENDING after a retryable failure.
    pub failed: usize,
    /// SKIPPED.
    pub skipped: usize,
    /// Back to PENDING without using a retry (rate limits).
    pub rescheduled: usize,
    /// Back to PENDING while what they publish is still being made (a clip rendering).
    pub waiting: usize,
    /// What went wrong, one line per failed task or claim.
    pub errors: Vec<String>,
    /// Claims that failed (the database unreachable, say).
    pub claim_errors: usize,
    /// Whether claiming stopped because the deadline was near.
    pub stopped_for_deadline: bool,
}

impl WorkerReport {
    /// The batch could do nothing at all: every claim failed and no task ran. Callers make this a
    /// failure (a non-zero exit, a failed invocation) so schedulers and alarms notice.
    pub fn could_not_work(&self) -> bool {
        self.processed == 0 && self.claim_errors > 0
    }

    fn record(&mut self, report: &TaskReport) {
        self.processed += 1;
        match report.outcome {
            RunOutcome::Published => self.succeeded += 1,
            RunOutcome::Skipped => self.skipped += 1,
            RunOutcome::Rescheduled => self.rescheduled += 1,
            RunOutcome::Waiting => self.waiting += 1,
            RunOutcome::Retrying | RunOutcome::Failed | RunOutcome::Abandoned | RunOutcome::Unrecorded => {
                self.failed += 1;
                self.errors.push(format!(
                    "{} {}: {}",
                    report.task_type,
                    report.task_id,
                    report.reason.clone().unwrap_or_default()
                ));
            }
        }
    }
}

/// How long a batch may run.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// Until this instant (a Lambda invocation's deadline).
    Until(Instant),
    /// No deadline (the local runner), bounded by `max_tasks` only.
    Unbounded,
}

/// The budget for an invocation whose deadline is `deadline`. A deadline already past (the local Lambda
/// emulator sends a constant one) means no real deadline: `local_budget` from now instead.
pub fn budget_from_deadline(deadline: std::time::SystemTime, local_budget: Duration) -> Budget {
    match deadline.duration_since(std::time::SystemTime::now()) {
        Ok(left) => Budget::Until(Instant::now() + left),
        Err(_) => Budget::Until(Instant::now() + local_budget),
    }
}

/// Runs one batch of at most `max_tasks` tasks.
pub async fn drain(engine: &Engine, max_tasks: usize, budget: Budget) -> WorkerReport {
    let concurrency = engine.settings.scheduler.max_concurrent_tasks.max(1);
    let timeout = engine.settings.scheduler.task_timeout;
    let mut report = WorkerReport::default();
    let mut running: JoinSet<TaskReport> = JoinSet::new();
    let mut claimed_total = 0usize;
    let mut queue_empty = false;

    loop {
        let time_left = match budget {
            Budget::Until(deadline) => deadline.saturating_duration_since(Instant::now()) > timeout + DEADLINE_MARGIN,
            Budget::Unbounded => true,
        };
        if !time_left && claimed_total < max_tasks && !queue_empty {
            report.stopped_for_deadline = true;
        }
        let free = concurrency.saturating_sub(running.len()).min(max_tasks - claimed_total);
        if time_left && !queue_empty && free > 0 {
            match claim(engine, free).await {
                Ok(tasks) => {
                    // A persona busy with a running task may free its next task when that one ends.
                    queue_empty = tasks.is_empty() && running.is_empty();
                    let got = tasks.len();
                    for task in tasks {
                        claimed_total += 1;
                        let engine = engine.clone();
                        running.spawn(async move { run_with_timeout(&engine, task, timeout).await });
                    }
                    if got > 0 {
                        continue;
                    }
                }
                Err(e) => {
                    report.errors.push(format!("claim failed: {e}"));
                    report.claim_errors += 1;
                    queue_empty = true;
                }
            }
        }
        let Some(first) = running.join_next().await else {
            if queue_empty || !time_left || claimed_total >= max_tasks {
                break;
            }
            queue_empty = true;
            continue;
        };
        // Tasks started together finish together: collect every one that is done, so the next claim
        // fills all the free slots in one statement instead of one claim per finished task.
        let mut finished = vec![first];
        while let Some(more) = running.try_join_next() {
            finished.push(more);
        }
        for joined in finished {
            match joined {
                Ok(task_report) => {
                    engine.metrics.task(&task_report, engine.clock.now());
                    report.record(&task_report);
                }
                Err(panicked) => {
                    report.processed += 1;
                    report.failed += 1;
                    report.errors.push(format!("a task panicked: {panicked}; its lease will free it"));
                }
            }
        }
    }
    tracing::info!(
        processed = report.processed,
        succeeded = report.succeeded,
        failed = report.failed,
        skipped = report.skipped,
        rescheduled = report.rescheduled,
        stopped_for_deadline = report.stopped_for_deadline,
        "worker batch done"
    );
    report
}

#[tracing::instrument(name = "claim", skip_all, fields(wanted = n))]
async fn claim(engine: &Engine, n: usize) -> Result<Vec<Task>, String> {
    let client = engine.pool.get().await.map_err(|e| crate::db::DbError::from(e).to_string())?;
    let claimed = engine.queue.claim(&**client, n).await.map_err(|e| e.to_string())?;
    if !claimed.is_empty() {
        let ids: Vec<String> = claimed.iter().map(|t| t.id.to_string()).collect();
        tracing::info!(claimed = claimed.len(), task_ids = %ids.join(","), "claimed");
    }
    Ok(claimed)
}

/// Runs one task; past `timeout` the run is dropped (rolling back any open transaction) and the task
/// is failed as retryable.
async fn run_with_timeout(engine: &Engine, task: Task, timeout: Duration) -> TaskReport {
    match tokio::time::timeout(timeout, engine.run_task(&task)).await {
        Ok(report) => report,
        Err(_) => {
            let message = format!("timed out after {} ms (TASK_TIMEOUT_MS)", timeout.as_millis());
            let mut report = TaskReport {
                task_id: task.id,
                task_type: task.task_type.clone(),
                persona_id: task.persona_id,
                status: TaskStatus::Running,
                outcome: RunOutcome::Unrecorded,
                published: None,
                reason: Some(message.clone()),
                next_attempt_at: None,
                usage: Default::default(),
            };
            if let Ok(client) = engine.pool.get().await {
                match engine.queue.fail(&**client, &task, &Failure::Retryable(message), &Default::default()).await {
                    Ok(outcome) => {
                        report.status = outcome.status;
                        report.outcome = if outcome.status == TaskStatus::Pending {
                            RunOutcome::Retrying
                        } else {
                            RunOutcome::Failed
                        };
                        report.next_attempt_at = outcome.next_attempt_at;
                    }
                    Err(e) => {
                        tracing::warn!(task_id = %task.id, error = %e, "could not record a timeout; the lease will free the task")
                    }
                }
            }
            report
        }
    }
}
