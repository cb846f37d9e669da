//! Every statement on `persona_tasks`. The queue's rules (when a task may move, and where) live in
//! the `queue` module above; this module only says how each move is written.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::{DbError, GenericClient};

/// A task's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    /// Waiting for its `scheduled_at`.
    Pending,
    /// Claimed by a worker, under a lease.
    Running,
    /// Its effect is committed.
    Done,
    /// A permanent error, or retries exhausted.
    Failed,
    /// Not applicable any more (target gone, blocked, duplicate, cancelled, "no reply").
    Skipped,
}

impl TaskStatus {
    /// All states, in lifecycle order.
    pub const ALL: [TaskStatus; 5] = [Self::Pending, Self::Running, Self::Done, Self::Failed, Self::Skipped];

    /// The value stored in `persona_tasks.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Done => "DONE",
            Self::Failed => "FAILED",
            Self::Skipped => "SKIPPED",
        }
    }

    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a task acts on: one post, one comment or one board (stored in the one column of the three that
/// is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Target {
    /// A post (comments, votes on posts).
    Post(Uuid),
    /// A comment (replies, votes on comments).
    Comment(Uuid),
    /// A board (original posts).
    Board(Uuid),
}

/// Which kind of thing a [`Target`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A post.
    Post,
    /// A comment.
    Comment,
    /// A board.
    Board,
}

impl TargetKind {
    /// The column (and request field) that holds it.
    pub fn field(self) -> &'static str {
        match self {
            Self::Post => "post_id",
            Self::Comment => "comment_id",
            Self::Board => "board_id",
        }
    }
}

impl Target {
    /// What kind of thing it is.
    pub fn kind(self) -> TargetKind {
        match self {
            Self::Post(_) => TargetKind::Post,
            Self::Comment(_) => TargetKind::Comment,
            Self::Board(_) => TargetKind::Board,
        }
    }

    /// Its id.
    pub fn id(self) -> Uuid {
        match self {
            Self::Post(id) | Self::Comment(id) | Self::Board(id) => id,
        }
    }

    /// The (post_id, comment_id, board_id) columns of `target`.
    pub fn columns(target: Option<Target>) -> (Option<Uuid>, Option<Uuid>, Option<Uuid>) {
        match target {
            None => (None, None, None),
            Some(Self::Post(id)) => (Some(id), None, None),
            Some(Self::Comment(id)) => (None, Some(id), None),
            Some(Self::Board(id)) => (None, None, Some(id)),
        }
    }

    /// The target the three columns name; an error when more than one is set.
    pub fn from_columns(
        post_id: Option<Uuid>,
        comment_id: Option<Uuid>,
        board_id: Option<Uuid>,
    ) -> Result<Option<Target>, String> {
        match (post_id, comment_id, board_id) {
            (None, None, None) => Ok(None),
            (Some(id), None, None) => Ok(Some(Self::Post(id))),
            (None, Some(id), None) => Ok(Some(Self::Comment(id))),
            (None, None, Some(id)) => Ok(Some(Self::Board(id))),
            _ => Err("more than one of post_id, comment_id and board_id is set".into()),
        }
    }
}

/// One `persona_tasks` row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    /// Primary key.
    pub id: Uuid,
    /// Who acts.
    pub persona_id: Uuid,
    /// What to do: `comment`, `post`, `reply`, `vote`, `image_post` (kept as stored, so a type this
    /// build does not know can still be read and failed with a clear error).
    pub task_type: String,
    /// Target post.
    pub post_id: Option<Uuid>,
    /// Target comment.
    pub comment_id: Option<Uuid>,
    /// Target board.
    pub board_id: Option<Uuid>,
    /// Lifecycle state.
    pub status: TaskStatus,
    /// Not before.
    pub scheduled_at: DateTime<Utc>,
    /// When the latest claim took it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached DONE, FAILED or SKIPPED.
    pub completed_at: Option<DateTime<Utc>>,
    /// What it created.
    pub result_id: Option<Uuid>,
    /// `post`, `comment` or `vote`.
    pub result_type: Option<String>,
    /// Why it FAILED.
    pub error_message: Option<String>,
    /// Retries used so far.
    pub retry_count: i32,
    /// Retries allowed.
    pub max_retries: i32,
    /// Model tokens in (summed over attempts).
    pub prompt_tokens: Option<i32>,
    /// Model tokens out (summed over attempts).
    pub completion_tokens: Option<i32>,
    /// When it was enqueued.
    pub created_at: Option<DateTime<Utc>>,
    /// While RUNNING: when the lease ends.
    pub locked_until: Option<DateTime<Utc>>,
    /// While RUNNING: which claim holds it.
    #[serde(skip)]
    pub claim_token: Option<Uuid>,
    /// The latest attempt's error or reschedule reason.
    pub last_error: Option<String>,
    /// Why it was SKIPPED.
    pub skip_reason: Option<String>,
    /// Extra input (admin-forced tasks).
    pub payload: serde_json::Value,
    /// What the pipeline and the publish gate decided, in order.
    pub decisions: serde_json::Value,
    /// The session that chose it, if one did.
    pub origin_task_id: Option<Uuid>,
    /// What its model calls cost, micro-USD (summed over attempts).
    pub cost_micros: Option<i64>,
    /// Input tokens the model served from its cache (summed over attempts).
    pub cached_tokens: Option<i32>,
}

