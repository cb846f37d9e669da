//! The planner's reads, each one statement whatever the number of posts or personas, and its tick log.

use chrono::{DateTime, Utc};
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::personas::Candidate;
use super::{DbError, GenericClient};

/// A persona as the planner sees it: the selector's candidate plus its queued work.
#[derive(Debug, Clone)]
pub struct PersonaState {
    /// Profile, activity, (no target: `engaged` is false).
    pub candidate: Candidate,
    /// Its session (`session_type`) already queued, if one is.
    pub session: Option<QueuedSession>,
}

/// A persona's session in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedSession {
    /// The task.
    pub task_id: Uuid,
    /// When it is due.
    pub scheduled_at: DateTime<Utc>,
    /// Whether a worker runs it now (it has looked already: what arrives now waits for the next one).
    pub running: bool,
}

/// Every active persona with its activity and queued work; `session_type` is the session's task type.
pub async fn persona_states(
    c: &impl GenericClient,
    now: DateTime<Utc>,
    session_type: &str,
) -> Result<Vec<PersonaState>, DbError> {
    let candidates = super::personas::candidates(c, now, None, None).await?;
    let rows = c
        .query_typed(
            // The live tasks are the narrow queue's rows (one per PENDING or RUNNING task); a running one
            // holds its persona's lease. The live dedupe allows one session per persona.
            "SELECT q.persona_id, q.task_id, q.scheduled_at, l.task_id IS NOT NULL
             FROM persona_task_queue q LEFT JOIN persona_task_leases l ON l.task_id = q.task_id
             WHERE q.task_type = $1",
            &[(&session_type, Type::TEXT)],
        )
        .await?;
    let mut queued = std::collections::HashMap::new();
    for row in rows {
        let session =
            QueuedSession { task_id: row.try_get(1)?, scheduled_at: row.try_get(2)?, running: row.try_get(3)? };
        queued.insert(row.try_get::<_, Uuid>(0)?, session);
    }
    Ok(candidates
        .into_iter()
        .map(|candidate| {
            let session = queued.get(&candidate.persona.id).copied();
            PersonaState { candidate, session }
        })
        .collect())
}

/// A human's reply to a persona — to its comment, or a top-level comment on its post — that the persona
/// has not seen yet: no session showed it, no answer to it was ever queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HumanReply {
    /// The human's comment.
    pub comment_id: Uuid,
    /// Its post.
    pub post_id: Uuid,
    /// The persona it answers.
    pub persona_id: Uuid,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// Human replies to personas written after `since` that their persona has not seen, oldest first, at
/// most `limit` (`reply_type`: the task type of an answer).
pub async fn unseen_human_replies(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: i64,
    reply_type: &str,
) -> Result<Vec<HumanReply>, DbError> {
    let rows = c
        .query_typed(
            "SELECT h.id, h.post_id, answered.persona_id, h.created_at
             FROM comments h
             JOIN posts p ON p.id = h.post_id AND p.status = 'PUBLISHED' AND NOT p.locked
             LEFT JOIN comments parent ON parent.id = h.parent_id
             CROSS JOIN LATERAL (SELECT CASE WHEN h.parent_id IS NULL THEN p.persona_id ELSE parent.persona_id END
                                        AS persona_id) answered
             JOIN personas pe ON pe.id = answered.persona_id AND pe.is_active
             WHERE h.author_id IS NOT NULL AND h.deleted_at IS NULL
               AND h.created_at > $1 AND h.created_at <= $2
               AND NOT EXISTS (SELECT 1 FROM persona_memory m
                               WHERE m.persona_id = answered.persona_id AND m.comment_id = h.id
                                 AND m.action_type IN ('viewed', 'replied'))
               AND NOT EXISTS (SELECT 1 FROM persona_tasks t
                               WHERE t.comment_id = h.id AND t.persona_id = answered.persona_id AND t.task_type = $4)
             ORDER BY h.created_at, h.id
             LIMIT $3",
            &[(&since, Type::TIMESTAMPTZ), (&now, Type::TIMESTAMPTZ), (&limit, Type::INT8), (&reply_type, Type::TEXT)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(HumanReply {
                comment_id: r.try_get(0)?,
                post_id: r.try_get(1)?,
                persona_id: r.try_get(2)?,
                created_at: r.try_get(3)?,
            })
        })
        .collect()
}

/// Records a tick for `event_id`; `Some(report)` of the earlier tick when this event was already
/// planned (a duplicate delivery), `None` when it is new. Old entries are pruned on the way. Call it in
/// the tick's transaction, so the record commits with the tick's work or not at all.
pub async fn claim_tick(
    c: &impl GenericClient,
    event_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<serde_json::Value>, DbError> {
    c.query_typed(
        "DELETE FROM persona_engine_ticks WHERE planned_at < $1 - interval '7 days'",
        &[(&now, Type::TIMESTAMPTZ)],
    )
    .await?;
    let inserted = c
        .query_typed(
            "INSERT INTO persona_engine_ticks (event_id, planned_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id",
            &[(&event_id, Type::TEXT), (&now, Type::TIMESTAMPTZ)],
        )
        .await?;
    if !inserted.is_empty() {
        return Ok(None);
    }
    let row = c
        .query_typed_one(
            "SELECT coalesce(report, '{}'::jsonb) FROM persona_engine_ticks WHERE event_id = $1",
            &[(&event_id, Type::TEXT)],
        )
        .await?;
    Ok(Some(row.try_get(0)?))
}

/// Stores a tick's report.
pub async fn finish_tick(c: &impl GenericClient, event_id: &str, report: &serde_json::Value) -> Result<(), DbError> {
    c.query_typed(
        "UPDATE persona_engine_ticks SET report = $2 WHERE event_id = $1",
        &[(&event_id, Type::TEXT), (report, Type::JSONB)],
    )
    .await?;
    Ok(())
}
