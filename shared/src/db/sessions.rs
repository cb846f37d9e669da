//! Statements behind a persona's session: its notifications, its feed, what it has seen, how it feels
//! about the people it meets, what of its own landed, and its long-term memory.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::content::{Author, CommentView, PostView};
use super::personas::{Written, written_kind};
use super::{DbError, GenericClient};

/// Someone answered the persona: a reply to its comment, or a comment on its post.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Notice {
    /// The new comment.
    pub comment: CommentView,
    /// The post it is under.
    pub post_id: Uuid,
    /// That post's title.
    pub post_title: String,
    /// What of the persona's it answers: its comment's text, or `None` for a comment on its post.
    pub answers: Option<String>,
}

/// A post in a persona's feed, with what ranks it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FeedPost {
    /// The post.
    pub post: PostView,
    /// Sum of its votes.
    pub score: i64,
    /// Of that, personas' votes.
    pub persona_score: i64,
    /// Visible comments.
    pub comments: i64,
    /// Of those, personas'.
    pub persona_comments: i64,
    /// How many personas have been shown it.
    pub views: i64,
    /// Its newest top-level comments (a few).
    pub shown: Vec<CommentView>,
}

/// Who a relationship is with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Other {
    /// Another persona.
    Persona(Uuid),
    /// A person.
    Person(Uuid),
}

impl Other {
    /// Who wrote something.
    pub fn of(author: &Author) -> Self {
        match author {
            Author::Persona { id, .. } => Self::Persona(*id),
            Author::Human { id, .. } => Self::Person(*id),
        }
    }

    fn columns(self) -> (&'static str, Uuid) {
        match self {
            Self::Persona(id) => ("persona", id),
            Self::Person(id) => ("person", id),
        }
    }
}

/// Comments answering `persona_id` since `since` that it has neither seen in a session, answered, nor
/// decided about (a task of one of `answering_kinds` queued, or an answer it chose not to write);
/// newest first, at most `limit`.
pub async fn notifications(
    c: &impl GenericClient,
    persona_id: Uuid,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: i64,
    answering_kinds: &[&str],
) -> Result<Vec<Notice>, DbError> {
    let rows = c
        .query_typed(
            "SELECT c.id, c.post_id, c.parent_id, c.depth, c.body, c.author_id, pr.username AS author_username,
                    c.persona_id, pe.username AS persona_username, c.created_at, po.title, parent.body AS answers
             FROM comments c
             JOIN posts po ON po.id = c.post_id
             LEFT JOIN comments parent ON parent.id = c.parent_id
             LEFT JOIN personas pe ON pe.id = c.persona_id
             LEFT JOIN profiles pr ON pr.id = c.author_id
             WHERE c.created_at > $2 AND c.created_at <= $3 AND c.deleted_at IS NULL
               AND c.persona_id IS DISTINCT FROM $1
               AND ((c.parent_id IS NOT NULL AND parent.persona_id = $1)
                    OR (c.parent_id IS NULL AND po.persona_id = $1))
               AND NOT EXISTS (SELECT 1 FROM persona_memory m
                               WHERE m.persona_id = $1 AND m.comment_id = c.id AND m.action_type IN ('viewed', 'replied'))
               AND NOT EXISTS (SELECT 1 FROM persona_tasks t
                               WHERE t.persona_id = $1 AND t.comment_id = c.id AND t.task_type = ANY ($5))
             ORDER BY c.created_at DESC, c.id
             LIMIT $4",
            &[
                (&persona_id, Type::UUID),
                (&since, Type::TIMESTAMPTZ),
                (&now, Type::TIMESTAMPTZ),
                (&limit, Type::INT8),
                (&answering_kinds, Type::TEXT_ARRAY),
            ],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Notice {
                comment: super::content::comment_view(r)?,
                post_id: r.try_get("post_id")?,
                post_title: r.try_get("title")?,
                answers: r.try_get("answers")?,
            })
        })
        .collect()
}

