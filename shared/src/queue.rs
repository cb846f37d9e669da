//! The durable task queue on `persona_tasks`: the whole lifecycle, readable in one place.
//!
//! ```text
//! (none) ──enqueue──► PENDING ──claim (lease)──► RUNNING ──► DONE | SKIPPED | FAILED
//!                       ▲  ▲                        │
//!                       │  └── retryable error, backoff (retry counted) / lease expired (rescue)
//!                       └───── rate limited: reschedule (no retry used)
//! ```
//! Every finalising statement requires the task to be RUNNING under the caller's claim token, so a
//! worker whose lease expired (and whose task was rescued and claimed again) cannot finalise it twice.
//! Time comes from the injected clock, never from SQL `now()`.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::Serialize;
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::db::tasks::{self, Backoff, Counts, Finish, Outcome, RetryDecision, TaskInsert};
use crate::db::{DbError, GenericClient};

pub use crate::db::tasks::{Target, TargetKind, Task, TaskStatus};

/// A task to enqueue. Made by the kind it is (`kinds::COMMENT.task(…)`), so its type is one the
/// registry knows and its target one the kind takes.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// Its id, when the caller chooses it (the planner derives ids from its seed, so a simulation
    /// replays exactly); otherwise the database draws one.
    pub id: Option<Uuid>,
    /// Who acts.
    pub persona_id: Uuid,
    /// The kind's name, as stored in `persona_tasks.task_type`.
    pub task_type: &'static str,
    /// On what.
    pub target: Option<Target>,
    /// Not before.
    pub scheduled_at: DateTime<Utc>,
    /// Extra input (marks, such as `forced` for an operator's task; never instructions).
    pub payload: serde_json::Value,
    /// The session that chose it, if one did.
    pub origin_task_id: Option<Uuid>,
}

impl NewTask {
    /// The task as it would run, never stored: what a dry run generates for.
    pub fn unsaved(&self, now: DateTime<Utc>) -> Task {
        let (post_id, comment_id, board_id) = Target::columns(self.target);
        Task {
            id: self.id.unwrap_or_else(Uuid::new_v4),
            persona_id: self.persona_id,
            task_type: self.task_type.to_owned(),
            post_id,
            comment_id,
            board_id,
            status: TaskStatus::Running,
            scheduled_at: self.scheduled_at,
            started_at: Some(now),
            completed_at: None,
            result_id: None,
            result_type: None,
            error_message: None,
            retry_count: 0,
            max_retries: 0,
            prompt_tokens: None,
            completion_tokens: None,
            created_at: None,
            locked_until: None,
            claim_token: None,
            last_error: None,
            skip_reason: None,
            payload: self.payload.clone(),
            decisions: serde_json::Value::Array(Vec::new()),
            origin_task_id: self.origin_task_id,
            cost_micros: None,
            cached_tokens: None,
        }
    }
}

/// How an enqueue went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EnqueueReport {
    /// Ids of the tasks inserted.
    pub inserted: Vec<Uuid>,
    /// How many were skipped because a live task already covered them.
    pub skipped: usize,
    /// Inserted, per task type.
    pub by_type: std::collections::BTreeMap<String, usize>,
}

/// A failure to report for a RUNNING task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// May succeed later: back to PENDING with backoff while retries remain.
    Retryable(String),
    /// Will not succeed: FAILED now.
    Permanent(String),
}

/// Where a failed task ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FailureOutcome {
    /// PENDING (will retry) or FAILED.
    pub status: TaskStatus,
    /// Retries used.
    pub retry_count: i32,
    /// Next attempt (PENDING only).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// What the rescue did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RescueReport {
    /// Back to PENDING, a retry counted.
    pub requeued: Vec<Uuid>,
    /// FAILED: no retries left.
    pub failed: Vec<Uuid>,
}

/// Queue figures at a moment.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct QueueStats {
    /// When they were taken.
    pub at: DateTime<Utc>,
    /// Count per status.
    pub by_status: std::collections::BTreeMap<String, i64>,
    /// Count per status, then per task type.
    pub by_status_and_type: std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>>,
    /// Seconds since the oldest due PENDING task became due (0 when none waits).
    pub oldest_due_age_secs: f64,
    /// Tasks that FAILED in the last 24 hours.
    pub failed_last_24h: i64,
    /// Model tokens in, on tasks finished in the last 24 hours.
    pub prompt_tokens_last_24h: i64,
    /// Model tokens out, on tasks finished in the last 24 hours.
    pub completion_tokens_last_24h: i64,
}