const COLUMNS: &str = "id, persona_id, task_type, post_id, comment_id, board_id, status, scheduled_at, started_at, \
     completed_at, result_id, result_type, error_message, retry_count, max_retries, prompt_tokens, \
     completion_tokens, created_at, locked_until, claim_token, last_error, skip_reason, payload, decisions, origin_task_id, \
     cost_micros, cached_tokens";

impl TryFrom<&Row> for Task {
    type Error = DbError;
    fn try_from(row: &Row) -> Result<Self, DbError> {
        let status: String = row.try_get("status")?;
        Ok(Self {
            id: row.try_get("id")?,
            persona_id: row.try_get("persona_id")?,
            task_type: row.try_get("task_type")?,
            post_id: row.try_get("post_id")?,
            comment_id: row.try_get("comment_id")?,
            board_id: row.try_get("board_id")?,
            status: TaskStatus::parse(&status)
                .ok_or_else(|| DbError::Config(format!("persona_tasks.status has an unknown value {status:?}")))?,
            scheduled_at: row.try_get("scheduled_at")?,
            started_at: row.try_get("started_at")?,
            completed_at: row.try_get("completed_at")?,
            result_id: row.try_get("result_id")?,
            result_type: row.try_get("result_type")?,
            error_message: row.try_get("error_message")?,
            retry_count: row.try_get("retry_count")?,
            max_retries: row.try_get("max_retries")?,
            prompt_tokens: row.try_get("prompt_tokens")?,
            completion_tokens: row.try_get("completion_tokens")?,
            created_at: row.try_get("created_at")?,
            locked_until: row.try_get("locked_until")?,
            claim_token: row.try_get("claim_token")?,
            last_error: row.try_get("last_error")?,
            skip_reason: row.try_get("skip_reason")?,
            payload: row.try_get("payload")?,
            decisions: row.try_get("decisions")?,
            origin_task_id: row.try_get("origin_task_id")?,
            cost_micros: row.try_get("cost_micros")?,
            cached_tokens: row.try_get("cached_tokens")?,
        })
    }
}

impl Task {
    /// What it acts on; an error when the row names more than one target.
    pub fn target(&self) -> Result<Option<Target>, String> {
        Target::from_columns(self.post_id, self.comment_id, self.board_id)
    }
}

fn tasks(rows: &[Row]) -> Result<Vec<Task>, DbError> {
    rows.iter().map(Task::try_from).collect()
}

/// The columns of a task to insert.
#[derive(Debug, Clone, Default)]
pub struct TaskInsert {
    /// Primary key (`None`: drawn by the database).
    pub id: Option<Uuid>,
    /// Who acts.
    pub persona_id: Uuid,
    /// What to do.
    pub task_type: String,
    /// Target post.
    pub post_id: Option<Uuid>,
    /// Target comment.
    pub comment_id: Option<Uuid>,
    /// Target board.
    pub board_id: Option<Uuid>,
    /// Not before.
    pub scheduled_at: DateTime<Utc>,
    /// Retries allowed.
    pub max_retries: i32,
    /// Extra input.
    pub payload: serde_json::Value,
    /// The session that chose it.
    pub origin_task_id: Option<Uuid>,
}

