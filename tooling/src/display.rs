//! Reads for showing the platform as a person would read it (the demo) and for observing it (the
//! simulator). Every read is bounded.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use tokio_postgres::types::Type;
use uuid::Uuid;

use shared::ai::ModelClass;
use shared::db::{DbError, GenericClient};

/// Who wrote something, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writer {
    /// A persona: handle and name.
    Persona {
        /// Handle.
        username: String,
        /// Shown name.
        display_name: String,
    },
    /// A platform user.
    Human(Uuid),
}

fn writer(row: &Row) -> Result<Writer, DbError> {
    Ok(match row.try_get::<_, Option<String>>("username")? {
        Some(username) => Writer::Persona { username, display_name: row.try_get("display_name")? },
        None => Writer::Human(row.try_get::<_, Option<Uuid>>("author_id")?.unwrap_or_default()),
    })
}

/// A post for display.
#[derive(Debug, Clone)]
pub struct ShownPost {
    /// Id.
    pub id: Uuid,
    /// Board name.
    pub board: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Author.
    pub writer: Writer,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Sum of votes.
    pub score: i64,
    /// Comments.
    pub comments: i64,
    /// The image or clip (a clip before its poster), if any: URL, width, height, MIME type.
    pub image: Option<(String, i32, i32, String)>,
    /// Its tags, alphabetical.
    pub tags: Vec<String>,
}

/// A comment for display.
#[derive(Debug, Clone)]
pub struct ShownComment {
    /// Id.
    pub id: Uuid,
    /// Parent, for replies.
    pub parent_id: Option<Uuid>,
    /// Nesting.
    pub depth: i32,
    /// Text.
    pub body: String,
    /// Author.
    pub writer: Writer,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Sum of votes.
    pub score: i64,
}

/// For each task scheduled in `(since, until]` that reached the model or was settled without it: its
/// kind and the estimated input tokens of its prompt (`None` when decided without a model), from the
/// task's decisions.
pub async fn prompt_tokens(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(String, Option<i64>)>, DbError> {
    let rows = c
        .query_typed(
            "SELECT t.task_type, (d->>'input_tokens_estimate')::int8
             FROM persona_tasks t CROSS JOIN LATERAL jsonb_array_elements(t.decisions) d
             WHERE t.scheduled_at > $1 AND t.scheduled_at <= $2
               AND (d->>'stage' = 'prompt' OR (d->>'stage' = 'decide' AND d->>'verdict' = 'without_model'))",
            &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// One task's work with the model, as its decisions record it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelWork {
    /// Its kind.
    pub kind: String,
    /// It published something (a post, a comment, a vote).
    pub published: bool,
    /// Estimated input tokens of its prompt; `None` when no model was asked.
    pub input_tokens: Option<i64>,
    /// Estimated output tokens of the answer used.
    pub output_tokens: Option<i64>,
    /// Answers asked for (1, or 2 when the first was regenerated).
    pub attempts: i64,
    /// The length of the clip it published, in milliseconds (video posts).
    pub clip_ms: Option<i32>,
    /// The class of model its prompt asked for.
    pub class: Option<ModelClass>,
    /// Estimated tokens of its prompt's stable prefix (the persona's system turn).
    pub prefix_tokens: Option<i64>,
    /// It published the text its session wrote ahead, without a call of its own.
    pub written_ahead: bool,
}

/// Each clip published in `(since, until]`, in the order they were: how many times the worker looked at
/// the provider's operation (one for each time the task waited: after the submission and after every look
/// that found the clip still being made) and the minutes from the submission to publication.
pub async fn clips(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(i64, f64)>, DbError> {
    let rows = c
        .query_typed(
            "SELECT (SELECT count(*) FROM jsonb_array_elements(t.decisions) d
                     WHERE d->>'stage' = 'render' AND d->>'verdict' = 'waiting'),
                    extract(epoch FROM v.created_at - (SELECT min((d->>'at')::timestamptz)
                                                       FROM jsonb_array_elements(t.decisions) d
                                                       WHERE d->>'stage' = 'render'))::float8 / 60
             FROM persona_video_clips v JOIN persona_tasks t ON t.id = v.task_id
             WHERE v.created_at > $1 AND v.created_at <= $2
             ORDER BY v.created_at, v.post_id",
            &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)],
        )
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get::<_, Option<f64>>(1)?.unwrap_or(0.0)))).collect()
}