/// Why a queue operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// No task has this id.
    #[error("task {0} not found")]
    NotFound(Uuid),
    /// The task's state does not allow this.
    #[error("task {id} is {status}: cannot {action} it")]
    IllegalTransition {
        /// Which task.
        id: Uuid,
        /// Its state.
        status: TaskStatus,
        /// What was asked.
        action: &'static str,
    },
    /// The claim no longer holds the task (lease expired and rescued, or cancelled): its effect must be
    /// rolled back.
    #[error("task {0} is no longer held by this claim (its lease expired or it was cancelled); nothing was written")]
    LostClaim(Uuid),
    /// The persona is already running another task.
    #[error("persona {persona_id} is busy with another running task; try again when it finishes")]
    PersonaBusy {
        /// Which persona.
        persona_id: Uuid,
    },
    /// Another PENDING or RUNNING task covers the same persona, type and target.
    #[error("task {0} cannot be requeued: another pending or running task covers the same persona, type and target")]
    Duplicate(Uuid),
}

impl QueueError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Db(e) => e.is_retryable(),
            Self::PersonaBusy { .. } => true,
            Self::NotFound(_) | Self::IllegalTransition { .. } | Self::LostClaim(_) | Self::Duplicate(_) => false,
        }
    }
}

/// Retry timing: `base · 2^retry_count`, capped, jittered by ± `jitter`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the first retry (30 s by default).
    pub base: Duration,
    /// Longest delay.
    pub cap: Duration,
    /// Fraction of spread around the delay (0.1 = ±10 %).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base: Duration::seconds(30), cap: Duration::hours(1), jitter: 0.1 }
    }
}

impl RetryPolicy {
    /// The policy as the statement that applies it takes it (the formula itself is written once, in
    /// `db::tasks`).
    fn backoff(&self) -> Backoff {
        let jitter =
            if self.jitter > 0.0 { rand::rng().random_range(1.0 - self.jitter..=1.0 + self.jitter) } else { 1.0 };
        Backoff {
            base_secs: self.base.num_milliseconds() as f64 / 1000.0,
            cap_secs: self.cap.num_milliseconds() as f64 / 1000.0,
            jitter,
        }
    }
}

/// The queue. Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    clock: SharedClock,
    lease: Duration,
    retry: RetryPolicy,
    max_retries: i32,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("lease", &self.lease).field("retry", &self.retry).finish()
    }
}

/// The furthest a reschedule may push a task: whatever a rate limit says, a task is looked at again
/// within the hour, so no stored time (however far ahead someone wrote it) can park the queue.
pub const MAX_RESCHEDULE: Duration = Duration::hours(1);

/// The furthest the engine defers a task on its own clock (a budget's rollover and its spread).
pub const MAX_DEFER: Duration = Duration::hours(25);

/// How often a claim is retried when it raced another claimer for one persona.
const CLAIM_ATTEMPTS: usize = 5;

impl Queue {
    /// A queue whose claims last `lease` and whose new tasks allow `max_retries` retries.
    pub fn new(clock: SharedClock, lease: std::time::Duration, max_retries: i32) -> Self {
        Self {
            clock,
            lease: Duration::from_std(lease).unwrap_or(Duration::minutes(5)),
            retry: RetryPolicy::default(),
            max_retries,
        }
    }

    /// Replaces the retry policy.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The clock this queue reads.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The current time by the queue's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// How long a claim holds a task.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Enqueues tasks in one statement. A task whose (persona, type, target) already has a PENDING or
    /// RUNNING task is skipped, not an error.
    pub async fn enqueue(&self, c: &impl GenericClient, new: &[NewTask]) -> Result<EnqueueReport, QueueError> {
        let rows: Vec<TaskInsert> = new
            .iter()
            .map(|t| {
                let (post_id, comment_id, board_id) = Target::columns(t.target);
                TaskInsert {
                    id: t.id,
                    persona_id: t.persona_id,
                    task_type: t.task_type.to_owned(),
                    post_id,
                    comment_id,
                    board_id,
                    scheduled_at: t.scheduled_at,
                    max_retries: self.max_retries,
                    payload: t.payload.clone(),
                    origin_task_id: t.origin_task_id,
                }
            })
            .collect();
        let inserted = tasks::insert_many(c, &rows, self.clock.now()).await?;
        let mut by_type = std::collections::BTreeMap::new();
        for (_, task_type) in &inserted {
            *by_type.entry(task_type.clone()).or_default() += 1;
        }
        Ok(EnqueueReport {
            skipped: new.len() - inserted.len(),
            inserted: inserted.into_iter().map(|(id, _)| id).collect(),
            by_type,
        })
    }