/// Inserts many tasks in one statement, skipping any that a live (PENDING/RUNNING) task with the same
/// (persona, type, target) already covers; returns the ids and types inserted.
pub async fn insert_many(
    c: &impl GenericClient,
    rows: &[TaskInsert],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, String)>, DbError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Option<Uuid>> = rows.iter().map(|r| r.id).collect();
    let persona_ids: Vec<Uuid> = rows.iter().map(|r| r.persona_id).collect();
    let types: Vec<&str> = rows.iter().map(|r| r.task_type.as_str()).collect();
    let post_ids: Vec<Option<Uuid>> = rows.iter().map(|r| r.post_id).collect();
    let comment_ids: Vec<Option<Uuid>> = rows.iter().map(|r| r.comment_id).collect();
    let board_ids: Vec<Option<Uuid>> = rows.iter().map(|r| r.board_id).collect();
    let scheduled: Vec<DateTime<Utc>> = rows.iter().map(|r| r.scheduled_at).collect();
    let max_retries: Vec<i32> = rows.iter().map(|r| r.max_retries).collect();
    let payloads: Vec<&serde_json::Value> = rows.iter().map(|r| &r.payload).collect();
    let origins: Vec<Option<Uuid>> = rows.iter().map(|r| r.origin_task_id).collect();
    let inserted = c
        .query_typed(
            // The live row goes in first: a (persona, kind, target) that a live task already holds is
            // skipped (a concurrent enqueue of the same one waits for the other's commit, then skips it).
            // Only the tasks whose live row went in are inserted; the trigger finds their row there.
            "WITH n AS MATERIALIZED (
                 SELECT coalesce(n.id, gen_random_uuid()) AS id, n.persona_id, n.task_type, n.post_id, n.comment_id,
                        n.board_id, n.scheduled_at, n.max_retries, n.payload, n.origin
                 FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $10, $11)
                      AS n(persona_id, task_type, post_id, comment_id, board_id, scheduled_at, max_retries, payload, id,
                           origin)
                 WHERE n.id IS NULL OR NOT EXISTS (SELECT 1 FROM persona_tasks t WHERE t.id = n.id)
             ), queued AS (
                 INSERT INTO persona_task_queue (task_id, persona_id, task_type, post_id, comment_id, board_id, scheduled_at)
                 SELECT id, persona_id, task_type, post_id, comment_id, board_id, scheduled_at FROM n
                 ON CONFLICT DO NOTHING
                 RETURNING task_id
             )
             INSERT INTO persona_tasks
                 (id, persona_id, task_type, post_id, comment_id, board_id, scheduled_at, max_retries, payload,
                  created_at, origin_task_id)
             SELECT n.id, n.persona_id, n.task_type, n.post_id, n.comment_id, n.board_id, n.scheduled_at, n.max_retries,
                    n.payload, $9, n.origin
             FROM n JOIN queued ON queued.task_id = n.id
             RETURNING id, task_type",
            &[
                (&persona_ids, Type::UUID_ARRAY),
                (&types, Type::TEXT_ARRAY),
                (&post_ids, Type::UUID_ARRAY),
                (&comment_ids, Type::UUID_ARRAY),
                (&board_ids, Type::UUID_ARRAY),
                (&scheduled, Type::TIMESTAMPTZ_ARRAY),
                (&max_retries, Type::INT4_ARRAY),
                (&payloads, Type::JSONB_ARRAY),
                (&now, Type::TIMESTAMPTZ),
                (&ids, Type::UUID_ARRAY),
                (&origins, Type::UUID_ARRAY),
            ],
        )
        .await?;
    inserted.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Key space of the transaction-scoped advisory locks the claim takes per persona ("pe").
const PERSONA_LOCK_CLASS: i32 = 0x7065;

/// Claims up to `limit` due PENDING tasks into RUNNING under `claim_token` until `lease_until`, never
/// two of one persona, and none of a persona that already has a RUNNING task.
///
/// The due tasks come from the narrow live table (`persona_task_queue`, in claim order) and the busy
/// personas from `persona_task_leases`; the only row the claim writes is each picked task's own, a HOT
/// update (the trigger adds its lease). Nothing is locked to be looked at: a transaction-scoped advisory
/// lock per persona (released at commit, so pooler-safe) lets only one in-flight claim take a persona, and
/// a claim whose snapshot predates another's committed claim finds the task no longer PENDING when it
/// updates it, and leaves it. Were it to pick a different task of that persona, the lease's primary key
/// refuses it with a unique violation, which the caller retries.
pub async fn claim_due(
    c: &impl GenericClient,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    claim_token: Uuid,
    limit: i64,
) -> Result<Vec<Task>, DbError> {
    // Oversampling lets the claim fill `limit` even when several due tasks belong to one persona, or
    // belong to personas another claim is taking.
    let scan_limit = limit.saturating_mul(4).max(limit + 8);
    let rows = c
        .query_typed(
            &format!(
                "WITH due AS (
                     SELECT q.task_id, q.persona_id, q.scheduled_at
                     FROM persona_task_queue q
                     WHERE q.scheduled_at <= $1
                       AND NOT EXISTS (SELECT 1 FROM persona_task_leases l
                                       WHERE l.persona_id = q.persona_id AND l.task_id IS NOT NULL)
                     ORDER BY q.scheduled_at, q.task_id
                     LIMIT $4
                 ), one_per_persona AS (
                     SELECT DISTINCT ON (persona_id) task_id, scheduled_at
                     FROM due
                     WHERE pg_try_advisory_xact_lock($6, hashtext(persona_id::text))
                     ORDER BY persona_id, scheduled_at, task_id
                 ), picked AS (
                     SELECT task_id FROM one_per_persona ORDER BY scheduled_at, task_id LIMIT $5
                 )
                 UPDATE persona_tasks t
                 SET status = 'RUNNING', started_at = $1, locked_until = $2, claim_token = $3
                 FROM picked
                 WHERE t.id = picked.task_id AND t.status = 'PENDING'
                 RETURNING {}",
                qualified_columns("t")
            ),
            &[
                (&now, Type::TIMESTAMPTZ),
                (&lease_until, Type::TIMESTAMPTZ),
                (&claim_token, Type::UUID),
                (&scan_limit, Type::INT8),
                (&limit, Type::INT8),
                (&PERSONA_LOCK_CLASS, Type::INT4),
            ],
        )
        .await?;
    let mut claimed = tasks(&rows)?;
    claimed.sort_by_key(|t| (t.scheduled_at, t.id));
    Ok(claimed)
}