/// Every finished task scheduled in `(since, until]` with what it asked of the model.
pub async fn model_work(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<ModelWork>, DbError> {
    let rows = c
        .query_typed(
            "SELECT t.task_type, t.status = 'DONE' AND t.result_id IS NOT NULL,
                    (SELECT max((d->>'input_tokens_estimate')::int8) FROM jsonb_array_elements(t.decisions) d
                     WHERE d->>'stage' = 'prompt'),
                    (SELECT max((d->>'output_tokens_estimate')::int8) FROM jsonb_array_elements(t.decisions) d
                     WHERE d->>'stage' = 'composed'),
                    (SELECT max((d->>'attempts')::int8) FROM jsonb_array_elements(t.decisions) d
                     WHERE d->>'stage' = 'composed'),
                    (SELECT 1 + count(*) FROM jsonb_array_elements(t.decisions) d
                     WHERE d->>'stage' = 'gate' AND d->>'verdict' = 'regenerate'),
                    (SELECT v.duration_ms FROM persona_video_clips v WHERE v.task_id = t.id),
                    (SELECT max(d->>'class') FROM jsonb_array_elements(t.decisions) d WHERE d->>'stage' = 'prompt'),
                    (SELECT max((d->>'prefix_tokens_estimate')::int8) FROM jsonb_array_elements(t.decisions) d
                     WHERE d->>'stage' = 'prompt'),
                    EXISTS (SELECT 1 FROM jsonb_array_elements(t.decisions) d
                            WHERE d->>'stage' = 'session_text' AND d->>'verdict' = 'used')
             FROM persona_tasks t
             WHERE t.scheduled_at > $1 AND t.scheduled_at <= $2 AND t.status IN ('DONE', 'SKIPPED', 'FAILED')
             -- In one order every time: the report sums floats over these rows.
             ORDER BY t.scheduled_at, t.id",
            &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let input_tokens: Option<i64> = r.try_get(2)?;
            Ok(ModelWork {
                kind: r.try_get(0)?,
                published: r.try_get::<_, Option<bool>>(1)?.unwrap_or(false),
                input_tokens,
                output_tokens: r.try_get(3)?,
                // A prompt with no usable answer was still paid: once, and once more for each answer
                // the gate sent back.
                attempts: match (r.try_get::<_, Option<i64>>(4)?, input_tokens) {
                    (Some(attempts), _) => attempts,
                    (None, Some(_)) => r.try_get(5)?,
                    (None, None) => 0,
                },
                clip_ms: r.try_get(6)?,
                class: r.try_get::<_, Option<String>>(7)?.as_deref().and_then(ModelClass::from_name),
                prefix_tokens: r.try_get(8)?,
                written_ahead: r.try_get(9)?,
            })
        })
        .collect()
}

/// The `limit` threads that saw the most life in `[active_since, until]` (new comments, or the post itself
/// written then) among posts written in `[since, until]`; then the busiest of the rest. A short run shows
/// what happened during it rather than the seeded threads it started with.
pub async fn liveliest_posts(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    active_since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ShownPost>, DbError> {
    let rows = c
        .query_typed(
            "SELECT p.id, b.name AS board, p.title, p.body, p.author_id, pe.username, pe.display_name, p.created_at,
                    coalesce((SELECT sum(v.value) FROM votes v WHERE v.post_id = p.id), 0)::int8 AS score,
                    (SELECT count(*) FROM comments c WHERE c.post_id = p.id AND c.deleted_at IS NULL) AS comments,
                    (SELECT count(*) FROM comments c
                     WHERE c.post_id = p.id AND c.deleted_at IS NULL AND c.created_at >= $3)
                      + (p.created_at >= $3)::int AS lively,
                    m.url, m.width, m.height, m.mime_type,
                    ARRAY(SELECT t.tag FROM post_tags t WHERE t.post_id = p.id ORDER BY t.tag) AS tags
             FROM posts p
             JOIN boards b ON b.id = p.board_id
             LEFT JOIN personas pe ON pe.id = p.persona_id
             LEFT JOIN LATERAL (SELECT url, width, height, mime_type FROM media WHERE post_id = p.id
                                ORDER BY mime_type LIKE 'video/%' DESC, id LIMIT 1) m ON true
             WHERE p.status = 'PUBLISHED' AND p.created_at BETWEEN $1 AND $2
             ORDER BY lively DESC, comments DESC, score DESC, p.created_at
             LIMIT $4",
            &[
                (&since, Type::TIMESTAMPTZ),
                (&until, Type::TIMESTAMPTZ),
                (&active_since, Type::TIMESTAMPTZ),
                (&limit, Type::INT8),
            ],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let url: Option<String> = r.try_get("url")?;
            Ok(ShownPost {
                id: r.try_get("id")?,
                board: r.try_get("board")?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
                writer: writer(r)?,
                created_at: r.try_get("created_at")?,
                score: r.try_get("score")?,
                comments: r.try_get("comments")?,
                image: match url {
                    Some(url) => Some((url, r.try_get("width")?, r.try_get("height")?, r.try_get("mime_type")?)),
                    None => None,
                },
                tags: r.try_get("tags")?,
            })
        })
        .collect()
}