    /// Claims up to `limit` due tasks into RUNNING under one new claim token, at most one per persona.
    /// Run it outside a transaction: it commits on its own, so the lease is visible at once.
    pub async fn claim(&self, c: &impl GenericClient, limit: usize) -> Result<Vec<Task>, QueueError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let token = Uuid::new_v4();
        for _ in 0..CLAIM_ATTEMPTS {
            match tasks::claim_due(c, now, now + self.lease, token, limit as i64).await {
                // Two claimers picked different tasks of one persona in the same instant; the index
                // refused the second. A fresh statement sees the first claim and steps around it.
                Err(e) if e.is_unique_violation_of("persona_tasks_one_running_per_persona_key") => continue,
                Err(e) if e.sql_state() == Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED) => continue,
                other => return Ok(other?),
            }
        }
        Ok(Vec::new())
    }

    /// Claims the PENDING task `id` now, whatever its `scheduled_at` (an operator's "run it now").
    pub async fn claim_by_id(&self, c: &impl GenericClient, id: Uuid) -> Result<Task, QueueError> {
        let now = self.clock.now();
        match tasks::claim_by_id(c, id, now, now + self.lease, Uuid::new_v4()).await {
            Ok(Some(task)) => Ok(task),
            Ok(None) => Err(self.refusal(c, id, "run").await),
            Err(e) if e.is_unique_violation_of("persona_tasks_one_running_per_persona_key") => {
                let persona_id = tasks::find(c, id).await?.map(|t| t.persona_id).unwrap_or_default();
                Err(QueueError::PersonaBusy { persona_id })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// RUNNING → DONE. Call it inside the transaction that writes the task's effect: if the claim no
    /// longer holds the task the result is [`QueueError::LostClaim`] and the caller must roll back.
    pub async fn complete(
        &self,
        tx: &impl GenericClient,
        task: &Task,
        outcome: &Outcome<'_>,
    ) -> Result<(), QueueError> {
        self.finish(tx, task, Finish::Done, outcome).await.map(|_| ())
    }

    /// RUNNING → SKIPPED with `reason` (not applicable: target gone, blocked, duplicate).
    pub async fn skip(
        &self,
        c: &impl GenericClient,
        task: &Task,
        reason: &str,
        outcome: &Outcome<'_>,
    ) -> Result<(), QueueError> {
        self.finish(c, task, Finish::Skipped(reason), outcome).await.map(|_| ())
    }

    /// Records a failure: retryable → PENDING after backoff while retries remain, else FAILED; permanent
    /// → FAILED now.
    pub async fn fail(
        &self,
        c: &impl GenericClient,
        task: &Task,
        failure: &Failure,
        outcome: &Outcome<'_>,
    ) -> Result<FailureOutcome, QueueError> {
        let finish = match failure {
            Failure::Permanent(message) => Finish::Failed(message),
            Failure::Retryable(message) => Finish::RetryOrFail(message, self.retry.backoff()),
        };
        let decision = self.finish(c, task, finish, outcome).await?;
        Ok(FailureOutcome {
            status: decision.status,
            retry_count: decision.retry_count,
            next_attempt_at: (decision.status == TaskStatus::Pending).then_some(decision.scheduled_at),
        })
    }

    /// RUNNING → PENDING at `at` without using a retry (the persona or the model is rate limited).
    /// Never more than [`MAX_RESCHEDULE`] ahead, whatever asked for it (a limiter row, a server's
    /// `RetryInfo`): a task that is not ready then is simply rescheduled again. Returns when it runs next.
    pub async fn reschedule(
        &self,
        c: &impl GenericClient,
        task: &Task,
        at: DateTime<Utc>,
        reason: &str,
        outcome: &Outcome<'_>,
    ) -> Result<DateTime<Utc>, QueueError> {
        self.pending_again(c, task, at, MAX_RESCHEDULE, reason, outcome).await
    }

    /// PENDING again at `until` without using a retry, for a cause the engine itself times (a daily
    /// budget's rollover): at most [`MAX_DEFER`] ahead. Returns when it runs next.
    pub async fn defer(
        &self,
        c: &impl GenericClient,
        task: &Task,
        until: DateTime<Utc>,
        reason: &str,
        outcome: &Outcome<'_>,
    ) -> Result<DateTime<Utc>, QueueError> {
        self.pending_again(c, task, until, MAX_DEFER, reason, outcome).await
    }

    /// PENDING at `at`, held between now and `cap` ahead, without using a retry.
    async fn pending_again(
        &self,
        c: &impl GenericClient,
        task: &Task,
        at: DateTime<Utc>,
        cap: Duration,
        reason: &str,
        outcome: &Outcome<'_>,
    ) -> Result<DateTime<Utc>, QueueError> {
        let now = self.clock.now();
        let at = at.clamp(now, now + cap);
        self.finish(c, task, Finish::Rescheduled(at, reason), outcome).await.map(|d| d.scheduled_at)
    }

    async fn finish(
        &self,
        c: &impl GenericClient,
        task: &Task,
        finish: Finish<'_>,
        outcome: &Outcome<'_>,
    ) -> Result<RetryDecision, QueueError> {
        tasks::finish(c, task.id, claim_token(task)?, self.clock.now(), finish, outcome)
            .await?
            .ok_or(QueueError::LostClaim(task.id))
    }

    /// Frees every task whose lease has expired: back to PENDING with a retry counted (after backoff),
    /// or FAILED when no retries are left.
    pub async fn rescue_expired(&self, c: &impl GenericClient) -> Result<RescueReport, QueueError> {
        let rescued = tasks::rescue_expired(c, self.clock.now(), self.retry.backoff()).await?;
        let mut report = RescueReport::default();
        for r in rescued {
            match r.status {
                TaskStatus::Pending => report.requeued.push(r.id),
                _ => report.failed.push(r.id),
            }
        }
        if !report.requeued.is_empty() || !report.failed.is_empty() {
            tracing::warn!(
                requeued = report.requeued.len(),
                failed = report.failed.len(),
                "rescued tasks whose lease expired"
            );
        }
        Ok(report)
    }

    /// Makes PENDING tasks due sooner: each `(id, at)` that is due later than `at` is due at `at`.
    /// Returns how many moved.
    pub async fn bring_forward(
        &self,
        c: &impl GenericClient,
        moves: &[(Uuid, DateTime<Utc>)],
    ) -> Result<usize, QueueError> {
        if moves.is_empty() {
            return Ok(0);
        }
        Ok(tasks::bring_forward(c, moves).await?.len())
    }

    /// Cancels a PENDING or RUNNING task (→ SKIPPED). A running worker's effect is then rolled back when
    /// it tries to commit.
    pub async fn cancel(&self, c: &impl GenericClient, id: Uuid, reason: &str) -> Result<Task, QueueError> {
        match tasks::cancel(c, id, self.clock.now(), reason).await? {
            Some(task) => Ok(task),
            None => Err(self.refusal(c, id, "cancel").await),
        }
    }

    /// Makes a PENDING, FAILED or SKIPPED task due now with its retries reset.
    pub async fn retry_now(&self, c: &impl GenericClient, id: Uuid) -> Result<Task, QueueError> {
        match tasks::retry_now(c, id, self.clock.now()).await {
            Ok(Some(task)) => Ok(task),
            Ok(None) => Err(self.refusal(c, id, "retry").await),
            Err(e) if e.is_unique_violation_of("persona_tasks_live_dedupe_key") => Err(QueueError::Duplicate(id)),
            Err(e) => Err(e.into()),
        }
    }

    async fn refusal(&self, c: &impl GenericClient, id: Uuid, action: &'static str) -> QueueError {
        match tasks::find(c, id).await {
            Ok(Some(task)) => QueueError::IllegalTransition { id, status: task.status, action },
            Ok(None) => QueueError::NotFound(id),
            Err(e) => e.into(),
        }
    }

    /// One task.
    pub async fn get(&self, c: &impl GenericClient, id: Uuid) -> Result<Task, QueueError> {
        tasks::find(c, id).await?.ok_or(QueueError::NotFound(id))
    }

    /// Counts by status and type, the oldest due task's age, and the last day's failures and tokens.
    pub async fn stats(&self, c: &impl GenericClient) -> Result<QueueStats, QueueError> {
        let now = self.clock.now();
        let Counts { by_status_and_type, oldest_due_age_secs, failed_last_24h, tokens_last_24h } =
            tasks::counts(c, now).await?;
        let mut by_status: std::collections::BTreeMap<String, i64> =
            TaskStatus::ALL.iter().map(|s| (s.as_str().to_owned(), 0)).collect();
        let mut nested: std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>> =
            std::collections::BTreeMap::new();
        for (status, task_type, count) in by_status_and_type {
            *by_status.entry(status.clone()).or_default() += count;
            nested.entry(status).or_default().insert(task_type, count);
        }
        Ok(QueueStats {
            at: now,
            by_status,
            by_status_and_type: nested,
            oldest_due_age_secs,
            failed_last_24h,
            prompt_tokens_last_24h: tokens_last_24h.0,
            completion_tokens_last_24h: tokens_last_24h.1,
        })
    }
}

fn claim_token(task: &Task) -> Result<Uuid, QueueError> {
    task.claim_token.ok_or(QueueError::IllegalTransition { id: task.id, status: task.status, action: "finalise" })
}

/// A shareable queue handle.
pub type SharedQueue = Arc<Queue>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_band() {
        let policy = RetryPolicy { jitter: 0.1, ..RetryPolicy::default() };
        for _ in 0..1000 {
            let j = policy.backoff().jitter;
            assert!((0.9..=1.1).contains(&j), "{j}");
        }
    }
}