/// Claims one PENDING task by id, whatever its `scheduled_at` (an operator's "run it now"). `None` when
/// the task is not PENDING.
pub async fn claim_by_id(
    c: &impl GenericClient,
    id: Uuid,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    claim_token: Uuid,
) -> Result<Option<Task>, DbError> {
    let row = c
        .query_typed_opt(
            &format!(
                "UPDATE persona_tasks SET status = 'RUNNING', started_at = $2, locked_until = $3, claim_token = $4
                 WHERE id = $1 AND status = 'PENDING'
                 RETURNING {COLUMNS}"
            ),
            &[
                (&id, Type::UUID),
                (&now, Type::TIMESTAMPTZ),
                (&lease_until, Type::TIMESTAMPTZ),
                (&claim_token, Type::UUID),
            ],
        )
        .await?;
    row.as_ref().map(Task::try_from).transpose()
}

fn qualified_columns(alias: &str) -> String {
    COLUMNS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

/// What a finished task produced.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome<'a> {
    /// The created row.
    pub result_id: Option<Uuid>,
    /// `post`, `comment` or `vote`.
    pub result_type: Option<&'a str>,
    /// Model tokens in, this attempt.
    pub prompt_tokens: Option<i32>,
    /// Model tokens out, this attempt.
    pub completion_tokens: Option<i32>,
    /// Decisions to append to the task's record.
    pub decisions: Option<&'a serde_json::Value>,
    /// What this attempt's model calls cost, micro-USD (added to the task and to the day's ledger).
    pub cost_micros: Option<i64>,
    /// Input tokens served from the cache, this attempt.
    pub cached_tokens: Option<i32>,
}

/// How long to wait before the next attempt: `base · 2^retry_count`, at most `cap`, times `jitter`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Delay before the first retry, seconds.
    pub base_secs: f64,
    /// Longest delay, seconds.
    pub cap_secs: f64,
    /// Multiplier drawn around 1.0 so retries of a burst spread out.
    pub jitter: f64,
}

/// Fills `{next_attempt_at}` in `sql` with the next attempt's time, computed from the row's
/// `retry_count` before it is incremented: the one place the backoff formula is written, shared by
/// failures and rescues. The arguments name the statement's parameters.
fn with_backoff(sql: &str, now: &str, base: &str, cap: &str, jitter: &str) -> String {
    let next = format!("{now} + make_interval(secs => least({base} * power(2, retry_count), {cap}) * {jitter})");
    sql.replace("{next_attempt_at}", &next)
}