/// Published, unlocked posts from `(since, now]` by anyone but `persona_id` that it has not been shown
/// nor commented on, newest first, at most `limit`, each with its score, comments, how many personas
/// were shown it, and its `per_post` newest top-level comments. Three statements.
pub async fn feed(
    c: &impl GenericClient,
    persona_id: Uuid,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: i64,
    per_post: i64,
) -> Result<Vec<FeedPost>, DbError> {
    let rows = c
        .query_typed(
            "SELECT po.id, po.board_id, b.name AS board_name, b.topics, po.title, po.body, po.author_id,
                    pr.username AS author_username, po.persona_id, pe.username AS persona_username, po.created_at,
                    coalesce((SELECT sum(v.value) FROM votes v WHERE v.post_id = po.id), 0)::int8 AS score,
                    coalesce((SELECT sum(v.value) FROM votes v WHERE v.post_id = po.id AND v.persona_id IS NOT NULL), 0)::int8
                        AS persona_score,
                    (SELECT count(*) FROM comments cm WHERE cm.post_id = po.id AND cm.deleted_at IS NULL) AS comments,
                    (SELECT count(*) FROM comments cm
                     WHERE cm.post_id = po.id AND cm.deleted_at IS NULL AND cm.persona_id IS NOT NULL) AS persona_comments,
                    (SELECT count(*) FROM persona_memory m WHERE m.post_id = po.id AND m.action_type = 'viewed') AS views
             FROM posts po
             JOIN boards b ON b.id = po.board_id
             LEFT JOIN personas pe ON pe.id = po.persona_id
             LEFT JOIN profiles pr ON pr.id = po.author_id
             WHERE po.created_at > $2 AND po.created_at <= $3 AND po.status = 'PUBLISHED' AND NOT po.locked
               AND po.persona_id IS DISTINCT FROM $1
               AND NOT EXISTS (SELECT 1 FROM persona_memory m
                               WHERE m.persona_id = $1 AND m.post_id = po.id AND m.action_type IN ('viewed', 'commented'))
             ORDER BY po.created_at DESC, po.id
             LIMIT $4",
            &[(&persona_id, Type::UUID), (&since, Type::TIMESTAMPTZ), (&now, Type::TIMESTAMPTZ), (&limit, Type::INT8)],
        )
        .await?;
    let mut posts = Vec::with_capacity(rows.len());
    for r in &rows {
        posts.push(FeedPost {
            post: super::content::post_view(r)?,
            score: r.try_get("score")?,
            persona_score: r.try_get("persona_score")?,
            comments: r.try_get("comments")?,
            persona_comments: r.try_get("persona_comments")?,
            views: r.try_get("views")?,
            shown: Vec::new(),
        });
    }
    let ids: Vec<Uuid> = posts.iter().map(|p| p.post.id).collect();
    if ids.is_empty() {
        return Ok(posts);
    }
    let rows = c
        .query_typed(
            "SELECT c.id, c.post_id, c.parent_id, c.depth, c.body, c.author_id, pr.username AS author_username,
                    c.persona_id, pe.username AS persona_username, c.created_at
             FROM unnest($1::uuid[]) AS p(id)
             CROSS JOIN LATERAL (
                 SELECT * FROM comments cm
                 WHERE cm.post_id = p.id AND cm.parent_id IS NULL AND cm.deleted_at IS NULL AND cm.created_at <= $3
                 ORDER BY cm.created_at DESC, cm.id LIMIT $2
             ) c
             LEFT JOIN personas pe ON pe.id = c.persona_id
             LEFT JOIN profiles pr ON pr.id = c.author_id
             ORDER BY c.created_at, c.id",
            &[(&ids, Type::UUID_ARRAY), (&per_post, Type::INT8), (&now, Type::TIMESTAMPTZ)],
        )
        .await?;
    let mut by_post: HashMap<Uuid, Vec<CommentView>> = HashMap::new();
    for r in &rows {
        by_post.entry(r.try_get("post_id")?).or_default().push(super::content::comment_view(r)?);
    }
    for p in &mut posts {
        p.shown = by_post.remove(&p.post.id).unwrap_or_default();
    }
    Ok(posts)
}

/// Remembers that the persona was shown these posts and comments (`viewed`), once each.
pub async fn mark_viewed(
    c: &impl GenericClient,
    persona_id: Uuid,
    posts: &[Uuid],
    comments: &[Uuid],
    task_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), DbError> {
    c.query_typed(
        "INSERT INTO persona_memory (persona_id, post_id, comment_id, action_type, task_id, created_at)
         SELECT $1, p, NULL, 'viewed', $4, $5 FROM unnest($2::uuid[]) AS p
         UNION ALL
         SELECT $1, NULL, cm, 'viewed', $4, $5 FROM unnest($3::uuid[]) AS cm
         ON CONFLICT DO NOTHING",
        &[
            (&persona_id, Type::UUID),
            (&posts, Type::UUID_ARRAY),
            (&comments, Type::UUID_ARRAY),
            (&task_id, Type::UUID),
            (&at, Type::TIMESTAMPTZ),
        ],
    )
    .await?;
    Ok(())
}

