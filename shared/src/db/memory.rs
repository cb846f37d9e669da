//! Statements on `persona_memory`: what each persona has done, so it does not do it twice.

use chrono::{DateTime, Utc};
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::{DbError, GenericClient};

/// What a memory row is about. Post-level actions are keyed on the post, comment-level ones (replies,
/// votes on comments) on the comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum MemoryTarget {
    /// A post.
    Post(Uuid),
    /// A comment.
    Comment(Uuid),
}

impl MemoryTarget {
    fn columns(self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            Self::Post(id) => (Some(id), None),
            Self::Comment(id) => (None, Some(id)),
        }
    }
}

/// Whether the persona has a memory of `action_type` on `target`.
pub async fn has(
    c: &impl GenericClient,
    persona_id: Uuid,
    target: MemoryTarget,
    action_type: &str,
) -> Result<bool, DbError> {
    let (post_id, comment_id) = target.columns();
    let row = c
        .query_typed_opt(
            "SELECT 1 FROM persona_memory
             WHERE persona_id = $1 AND action_type = $4
               AND post_id IS NOT DISTINCT FROM $2 AND comment_id IS NOT DISTINCT FROM $3",
            &[(&persona_id, Type::UUID), (&post_id, Type::UUID), (&comment_id, Type::UUID), (&action_type, Type::TEXT)],
        )
        .await?;
    Ok(row.is_some())
}

/// Records that the persona did `action_type` on `target`; `false` when it already had (the unique
/// constraints decide, so two racing tasks cannot both publish).
pub async fn record(
    c: &impl GenericClient,
    persona_id: Uuid,
    target: MemoryTarget,
    action_type: &str,
    task_id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, DbError> {
    let (post_id, comment_id) = target.columns();
    let rows = c
        .query_typed(
            "INSERT INTO persona_memory (persona_id, post_id, comment_id, action_type, task_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT DO NOTHING RETURNING id",
            &[
                (&persona_id, Type::UUID),
                (&post_id, Type::UUID),
                (&comment_id, Type::UUID),
                (&action_type, Type::TEXT),
                (&task_id, Type::UUID),
                (&at, Type::TIMESTAMPTZ),
            ],
        )
        .await?;
    Ok(!rows.is_empty())
}