/// Where a RUNNING task goes when its run ends.
#[derive(Debug, Clone, Copy)]
pub enum Finish<'a> {
    /// DONE: its effect is committed in the same transaction.
    Done,
    /// SKIPPED with the reason.
    Skipped(&'a str),
    /// FAILED with the error, whatever retries are left.
    Failed(&'a str),
    /// PENDING after backoff while retries remain (one is used), else FAILED.
    RetryOrFail(&'a str, Backoff),
    /// PENDING at this time without using a retry.
    Rescheduled(DateTime<Utc>, &'a str),
}

/// Where a finished run left the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryDecision {
    /// Its state now.
    pub status: TaskStatus,
    /// Retries used, after this one.
    pub retry_count: i32,
    /// When it runs next (unchanged when it is finished).
    pub scheduled_at: DateTime<Utc>,
}

/// Ends a RUNNING task's run as `finish` says, only under `claim_token`: one statement, whatever the
/// transition, recording the run's tokens and decisions (and, when DONE, what it published). `None`
/// when the claim no longer holds the task (its lease expired and it was rescued, or it was cancelled).
pub async fn finish(
    c: &impl GenericClient,
    id: Uuid,
    claim_token: Uuid,
    now: DateTime<Utc>,
    finish: Finish<'_>,
    outcome: &Outcome<'_>,
) -> Result<Option<RetryDecision>, DbError> {
    let mut params: Vec<(&(dyn tokio_postgres::types::ToSql + Sync), Type)> = vec![
        (&id, Type::UUID),
        (&claim_token, Type::UUID),
        (&now, Type::TIMESTAMPTZ),
        (&outcome.prompt_tokens, Type::INT4),
        (&outcome.completion_tokens, Type::INT4),
        (&outcome.decisions, Type::JSONB),
        (&outcome.cost_micros, Type::INT8),
        (&outcome.cached_tokens, Type::INT4),
    ];
    let transition = match &finish {
        Finish::Done => {
            params.push((&outcome.result_id, Type::UUID));
            params.push((&outcome.result_type, Type::TEXT));
            "status = 'DONE', completed_at = $3, result_id = $9, result_type = $10".to_owned()
        }
        Finish::Skipped(reason) => {
            params.push((reason, Type::TEXT));
            "status = 'SKIPPED', completed_at = $3, skip_reason = $9".to_owned()
        }
        Finish::Failed(error) => {
            params.push((error, Type::TEXT));
            "status = 'FAILED', completed_at = $3, error_message = $9, last_error = $9".to_owned()
        }
        Finish::Rescheduled(at, reason) => {
            params.push((at, Type::TIMESTAMPTZ));
            params.push((reason, Type::TEXT));
            "status = 'PENDING', scheduled_at = $9, last_error = $10".to_owned()
        }
        Finish::RetryOrFail(error, backoff) => {
            params.push((error, Type::TEXT));
            params.push((&backoff.base_secs, Type::FLOAT8));
            params.push((&backoff.cap_secs, Type::FLOAT8));
            params.push((&backoff.jitter, Type::FLOAT8));
            with_backoff(
                "status = CASE WHEN retry_count < max_retries THEN 'PENDING' ELSE 'FAILED' END,
                 scheduled_at = CASE WHEN retry_count < max_retries THEN {next_attempt_at} ELSE scheduled_at END,
                 completed_at = CASE WHEN retry_count < max_retries THEN NULL ELSE $3 END,
                 error_message = CASE WHEN retry_count < max_retries THEN error_message
                                      ELSE format('%s (gave up after %s attempts)', $9::text, retry_count + 1) END,
                 retry_count = CASE WHEN retry_count < max_retries THEN retry_count + 1 ELSE retry_count END,
                 last_error = $9",
                "$3",
                "$10",
                "$11",
                "$12",
            )
        }
    };
    // The outcome and the day's ledger in one statement: what a task spent is counted exactly when its
    // outcome is recorded, never twice, never without it. A run that spent nothing (settled without a
    // model, skipped before asking) leaves the ledger out of the statement: the hot path of the queue
    // stays one plain UPDATE.
    let spent = if outcome.cost_micros.is_some_and(|m| m > 0) {
        ", spent AS (
             INSERT INTO persona_engine_spend AS s (day, persona_id, kind, micros, calls)
             SELECT ($3::timestamptz AT TIME ZONE 'UTC')::date, persona_id, task_type, $7, 1 FROM finished
             ON CONFLICT (day, persona_id, kind) DO UPDATE SET micros = s.micros + excluded.micros, calls = s.calls + 1
         )"
    } else {
        ""
    };
    let sql = format!(
        "WITH finished AS (
             UPDATE persona_tasks
             SET {transition}, locked_until = NULL, claim_token = NULL,
                 prompt_tokens = CASE WHEN $4::int4 IS NULL THEN prompt_tokens ELSE coalesce(prompt_tokens, 0) + $4 END,
                 completion_tokens = CASE WHEN $5::int4 IS NULL THEN completion_tokens ELSE coalesce(completion_tokens, 0) + $5 END,
                 decisions = CASE WHEN $6::jsonb IS NULL THEN decisions ELSE decisions || $6 END,
                 cost_micros = CASE WHEN $7::int8 IS NULL THEN cost_micros ELSE coalesce(cost_micros, 0) + $7 END,
                 cached_tokens = CASE WHEN $8::int4 IS NULL THEN cached_tokens ELSE coalesce(cached_tokens, 0) + $8 END
             WHERE id = $1 AND status = 'RUNNING' AND claim_token = $2
             RETURNING status, retry_count, scheduled_at, persona_id, task_type
         ){spent}
         SELECT status, retry_count, scheduled_at FROM finished"
    );
    let row = c.query_typed_opt(&sql, &params).await?;
    row.map(|r| retry_decision(&r)).transpose()
}

