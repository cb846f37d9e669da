//! Steps that outlive one invocation (`persona_task_steps`): the draft a task wrote and where its
//! long-running step stands, kept while the task waits and taken up when it runs again.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{DbError, GenericClient, Type};

/// What a waiting task left.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    /// The draft it wrote (its kind's, as JSON).
    pub draft: serde_json::Value,
    /// Where the step stands (its kind's, as JSON).
    pub state: serde_json::Value,
    /// When the step began.
    pub started_at: DateTime<Utc>,
    /// How many times it has been put back.
    pub polls: i32,
}

/// What task `task_id` left when it was last put back, if it is waiting.
pub async fn find(c: &impl GenericClient, task_id: Uuid) -> Result<Option<Waiting>, DbError> {
    let row = c
        .query_typed_opt(
            "SELECT draft, state, started_at, polls FROM persona_task_steps WHERE task_id = $1",
            &[(&task_id, Type::UUID)],
        )
        .await?;
    row.map(|r| {
        Ok(Waiting { draft: r.try_get(0)?, state: r.try_get(1)?, started_at: r.try_get(2)?, polls: r.try_get(3)? })
    })
    .transpose()
}

/// Keeps (or moves on) task `task_id`'s draft and step state; the count of times it was put back goes up.
pub async fn keep(
    c: &impl GenericClient,
    task_id: Uuid,
    draft: &serde_json::Value,
    state: &serde_json::Value,
    started_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    c.query_typed(
        "INSERT INTO persona_task_steps (task_id, draft, state, started_at, updated_at, polls)
         VALUES ($1, $2, $3, $4, $5, 1)
         ON CONFLICT (task_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at,
                                             polls = persona_task_steps.polls + 1",
        &[
            (&task_id, Type::UUID),
            (draft, Type::JSONB),
            (state, Type::JSONB),
            (&started_at, Type::TIMESTAMPTZ),
            (&now, Type::TIMESTAMPTZ),
        ],
    )
    .await?;
    Ok(())
}

/// Drops what task `task_id` kept (it published, in the same transaction).
pub async fn finish(c: &impl GenericClient, task_id: Uuid) -> Result<(), DbError> {
    c.query_typed("DELETE FROM persona_task_steps WHERE task_id = $1", &[(&task_id, Type::UUID)]).await?;
    Ok(())
}