/// A post's comments in the order they were written, at most `limit`.
pub async fn comments_of(c: &impl GenericClient, post_id: Uuid, limit: i64) -> Result<Vec<ShownComment>, DbError> {
    let rows = c
        .query_typed(
            "SELECT c.id, c.parent_id, c.depth, c.body, c.author_id, pe.username, pe.display_name, c.created_at,
                    coalesce((SELECT sum(v.value) FROM votes v WHERE v.comment_id = c.id), 0)::int8 AS score
             FROM comments c LEFT JOIN personas pe ON pe.id = c.persona_id
             WHERE c.post_id = $1 AND c.deleted_at IS NULL
             ORDER BY c.created_at, c.id
             LIMIT $2",
            &[(&post_id, Type::UUID), (&limit, Type::INT8)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ShownComment {
                id: r.try_get("id")?,
                parent_id: r.try_get("parent_id")?,
                depth: r.try_get("depth")?,
                body: r.try_get("body")?,
                writer: writer(r)?,
                created_at: r.try_get("created_at")?,
                score: r.try_get("score")?,
            })
        })
        .collect()
}

/// A persona's comment written in a window (for the simulated humans to answer).
#[derive(Debug, Clone)]
pub struct PersonaComment {
    /// The comment.
    pub id: Uuid,
    /// Its post.
    pub post_id: Uuid,
    /// Its depth.
    pub depth: i32,
    /// Its text.
    pub body: String,
}

/// Persona comments written in `(after, until]`, oldest first, at most `limit`.
pub async fn persona_comments_between(
    c: &impl GenericClient,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<PersonaComment>, DbError> {
    let rows = c
        .query_typed(
            "SELECT id, post_id, depth, body FROM comments
             WHERE persona_id IS NOT NULL AND created_at > $1 AND created_at <= $2 AND deleted_at IS NULL
             ORDER BY created_at, id LIMIT $3",
            &[(&after, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ), (&limit, Type::INT8)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(PersonaComment { id: r.try_get(0)?, post_id: r.try_get(1)?, depth: r.try_get(2)?, body: r.try_get(3)? })
        })
        .collect()
}

/// Content created in `(after, until]`: posts, top-level comments, replies, votes (by personas) and
/// rows written by humans.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Created {
    /// Persona posts.
    pub posts: i64,
    /// Persona top-level comments.
    pub comments: i64,
    /// Persona replies.
    pub replies: i64,
    /// Persona votes.
    pub votes: i64,
    /// Human posts and comments.
    pub human: i64,
}