fn retry_decision(row: &Row) -> Result<RetryDecision, DbError> {
    let status: String = row.try_get(0)?;
    Ok(RetryDecision {
        status: TaskStatus::parse(&status).unwrap_or(TaskStatus::Failed),
        retry_count: row.try_get(1)?,
        scheduled_at: row.try_get(2)?,
    })
}

/// One task the rescue moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rescued {
    /// Which task.
    pub id: Uuid,
    /// PENDING (retry counted) or FAILED (retries exhausted).
    pub status: TaskStatus,
}

/// Every RUNNING task whose lease ended before `now`: → PENDING with a retry counted and backoff, or
/// → FAILED when its retries are used up. One statement, whatever the number.
pub async fn rescue_expired(
    c: &impl GenericClient,
    now: DateTime<Utc>,
    backoff: Backoff,
) -> Result<Vec<Rescued>, DbError> {
    let sql = with_backoff(
        "UPDATE persona_tasks
         SET status = CASE WHEN retry_count < max_retries THEN 'PENDING' ELSE 'FAILED' END,
             scheduled_at = CASE WHEN retry_count < max_retries THEN {next_attempt_at} ELSE scheduled_at END,
             completed_at = CASE WHEN retry_count < max_retries THEN NULL ELSE $1 END,
             error_message = CASE WHEN retry_count < max_retries THEN error_message
                                  ELSE format('lease expired at %s with no outcome recorded (gave up after %s attempts)',
                                              locked_until, retry_count + 1) END,
             retry_count = CASE WHEN retry_count < max_retries THEN retry_count + 1 ELSE retry_count END,
             last_error = format('lease expired at %s with no outcome recorded: the worker stopped (killed, crashed '
                                 'or out of time) or lost the database before it could record what happened',
                                 locked_until),
             locked_until = NULL, claim_token = NULL
         FROM persona_task_leases l
         WHERE persona_tasks.id = l.task_id AND persona_tasks.status = 'RUNNING' AND persona_tasks.locked_until < $1
         RETURNING persona_tasks.id, persona_tasks.status",
        "$1",
        "$2",
        "$3",
        "$4",
    );
    let rows = c
        .query_typed(
            &sql,
            &[
                (&now, Type::TIMESTAMPTZ),
                (&backoff.base_secs, Type::FLOAT8),
                (&backoff.cap_secs, Type::FLOAT8),
                (&backoff.jitter, Type::FLOAT8),
            ],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get(1)?;
            Ok(Rescued { id: r.try_get(0)?, status: TaskStatus::parse(&status).unwrap_or(TaskStatus::Failed) })
        })
        .collect()
}