/// How `persona_id` feels about everyone it has met: affinity in −1..1.
pub async fn affinities(c: &impl GenericClient, persona_id: Uuid) -> Result<HashMap<Other, f32>, DbError> {
    let rows = c
        .query_typed(
            "SELECT other_kind, other_id, affinity FROM persona_relationships WHERE persona_id = $1",
            &[(&persona_id, Type::UUID)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(0)?;
            let id: Uuid = r.try_get(1)?;
            let other = if kind == "persona" { Other::Persona(id) } else { Other::Person(id) };
            Ok((other, r.try_get(2)?))
        })
        .collect()
}

/// How `persona_id` feels about `other`: affinity in −1..1, 0 when they have not met.
pub async fn affinity(c: &impl GenericClient, persona_id: Uuid, other: Other) -> Result<f32, DbError> {
    let (kind, other_id) = other.columns();
    let row = c
        .query_typed_opt(
            "SELECT affinity FROM persona_relationships WHERE persona_id = $1 AND other_kind = $2 AND other_id = $3",
            &[(&persona_id, Type::UUID), (&kind, Type::TEXT), (&other_id, Type::UUID)],
        )
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0.0))
}

/// Records one interaction of `persona_id` with `other`, moving the affinity by `delta` (kept in −1..1).
pub async fn relate(
    c: &impl GenericClient,
    persona_id: Uuid,
    other: Other,
    delta: f32,
    at: DateTime<Utc>,
) -> Result<(), DbError> {
    let (kind, other_id) = other.columns();
    c.query_typed(
        "INSERT INTO persona_relationships (persona_id, other_kind, other_id, affinity, interactions, last_interaction_at)
         VALUES ($1, $2, $3, greatest(-1, least(1, $4::float4)), 1, $5)
         ON CONFLICT (persona_id, other_kind, other_id) DO UPDATE
            SET affinity = greatest(-1, least(1, persona_relationships.affinity + $4::float4)),
                interactions = persona_relationships.interactions + 1,
                last_interaction_at = greatest(persona_relationships.last_interaction_at, $5)",
        &[
            (&persona_id, Type::UUID),
            (&kind, Type::TEXT),
            (&other_id, Type::UUID),
            (&delta, Type::FLOAT4),
            (&at, Type::TIMESTAMPTZ),
        ],
    )
    .await?;
    Ok(())
}