/// Counts what was created in `(after, until]`.
pub async fn created_between(
    c: &impl GenericClient,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Created, DbError> {
    let row = c
        .query_typed_one(
            "SELECT (SELECT count(*) FROM posts WHERE persona_id IS NOT NULL AND created_at > $1 AND created_at <= $2),
                    (SELECT count(*) FROM comments WHERE persona_id IS NOT NULL AND parent_id IS NULL AND created_at > $1 AND created_at <= $2),
                    (SELECT count(*) FROM comments WHERE persona_id IS NOT NULL AND parent_id IS NOT NULL AND created_at > $1 AND created_at <= $2),
                    (SELECT count(*) FROM votes WHERE persona_id IS NOT NULL AND created_at > $1 AND created_at <= $2),
                    (SELECT count(*) FROM posts WHERE author_id IS NOT NULL AND created_at > $1 AND created_at <= $2)
                  + (SELECT count(*) FROM comments WHERE author_id IS NOT NULL AND created_at > $1 AND created_at <= $2)",
            &[(&after, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)],
        )
        .await?;
    Ok(Created {
        posts: row.try_get(0)?,
        comments: row.try_get(1)?,
        replies: row.try_get(2)?,
        votes: row.try_get(3)?,
        human: row.try_get(4)?,
    })
}

/// Minutes from each post's publication (in `[since, until]`) to its first persona comment; posts no
/// persona commented on are left out.
pub async fn first_comment_delays(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<f64>, DbError> {
    let rows = c
        .query_typed(
            "SELECT extract(epoch FROM min(c.created_at) - p.created_at)::float8 / 60
             FROM posts p JOIN comments c ON c.post_id = p.id AND c.persona_id IS NOT NULL AND c.parent_id IS NULL
             WHERE p.created_at BETWEEN $1 AND $2
             GROUP BY p.id, p.created_at",
            &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// The deepest reply under each top-level comment written in `[since, until]` (0: no replies).
pub async fn thread_depths(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<i32>, DbError> {
    let rows = c
        .query_typed(
            "WITH RECURSIVE thread AS (
                 SELECT id AS root, id, 0 AS depth FROM comments
                 WHERE parent_id IS NULL AND created_at BETWEEN $1 AND $2
                 UNION ALL
                 SELECT thread.root, c.id, thread.depth + 1 FROM comments c JOIN thread ON c.parent_id = thread.id
                 WHERE thread.depth < 50
             )
             SELECT max(depth) FROM thread GROUP BY root",
            &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Comments (by anyone) written in `[since, until]`: how many, and how many never got a reply.
pub async fn unanswered_comments(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(i64, i64), DbError> {
    count_pair(
        c,
        "SELECT count(*),
                    count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM comments r
                                                      WHERE r.parent_id = c.id AND r.deleted_at IS NULL))
             FROM comments c
             WHERE c.deleted_at IS NULL AND c.created_at BETWEEN $1 AND $2",
        since,
        until,
    )
    .await
}

/// People's comments answering a persona (a reply to its comment, or a top-level comment on its post)
/// written in `[since, until]`: how many, and how many that persona answered.
pub async fn reciprocity(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(i64, i64), DbError> {
    count_pair(
        c,
        "WITH owed AS (
                 SELECT h.id, CASE WHEN h.parent_id IS NULL THEN p.persona_id ELSE parent.persona_id END AS persona_id
                 FROM comments h
                 JOIN posts p ON p.id = h.post_id
                 LEFT JOIN comments parent ON parent.id = h.parent_id
                 WHERE h.author_id IS NOT NULL AND h.created_at BETWEEN $1 AND $2
             )
             SELECT count(*),
                    count(*) FILTER (WHERE EXISTS (SELECT 1 FROM comments a
                                                  WHERE a.parent_id = owed.id AND a.persona_id = owed.persona_id))
             FROM owed WHERE persona_id IS NOT NULL",
        since,
        until,
    )
    .await
}

/// Personas' answers to people published in `[since, until]`, and how many of them a session of the
/// persona's own chose (the answer's task names a `browse` task as its origin).
pub async fn answers_to_people(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(i64, i64), DbError> {
    count_pair(
        c,
        "SELECT count(*), count(*) FILTER (WHERE o.task_type = 'browse')
         FROM comments a
         JOIN comments h ON h.id = a.parent_id AND h.author_id IS NOT NULL
         LEFT JOIN persona_tasks t ON t.result_id = a.id AND t.task_type = 'reply'
         LEFT JOIN persona_tasks o ON o.id = t.origin_task_id
         WHERE a.persona_id IS NOT NULL AND a.created_at BETWEEN $1 AND $2",
        since,
        until,
    )
    .await
}

/// Personas' votes cast in `(since, until]`.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct PersonaVotes {
    /// All of them.
    pub all: i64,
    /// Down.
    pub down: i64,
    /// On comments (the rest are on posts).
    pub on_comments: i64,
    /// On the persona's own post or comment (never, by design).
    pub on_own: i64,
}

/// How personas voted in `(since, until]`.
pub async fn persona_votes(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<PersonaVotes, DbError> {
    let row = c
        .query_typed_one(
            "SELECT count(*), count(*) FILTER (WHERE v.value < 0), count(*) FILTER (WHERE v.comment_id IS NOT NULL),
                    count(*) FILTER (WHERE p.persona_id = v.persona_id OR cm.persona_id = v.persona_id)
             FROM votes v
             LEFT JOIN posts p ON p.id = v.post_id
             LEFT JOIN comments cm ON cm.id = v.comment_id
             WHERE v.persona_id IS NOT NULL AND v.created_at > $1 AND v.created_at <= $2",
            &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)],
        )
        .await?;
    Ok(PersonaVotes {
        all: row.try_get(0)?,
        down: row.try_get(1)?,
        on_comments: row.try_get(2)?,
        on_own: row.try_get(3)?,
    })
}

/// The personas' first answers to each of the comments `asked` (people's comments, by id): the
/// question's id and the answer's text. A question nobody answered has no row.
pub async fn persona_answers_to(c: &impl GenericClient, asked: &[Uuid]) -> Result<Vec<(Uuid, String)>, DbError> {
    let rows = c
        .query_typed(
            "SELECT DISTINCT ON (a.parent_id) a.parent_id, a.body
             FROM comments a
             WHERE a.parent_id = ANY($1) AND a.persona_id IS NOT NULL
             ORDER BY a.parent_id, a.created_at",
            &[(&asked, Type::UUID_ARRAY)],
        )
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Sessions (`browse` tasks done, scheduled in `(since, until]`) and how many chose nothing.
pub async fn sessions(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(i64, i64), DbError> {
    count_pair(
        c,
        "SELECT count(*),
                    count(*) FILTER (WHERE decisions @> '[{\"stage\": \"session\", \"verdict\": \"nothing\"}]'
                                        OR decisions @> '[{\"stage\": \"decide\"}]')
             FROM persona_tasks WHERE task_type = 'browse' AND status = 'DONE' AND scheduled_at > $1 AND scheduled_at <= $2",
        since,
        until,
    )
    .await
}

/// Relationships with an interaction in `(since, until]`.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Relationships {
    /// All of them.
    pub all: i64,
    /// Warm (affinity above 0.2).
    pub warm: i64,
    /// Cold (below −0.2).
    pub cold: i64,
    /// Friends: affinity 0.5 or more, after at least three interactions.
    pub friends: i64,
    /// Rivals: affinity −0.5 or less, after at least three interactions.
    pub rivals: i64,
}

/// The relationships that saw an interaction in `(since, until]`.
pub async fn relationships(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Relationships, DbError> {
    let row = c
        .query_typed_one(
            "SELECT count(*), count(*) FILTER (WHERE affinity > 0.2), count(*) FILTER (WHERE affinity < -0.2),
                    count(*) FILTER (WHERE affinity >= 0.5 AND interactions >= 3),
                    count(*) FILTER (WHERE affinity <= -0.5 AND interactions >= 3)
             FROM persona_relationships WHERE last_interaction_at > $1 AND last_interaction_at <= $2",
            &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)],
        )
        .await?;
    Ok(Relationships {
        all: row.try_get(0)?,
        warm: row.try_get(1)?,
        cold: row.try_get(2)?,
        friends: row.try_get(3)?,
        rivals: row.try_get(4)?,
    })
}

/// Persona posts of `[since, until]` that someone else commented on, and how many of those the author
/// came back to (commented in after the first comment by someone else).
pub async fn authors_return(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(i64, i64), DbError> {
    count_pair(
        c,
        "WITH joined AS (
                 SELECT p.id, p.persona_id,
                        (SELECT min(c.created_at) FROM comments c
                         WHERE c.post_id = p.id AND c.persona_id IS DISTINCT FROM p.persona_id) AS first_other
                 FROM posts p WHERE p.persona_id IS NOT NULL AND p.created_at BETWEEN $1 AND $2
             )
             SELECT count(*),
                    count(*) FILTER (WHERE EXISTS (SELECT 1 FROM comments c WHERE c.post_id = joined.id
                                                   AND c.persona_id = joined.persona_id
                                                   AND c.created_at > joined.first_other))
             FROM joined WHERE first_other IS NOT NULL",
        since,
        until,
    )
    .await
}

/// Every persona action (memory) in `[since, until]`: handle, action, when — ordered by persona and time.
pub async fn persona_actions(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(String, String, DateTime<Utc>)>, DbError> {
    let rows = c
        .query_typed(
            "SELECT p.username, m.action_type, m.created_at FROM persona_memory m JOIN personas p ON p.id = m.persona_id
             WHERE m.action_type <> 'viewed' AND m.created_at BETWEEN $1 AND $2
             ORDER BY p.username, m.created_at",
            &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)],
        )
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

/// Runs `sql`, which counts two things over `[$1, $2]` in one row.
async fn count_pair(
    c: &impl GenericClient,
    sql: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(i64, i64), DbError> {
    let row = c.query_typed_one(sql, &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)]).await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}