/// Each `(id, at)`: a PENDING task due later than `at` made due at `at` (never later, never a task
/// that started); the ids moved. One statement however many.
pub async fn bring_forward(c: &impl GenericClient, moves: &[(Uuid, DateTime<Utc>)]) -> Result<Vec<Uuid>, DbError> {
    let (ids, ats): (Vec<Uuid>, Vec<DateTime<Utc>>) = moves.iter().copied().unzip();
    let rows = c
        .query_typed(
            "UPDATE persona_tasks t SET scheduled_at = m.at
             FROM unnest($1::uuid[], $2::timestamptz[]) AS m(id, at)
             WHERE t.id = m.id AND t.status = 'PENDING' AND t.scheduled_at > m.at
             RETURNING t.id",
            &[(&ids, Type::UUID_ARRAY), (&ats, Type::TIMESTAMPTZ_ARRAY)],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// PENDING or RUNNING → SKIPPED with `reason`. A RUNNING task's worker then finds its claim gone and
/// rolls its effect back. `None` when the task is in another state or missing.
pub async fn cancel(
    c: &impl GenericClient,
    id: Uuid,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<Option<Task>, DbError> {
    let row = c
        .query_typed_opt(
            &format!(
                "UPDATE persona_tasks
                 SET status = 'SKIPPED', completed_at = $2, skip_reason = $3, locked_until = NULL, claim_token = NULL
                 WHERE id = $1 AND status IN ('PENDING', 'RUNNING')
                 RETURNING {COLUMNS}"
            ),
            &[(&id, Type::UUID), (&now, Type::TIMESTAMPTZ), (&reason, Type::TEXT)],
        )
        .await?;
    row.as_ref().map(Task::try_from).transpose()
}

/// PENDING, FAILED or SKIPPED → PENDING due at `now`, retries reset. `None` when the task is RUNNING,
/// DONE or missing.
pub async fn retry_now(c: &impl GenericClient, id: Uuid, now: DateTime<Utc>) -> Result<Option<Task>, DbError> {
    let row = c
        .query_typed_opt(
            &format!(
                "UPDATE persona_tasks
                 SET status = 'PENDING', scheduled_at = $2, retry_count = 0, completed_at = NULL,
                     last_error = coalesce(error_message, skip_reason, last_error),
                     error_message = NULL, skip_reason = NULL
                 WHERE id = $1 AND status IN ('PENDING', 'FAILED', 'SKIPPED')
                 RETURNING {COLUMNS}"
            ),
            &[(&id, Type::UUID), (&now, Type::TIMESTAMPTZ)],
        )
        .await?;
    row.as_ref().map(Task::try_from).transpose()
}

/// One task by id.
pub async fn find(c: &impl GenericClient, id: Uuid) -> Result<Option<Task>, DbError> {
    let row =
        c.query_typed_opt(&format!("SELECT {COLUMNS} FROM persona_tasks WHERE id = $1"), &[(&id, Type::UUID)]).await?;
    row.as_ref().map(Task::try_from).transpose()
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Only this status.
    pub status: Option<TaskStatus>,
    /// Only this type.
    pub task_type: Option<String>,
    /// Only this persona.
    pub persona_id: Option<Uuid>,
    /// Only tasks created before this (created_at, id) position: the previous page's last.
    pub before: Option<(DateTime<Utc>, Uuid)>,
}

/// Tasks newest first, at most `limit`.
pub async fn list(c: &impl GenericClient, filter: &TaskFilter, limit: i64) -> Result<Vec<Task>, DbError> {
    let status = filter.status.map(TaskStatus::as_str);
    let (before_at, before_id) = match filter.before {
        Some((at, id)) => (Some(at), Some(id)),
        None => (None, None),
    };
    let rows = c
        .query_typed(
            &format!(
                "SELECT {COLUMNS} FROM persona_tasks
                 WHERE ($1::text IS NULL OR status = $1)
                   AND ($2::text IS NULL OR task_type = $2)
                   AND ($3::uuid IS NULL OR persona_id = $3)
                   AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5))
                 ORDER BY created_at DESC, id DESC
                 LIMIT $6"
            ),
            &[
                (&status, Type::TEXT),
                (&filter.task_type, Type::TEXT),
                (&filter.persona_id, Type::UUID),
                (&before_at, Type::TIMESTAMPTZ),
                (&before_id, Type::UUID),
                (&limit, Type::INT8),
            ],
        )
        .await?;
    tasks(&rows)
}

/// The live (PENDING or RUNNING) tasks of this type for this target, one per persona at most (the
/// dedupe index).
pub async fn live_for_target(
    c: &impl GenericClient,
    task_type: &str,
    target: Option<Target>,
) -> Result<Vec<Task>, DbError> {
    let (post_id, comment_id, board_id) = Target::columns(target);
    let rows = c
        .query_typed(
            &format!(
                "SELECT {COLUMNS} FROM persona_tasks
                 WHERE task_type = $1 AND status IN ('PENDING', 'RUNNING')
                   AND post_id IS NOT DISTINCT FROM $2 AND comment_id IS NOT DISTINCT FROM $3
                   AND board_id IS NOT DISTINCT FROM $4"
            ),
            &[(&task_type, Type::TEXT), (&post_id, Type::UUID), (&comment_id, Type::UUID), (&board_id, Type::UUID)],
        )
        .await?;
    tasks(&rows)
}

/// Queue counts at `now`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Counts {
    /// (status, task_type, count).
    pub by_status_and_type: Vec<(String, String, i64)>,
    /// Seconds since the oldest due PENDING task became due; 0 when none is due.
    pub oldest_due_age_secs: f64,
    /// Tasks that reached FAILED in the 24 hours before `now`.
    pub failed_last_24h: i64,
    /// Model tokens (in, out) recorded on tasks finished in the 24 hours before `now`.
    pub tokens_last_24h: (i64, i64),
}