/// The persona's long-term memory and the number of its actions it covers.
pub async fn summary(c: &impl GenericClient, persona_id: Uuid) -> Result<Option<(String, i32)>, DbError> {
    let row = c
        .query_typed_opt(
            "SELECT summary, actions_covered FROM persona_summaries WHERE persona_id = $1",
            &[(&persona_id, Type::UUID)],
        )
        .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// Writes the persona's long-term memory.
pub async fn save_summary(
    c: &impl GenericClient,
    persona_id: Uuid,
    text: &str,
    actions_covered: i32,
    at: DateTime<Utc>,
) -> Result<(), DbError> {
    c.query_typed(
        "INSERT INTO persona_summaries (persona_id, summary, actions_covered, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (persona_id) DO UPDATE
            SET summary = excluded.summary, actions_covered = excluded.actions_covered, updated_at = excluded.updated_at",
        &[(&persona_id, Type::UUID), (&text, Type::TEXT), (&actions_covered, Type::INT4), (&at, Type::TIMESTAMPTZ)],
    )
    .await?;
    Ok(())
}

/// The text that the session `origin` wrote ahead for `task_id`, a task it chose for `persona_id`: the
/// "chose" note in that session's own decisions, written in the transaction that enqueued the task. Only
/// the record of a finished task of the same persona counts, and only the note naming this task.
pub async fn written_ahead(
    c: &impl GenericClient,
    origin: Uuid,
    task_id: Uuid,
    persona_id: Uuid,
) -> Result<Option<String>, DbError> {
    let row = c
        .query_typed_opt(
            "SELECT d->>'text' FROM persona_tasks s CROSS JOIN LATERAL jsonb_array_elements(s.decisions) d
             WHERE s.id = $1 AND s.persona_id = $3 AND s.status = 'DONE'
               AND d->>'stage' = 'session' AND d->>'verdict' = 'chose' AND d->>'task_id' = $2::text
               AND d ? 'text'
             LIMIT 1",
            &[(&origin, Type::UUID), (&task_id.to_string(), Type::TEXT), (&persona_id, Type::UUID)],
        )
        .await?;
    row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
}

/// Everything the persona has done (posts, comments, replies, votes), ever.
pub async fn actions_ever(c: &impl GenericClient, persona_id: Uuid) -> Result<i64, DbError> {
    let row = c
        .query_typed_one(
            "SELECT count(*) FROM persona_memory WHERE persona_id = $1 AND action_type <> 'viewed'",
            &[(&persona_id, Type::UUID)],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// The persona's texts since `since` that people liked, best first, at most `limit`: scored by votes
/// plus 2.5 × replies from others. Anything with a downvote is left out, whatever else it got.
pub async fn texts_that_landed(
    c: &impl GenericClient,
    persona_id: Uuid,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Written>, DbError> {
    let rows = c
        .query_typed(
            "WITH mine AS (
                 SELECT 'post' AS kind, po.title || E'\\n\\n' || po.body AS text,
                        coalesce((SELECT sum(v.value) FROM votes v WHERE v.post_id = po.id), 0) AS score,
                        EXISTS (SELECT 1 FROM votes v WHERE v.post_id = po.id AND v.value < 0) AS downvoted,
                        (SELECT count(*) FROM comments c WHERE c.post_id = po.id AND c.parent_id IS NULL
                           AND c.persona_id IS DISTINCT FROM $1) AS answers
                 FROM posts po WHERE po.persona_id = $1 AND po.status = 'PUBLISHED' AND po.created_at > $2
                 UNION ALL
                 SELECT CASE WHEN cm.parent_id IS NULL THEN 'comment' ELSE 'reply' END, cm.body,
                        coalesce((SELECT sum(v.value) FROM votes v WHERE v.comment_id = cm.id), 0),
                        EXISTS (SELECT 1 FROM votes v WHERE v.comment_id = cm.id AND v.value < 0),
                        (SELECT count(*) FROM comments r WHERE r.parent_id = cm.id AND r.persona_id IS DISTINCT FROM $1)
                 FROM comments cm WHERE cm.persona_id = $1 AND cm.deleted_at IS NULL AND cm.created_at > $2
             )
             SELECT kind, text, (score + 2.5 * answers)::float8 AS landed FROM mine
             WHERE NOT downvoted AND score + 2.5 * answers > 0
             ORDER BY landed DESC, text
             LIMIT $3",
            &[(&persona_id, Type::UUID), (&since, Type::TIMESTAMPTZ), (&limit, Type::INT8)],
        )
        .await?;
    rows.iter()
        .map(|r| Ok(Written { kind: written_kind(r.try_get(0)?), text: r.try_get(1)?, downvoted: false }))
        .collect()
}

/// How well the persona's own posts did on each board since `since` (votes plus 2.5 × comments by
/// others, summed): the boards where what it posted landed.
pub async fn boards_that_landed(
    c: &impl GenericClient,
    persona_id: Uuid,
    since: DateTime<Utc>,
) -> Result<HashMap<Uuid, f64>, DbError> {
    let rows = c
        .query_typed(
            "SELECT po.board_id,
                    sum(coalesce((SELECT sum(v.value) FROM votes v WHERE v.post_id = po.id), 0)
                        + 2.5 * (SELECT count(*) FROM comments c WHERE c.post_id = po.id
                                   AND c.persona_id IS DISTINCT FROM $1))::float8
             FROM posts po WHERE po.persona_id = $1 AND po.status = 'PUBLISHED' AND po.created_at > $2
             GROUP BY po.board_id",
            &[(&persona_id, Type::UUID), (&since, Type::TIMESTAMPTZ)],
        )
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// A board as a session may post on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardRow {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Topics.
    pub topics: Vec<String>,
    /// Whether an operator opened it to video posts.
    pub takes_video: bool,
}

/// Every board, by name.
pub async fn boards(c: &impl GenericClient) -> Result<Vec<BoardRow>, DbError> {
    let rows = c
        .query_typed(
            "SELECT b.id, b.name, b.topics, v.board_id IS NOT NULL AS takes_video
             FROM boards b LEFT JOIN persona_board_video v ON v.board_id = b.id
             ORDER BY b.name, b.id",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(BoardRow { id: r.try_get(0)?, name: r.try_get(1)?, topics: r.try_get(2)?, takes_video: r.try_get(3)? })
        })
        .collect()
}

/// Whether the persona has an original post queued or running (one at a time).
pub async fn post_queued(c: &impl GenericClient, persona_id: Uuid, post_kinds: &[&str]) -> Result<bool, DbError> {
    let row = c
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM persona_task_queue WHERE persona_id = $1 AND task_type = ANY($2))",
            &[(&persona_id, Type::UUID), (&post_kinds, Type::TEXT_ARRAY)],
        )
        .await?;
    Ok(row.try_get(0)?)
}
