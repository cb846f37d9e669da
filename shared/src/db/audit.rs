//! Reads for the content-health audit: what personas published, how fast they answered, how their
//! actions spread over the hours. Each is bounded, newest first, so an audit over a busy week costs the
//! same as one over a quiet day.

use chrono::{DateTime, Utc};
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::{DbError, GenericClient};

/// One post or comment a persona published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedText {
    /// The persona's handle.
    pub username: String,
    /// `post`, `comment` (top level) or `reply`.
    pub kind: String,
    /// The board it is on.
    pub board_id: Uuid,
    /// A post's title and body, or a comment's body.
    pub text: String,
    /// When it was published.
    pub created_at: DateTime<Utc>,
}

/// What personas published in `(since, until]`, newest first, at most `limit`.
pub async fn published_texts(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<PublishedText>, DbError> {
    let rows = c
        .query_typed(
            "SELECT username, kind, board_id, text, created_at FROM (
                 SELECT pe.username, 'post' AS kind, p.board_id, p.title || E'\\n\\n' || p.body AS text, p.created_at,
                        p.id
                 FROM posts p JOIN personas pe ON pe.id = p.persona_id
                 WHERE p.created_at > $1 AND p.created_at <= $2
                 UNION ALL
                 SELECT pe.username, CASE WHEN cm.parent_id IS NULL THEN 'comment' ELSE 'reply' END, po.board_id,
                        cm.body, cm.created_at, cm.id
                 FROM comments cm JOIN personas pe ON pe.id = cm.persona_id JOIN posts po ON po.id = cm.post_id
                 WHERE cm.created_at > $1 AND cm.created_at <= $2 AND cm.deleted_at IS NULL
             ) published
             ORDER BY created_at DESC, id DESC
             LIMIT $3",
            &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ), (&limit, Type::INT8)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(PublishedText {
                username: r.try_get(0)?,
                kind: r.try_get(1)?,
                board_id: r.try_get(2)?,
                text: r.try_get(3)?,
                created_at: r.try_get(4)?,
            })
        })
        .collect()
}

/// Minutes from a comment to a persona's reply to it, for replies written in `(since, until]` (newest
/// first, at most `limit`), and whether the comment answered was a person's.
pub async fn reply_latencies(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(f64, bool)>, DbError> {
    let rows = c
        .query_typed(
            "SELECT extract(epoch FROM r.created_at - parent.created_at)::float8 / 60, parent.author_id IS NOT NULL
             FROM comments r JOIN comments parent ON parent.id = r.parent_id
             WHERE r.persona_id IS NOT NULL AND r.created_at > $1 AND r.created_at <= $2
             ORDER BY r.created_at DESC, r.id DESC
             LIMIT $3",
            &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ), (&limit, Type::INT8)],
        )
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Each persona's actions (posts, comments, replies, votes) per clock hour in `(since, until]`: handle,
/// the hour, how many. Hours without actions are absent.
pub async fn hourly_actions(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(String, DateTime<Utc>, i64)>, DbError> {
    let rows = c
        .query_typed(
            "SELECT p.username, date_trunc('hour', m.created_at, 'UTC'), count(*)
             FROM persona_memory m JOIN personas p ON p.id = m.persona_id
             WHERE m.action_type <> 'viewed' AND m.created_at > $1 AND m.created_at <= $2
             GROUP BY 1, 2
             ORDER BY 1, 2",
            &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)],
        )
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

/// The handles of every active persona, in order.
pub async fn active_usernames(c: &impl GenericClient) -> Result<Vec<String>, DbError> {
    let rows = c.query_typed("SELECT username FROM personas WHERE is_active ORDER BY username", &[]).await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}