/// Counts by status and type, the oldest due task's age, and the last day's failures and tokens.
pub async fn counts(c: &impl GenericClient, now: DateTime<Utc>) -> Result<Counts, DbError> {
    let groups = c
        .query_typed(
            "SELECT status, task_type, count(*) FROM persona_tasks GROUP BY status, task_type ORDER BY status, task_type",
            &[],
        )
        .await?;
    let summary = c
        .query_typed_one(
            "SELECT
                 (SELECT count(*) FROM persona_tasks
                  WHERE status = 'FAILED' AND completed_at > $1 - interval '24 hours' AND completed_at <= $1),
                 coalesce(sum(prompt_tokens), 0)::int8,
                 coalesce(sum(completion_tokens), 0)::int8
             FROM persona_tasks
             WHERE completed_at > $1 - interval '24 hours' AND completed_at <= $1",
            &[(&now, Type::TIMESTAMPTZ)],
        )
        .await?;
    Ok(Counts {
        by_status_and_type: groups
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<_, DbError>>()?,
        oldest_due_age_secs: oldest_due_age_secs(c, now).await?,
        failed_last_24h: summary.try_get(0)?,
        tokens_last_24h: (summary.try_get(1)?, summary.try_get(2)?),
    })
}

/// Seconds since the oldest due PENDING task became due (0 when none waits): one read of the claim
/// index, cheap enough for every planning tick.
pub async fn oldest_due_age_secs(c: &impl GenericClient, now: DateTime<Utc>) -> Result<f64, DbError> {
    let row = c
        .query_typed_one(
            "SELECT coalesce(extract(epoch FROM $1 - (
                 SELECT min(q.scheduled_at) FROM persona_task_queue q
                 WHERE q.scheduled_at <= $1
                   AND NOT EXISTS (SELECT 1 FROM persona_task_leases l
                                   WHERE l.persona_id = q.persona_id AND l.task_id = q.task_id)))::float8, 0)",
            &[(&now, Type::TIMESTAMPTZ)],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Who issued an operator's instructions: only the engine's own front doors may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Issuer {
    /// `POST /trigger/{kind}`.
    AdminApi,
    /// `persona-engine trigger`.
    Cli,
}

impl Issuer {
    fn as_str(self) -> &'static str {
        match self {
            Self::AdminApi => "admin_api",
            Self::Cli => "cli",
        }
    }
}

/// Records an operator's instructions for `task_id`, in the transaction that enqueued it, with the
/// persona, kind and target the task names now: the instructions are for that, and nothing else.
pub async fn insert_instructions(
    c: &impl GenericClient,
    task_id: Uuid,
    instructions: &str,
    issuer: Issuer,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    c.query_typed(
        "INSERT INTO persona_task_instructions (task_id, instructions, issued_by, created_at, persona_id, task_type,
                                                post_id, comment_id, board_id)
         SELECT id, $2, $3, $4, persona_id, task_type, post_id, comment_id, board_id FROM persona_tasks WHERE id = $1",
        &[
            (&task_id, Type::UUID),
            (&instructions, Type::TEXT),
            (&issuer.as_str(), Type::TEXT),
            (&now, Type::TIMESTAMPTZ),
        ],
    )
    .await?;
    Ok(())
}

/// An operator's instructions and what they were given for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instructions {
    /// The text.
    pub text: String,
    /// The persona the task named when they were given.
    pub persona_id: Option<Uuid>,
    /// Its kind then.
    pub task_type: Option<String>,
    /// Its target post then.
    pub post_id: Option<Uuid>,
    /// Its target comment then.
    pub comment_id: Option<Uuid>,
    /// Its target board then.
    pub board_id: Option<Uuid>,
}

impl Instructions {
    /// What of `task` differs from what the instructions were given for (empty when nothing does).
    pub fn mismatches(&self, task: &Task) -> Vec<&'static str> {
        let mut differ = Vec::new();
        if self.persona_id != Some(task.persona_id) {
            differ.push("persona");
        }
        if self.task_type.as_deref() != Some(task.task_type.as_str()) {
            differ.push("kind");
        }
        if (self.post_id, self.comment_id, self.board_id) != (task.post_id, task.comment_id, task.board_id) {
            differ.push("target");
        }
        differ
    }
}

/// The operator's instructions for `task_id`, if the admin API or the CLI issued any.
pub async fn instructions_for(c: &impl GenericClient, task_id: Uuid) -> Result<Option<Instructions>, DbError> {
    let row = c
        .query_typed_opt(
            "SELECT instructions, persona_id, task_type, post_id, comment_id, board_id
             FROM persona_task_instructions WHERE task_id = $1",
            &[(&task_id, Type::UUID)],
        )
        .await?;
    row.map(|r| {
        Ok(Instructions {
            text: r.try_get(0)?,
            persona_id: r.try_get(1)?,
            task_type: r.try_get(2)?,
            post_id: r.try_get(3)?,
            comment_id: r.try_get(4)?,
            board_id: r.try_get(5)?,
        })
    })
    .transpose()
}
