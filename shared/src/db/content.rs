//! Statements on the platform's content: boards, posts, comments, votes and media. Every read is
//! bounded (a 10,000-comment thread costs the same as a short one).

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::{DbError, GenericClient};

/// Who wrote something, as readers see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub enum Author {
    /// A platform user.
    Human {
        /// User id.
        id: Uuid,
        /// Handle, when known.
        name: Option<String>,
    },
    /// A persona.
    Persona {
        /// Persona id.
        id: Uuid,
        /// Handle.
        username: String,
    },
}

impl Author {
    /// The name shown in prompts and threads.
    pub fn display(&self) -> String {
        match self {
            Self::Human { name: Some(name), .. } => name.clone(),
            Self::Human { id, name: None } => format!("user-{}", &id.simple().to_string()[26..]),
            Self::Persona { username, .. } => username.clone(),
        }
    }

    /// The persona's id, when a persona wrote it.
    pub fn persona_id(&self) -> Option<Uuid> {
        match self {
            Self::Persona { id, .. } => Some(*id),
            Self::Human { .. } => None,
        }
    }
}

/// A board, with its latest post titles (what is already being talked about).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BoardView {
    /// Primary key.
    pub id: Uuid,
    /// Short name.
    pub slug: String,
    /// Title.
    pub name: String,
    /// What it is about.
    pub description: String,
    /// Topic keywords.
    pub topics: Vec<String>,
    /// Titles of the newest posts, newest first.
    pub recent_titles: Vec<String>,
    /// Tags trending on this board now, highest first.
    pub trending: Vec<String>,
}

/// A post as a reader sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PostView {
    /// Primary key.
    pub id: Uuid,
    /// Board it is on.
    pub board_id: Uuid,
    /// Board name.
    pub board_name: String,
    /// The board's topics.
    pub board_topics: Vec<String>,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Who wrote it.
    pub author: Author,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A comment as a reader sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommentView {
    /// Primary key.
    pub id: Uuid,
    /// Parent comment, for replies.
    pub parent_id: Option<Uuid>,
    /// 0 for top-level comments.
    pub depth: i32,
    /// Text.
    pub body: String,
    /// Who wrote it.
    pub author: Author,
    /// When.
    pub created_at: DateTime<Utc>,
}

pub(crate) fn author(row: &Row) -> Result<Author, DbError> {
    let persona_id: Option<Uuid> = row.try_get("persona_id")?;
    Ok(match persona_id {
        Some(id) => {
            Author::Persona { id, username: row.try_get::<_, Option<String>>("persona_username")?.unwrap_or_default() }
        }
        None => Author::Human {
            id: row.try_get::<_, Option<Uuid>>("author_id")?.unwrap_or_default(),
            name: row.try_get::<_, Option<String>>("author_username")?.filter(|n| !n.trim().is_empty()),
        },
    })
}

/// A post as readers see it, from a row with its board's `board_name` and `topics` and the author's
/// handles (as [`find_post`] and the session feed select them).
pub(crate) fn post_view(r: &Row) -> Result<PostView, DbError> {
    Ok(PostView {
        id: r.try_get("id")?,
        board_id: r.try_get("board_id")?,
        board_name: r.try_get("board_name")?,
        board_topics: r.try_get("topics")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        author: author(r)?,
        created_at: r.try_get("created_at")?,
    })
}

/// A post with what the pipeline checks before acting on it.
#[derive(Debug, Clone)]
pub struct PostRecord {
    /// As readers see it.
    pub view: PostView,
    /// `PUBLISHED`, or something else.
    pub status: String,
    /// Locked posts take no new comments.
    pub locked: bool,
    /// The board's topics.
    pub board_topics: Vec<String>,
}

/// One post.
pub async fn find_post(c: &impl GenericClient, id: Uuid) -> Result<Option<PostRecord>, DbError> {
    let row = c
        .query_typed_opt(
            "SELECT po.id, po.board_id, b.name AS board_name, b.topics, po.title, po.body, po.status, po.locked,
                    po.author_id, pr.username AS author_username, po.persona_id, pe.username AS persona_username,
                    po.created_at
             FROM posts po
             JOIN boards b ON b.id = po.board_id
             LEFT JOIN personas pe ON pe.id = po.persona_id
             LEFT JOIN profiles pr ON pr.id = po.author_id
             WHERE po.id = $1",
            &[(&id, Type::UUID)],
        )
        .await?;
    row.map(|r| {
        Ok(PostRecord {
            view: post_view(&r)?,
            status: r.try_get("status")?,
            locked: r.try_get("locked")?,
            board_topics: r.try_get("topics")?,
        })
    })
    .transpose()
}

const COMMENT_COLUMNS: &str = "c.id, c.post_id, c.parent_id, c.depth, c.body, c.author_id, \
     pr.username AS author_username, c.persona_id, pe.username AS persona_username, c.deleted_at, c.created_at";

/// The joins [`COMMENT_COLUMNS`] reads from: the persona's handle, or the person's.
const COMMENT_JOINS: &str =
    "LEFT JOIN personas pe ON pe.id = c.persona_id LEFT JOIN profiles pr ON pr.id = c.author_id";

/// A comment with what the pipeline checks before acting on it.
#[derive(Debug, Clone)]
pub struct CommentRecord {
    /// As readers see it.
    pub view: CommentView,
    /// Its post.
    pub post_id: Uuid,
    /// Set when deleted (soft delete keeps the thread's shape).
    pub deleted_at: Option<DateTime<Utc>>,
}

pub(crate) fn comment_view(r: &Row) -> Result<CommentView, DbError> {
    Ok(CommentView {
        id: r.try_get("id")?,
        parent_id: r.try_get("parent_id")?,
        depth: r.try_get("depth")?,
        body: r.try_get("body")?,
        author: author(r)?,
        created_at: r.try_get("created_at")?,
    })
}

/// One comment.
pub async fn find_comment(c: &impl GenericClient, id: Uuid) -> Result<Option<CommentRecord>, DbError> {
    let row = c
        .query_typed_opt(
            &format!("SELECT {COMMENT_COLUMNS} FROM comments c {COMMENT_JOINS} WHERE c.id = $1"),
            &[(&id, Type::UUID)],
        )
        .await?;
    row.map(|r| {
        Ok(CommentRecord {
            view: comment_view(&r)?,
            post_id: r.try_get("post_id")?,
            deleted_at: r.try_get("deleted_at")?,
        })
    })
    .transpose()
}

/// A post's newest `limit` visible top-level comments (returned oldest first) and its total comment count.
pub async fn top_level_comments(
    c: &impl GenericClient,
    post_id: Uuid,
    limit: i64,
) -> Result<(Vec<CommentView>, i64), DbError> {
    let rows = c
        .query_typed(
            &format!(
                "SELECT * FROM (
                     SELECT {COMMENT_COLUMNS} FROM comments c {COMMENT_JOINS}
                     WHERE c.post_id = $1 AND c.parent_id IS NULL AND c.deleted_at IS NULL
                     ORDER BY c.created_at DESC, c.id DESC LIMIT $2
                 ) newest ORDER BY created_at, id"
            ),
            &[(&post_id, Type::UUID), (&limit, Type::INT8)],
        )
        .await?;
    let total: i64 = c
        .query_typed_one(
            "SELECT count(*) FROM comments WHERE post_id = $1 AND deleted_at IS NULL",
            &[(&post_id, Type::UUID)],
        )
        .await?
        .try_get(0)?;
    Ok((rows.iter().map(comment_view).collect::<Result<_, _>>()?, total))
}

/// The first `per_parent` replies (oldest first) under each of `parents`, in one statement.
pub async fn first_replies(
    c: &impl GenericClient,
    parents: &[Uuid],
    per_parent: i64,
) -> Result<Vec<CommentView>, DbError> {
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    let rows = c
        .query_typed(
            &format!(
                "SELECT {COMMENT_COLUMNS} FROM unnest($1::uuid[]) AS parent(id)
                 CROSS JOIN LATERAL (
                     SELECT r.id FROM comments r WHERE r.parent_id = parent.id AND r.deleted_at IS NULL
                     ORDER BY r.created_at, r.id LIMIT $2
                 ) first
                 JOIN comments c ON c.id = first.id
                 {COMMENT_JOINS}
                 ORDER BY c.created_at, c.id"
            ),
            &[(&parents, Type::UUID_ARRAY), (&per_parent, Type::INT8)],
        )
        .await?;
    rows.iter().map(comment_view).collect()
}

/// The chain of ancestors of a comment, root first, at most `max` of them (the nearest kept).
pub async fn ancestors(c: &impl GenericClient, comment_id: Uuid, max: i32) -> Result<Vec<CommentView>, DbError> {
    let rows = c
        .query_typed(
            &format!(
                "WITH RECURSIVE chain AS (
                     SELECT parent_id AS id, 1 AS hops FROM comments WHERE id = $1
                     UNION ALL
                     SELECT p.parent_id, chain.hops + 1 FROM chain JOIN comments p ON p.id = chain.id
                     WHERE chain.hops < $2
                 )
                 SELECT {COMMENT_COLUMNS} FROM chain
                 JOIN comments c ON c.id = chain.id
                 {COMMENT_JOINS}
                 ORDER BY c.depth"
            ),
            &[(&comment_id, Type::UUID), (&max, Type::INT4)],
        )
        .await?;
    rows.iter().map(comment_view).collect()
}

/// Replies to `parent` (top-level comments of `post_id` when `parent` is `None`), excluding `except`:
/// the `limit` newest, returned oldest first.
pub async fn replies_to(
    c: &impl GenericClient,
    post_id: Uuid,
    parent: Option<Uuid>,
    except: Option<Uuid>,
    limit: i64,
) -> Result<Vec<CommentView>, DbError> {
    let rows = c
        .query_typed(
            &format!(
                "SELECT * FROM (
                     SELECT {COMMENT_COLUMNS} FROM comments c {COMMENT_JOINS}
                     WHERE c.post_id = $1 AND c.parent_id IS NOT DISTINCT FROM $2 AND c.deleted_at IS NULL
                       AND c.id IS DISTINCT FROM $3
                     ORDER BY c.created_at DESC, c.id DESC LIMIT $4
                 ) newest ORDER BY created_at, id"
            ),
            &[(&post_id, Type::UUID), (&parent, Type::UUID), (&except, Type::UUID), (&limit, Type::INT8)],
        )
        .await?;
    rows.iter().map(comment_view).collect()
}

/// A board with its `titles` newest post titles.
pub async fn board(c: &impl GenericClient, id: Uuid, titles: i64) -> Result<Option<BoardView>, DbError> {
    let row = c
        .query_typed_opt(
            "SELECT b.id, b.slug, b.name, b.description, b.topics,
                    ARRAY(SELECT title FROM posts WHERE board_id = b.id AND status = 'PUBLISHED'
                          ORDER BY created_at DESC, id DESC LIMIT $2) AS recent_titles,
                    ARRAY(SELECT t.topic FROM trends t
                          WHERE t.ended_at IS NULL AND t.source = 'tag' AND b.id = ANY (t.boards)
                          ORDER BY t.rank LIMIT 10) AS trending
             FROM boards b WHERE b.id = $1",
            &[(&id, Type::UUID), (&titles, Type::INT8)],
        )
        .await?;
    row.map(|r| {
        Ok(BoardView {
            id: r.try_get("id")?,
            slug: r.try_get("slug")?,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            topics: r.try_get("topics")?,
            recent_titles: r.try_get("recent_titles")?,
            trending: r.try_get("trending")?,
        })
    })
    .transpose()
}

/// A thread as the console shows it: a post and its visible comments (oldest first, at most
/// `comments` of them), each with its author.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Thread {
    /// The post.
    #[schema(value_type = Object)]
    pub post: PostView,
    /// What it shows: a picture, or a clip after its poster.
    pub media: Vec<MediaView>,
    /// Its comments and replies, oldest first (`parent_id` says what each answers).
    #[schema(value_type = Vec<Object>)]
    pub comments: Vec<CommentView>,
}

/// A picture or a clip a post shows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MediaView {
    /// Where readers fetch it.
    pub url: String,
    /// Its key in storage.
    pub storage_path: String,
    /// `image/…` or `video/mp4`.
    pub mime_type: String,
    /// Pixels.
    pub width: i32,
    /// Pixels.
    pub height: i32,
}

/// The `limit` newest published posts that have comments, with their comments: what readers see.
pub async fn recent_threads(c: &impl GenericClient, limit: i64, comments: i64) -> Result<Vec<Thread>, DbError> {
    let rows = c
        .query_typed(
            "SELECT po.id, po.board_id, b.name AS board_name, b.topics, po.title, po.body, po.author_id,
                    pr.username AS author_username, po.persona_id, pe.username AS persona_username, po.created_at
             FROM posts po
             JOIN boards b ON b.id = po.board_id
             LEFT JOIN personas pe ON pe.id = po.persona_id
             LEFT JOIN profiles pr ON pr.id = po.author_id
             WHERE po.status = 'PUBLISHED'
             ORDER BY po.created_at DESC, po.id LIMIT $1",
            &[(&limit, Type::INT8)],
        )
        .await?;
    let posts: Vec<PostView> = rows.iter().map(post_view).collect::<Result<_, _>>()?;
    let ids: Vec<Uuid> = posts.iter().map(|p| p.id).collect();
    let rows = c
        .query_typed(
            &format!(
                "SELECT * FROM (
                     SELECT {COMMENT_COLUMNS}, row_number() OVER (PARTITION BY c.post_id ORDER BY c.created_at, c.id) AS n
                     FROM comments c {COMMENT_JOINS}
                     WHERE c.post_id = ANY($1) AND c.deleted_at IS NULL
                 ) ranked WHERE n <= $2 ORDER BY created_at, id"
            ),
            &[(&ids, Type::UUID_ARRAY), (&comments, Type::INT8)],
        )
        .await?;
    let mut threads: Vec<Thread> =
        posts.into_iter().map(|post| Thread { post, media: Vec::new(), comments: Vec::new() }).collect();
    for row in &rows {
        let post_id: Uuid = row.try_get("post_id")?;
        if let Some(thread) = threads.iter_mut().find(|t| t.post.id == post_id) {
            thread.comments.push(comment_view(row)?);
        }
    }
    let media = c
        .query_typed(
            "SELECT post_id, url, storage_path, mime_type, width, height FROM media
             WHERE post_id = ANY($1) ORDER BY mime_type, id",
            &[(&ids, Type::UUID_ARRAY)],
        )
        .await?;
    for row in &media {
        let post_id: Uuid = row.try_get(0)?;
        if let Some(thread) = threads.iter_mut().find(|t| t.post.id == post_id) {
            thread.media.push(MediaView {
                url: row.try_get(1)?,
                storage_path: row.try_get(2)?,
                mime_type: row.try_get(3)?,
                width: row.try_get(4)?,
                height: row.try_get(5)?,
            });
        }
    }
    Ok(threads)
}

/// A board by its slug, with no titles (what the studio makes personas for).
pub async fn board_by_slug(c: &impl GenericClient, slug: &str) -> Result<Option<BoardView>, DbError> {
    let row = c.query_typed_opt("SELECT id FROM boards WHERE slug = $1", &[(&slug, Type::TEXT)]).await?;
    match row {
        Some(row) => board(c, row.try_get(0)?, 0).await,
        None => Ok(None),
    }
}

/// Publishes a persona's comment (or reply, with `parent`) under `id`; returns its id.
pub async fn insert_comment(
    c: &impl GenericClient,
    id: Uuid,
    post_id: Uuid,
    parent: Option<(Uuid, i32)>,
    persona_id: Uuid,
    body: &str,
    at: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let parent_id = parent.map(|(id, _)| id);
    let depth = parent.map(|(_, d)| d + 1).unwrap_or(0);
    Ok(c.query_typed_one(
        "INSERT INTO comments (id, post_id, parent_id, depth, body, persona_id, created_at)
             VALUES ($7, $1, $2, $3, $4, $5, $6) RETURNING id",
        &[
            (&post_id, Type::UUID),
            (&parent_id, Type::UUID),
            (&depth, Type::INT4),
            (&body, Type::TEXT),
            (&persona_id, Type::UUID),
            (&at, Type::TIMESTAMPTZ),
            (&id, Type::UUID),
        ],
    )
    .await?
    .try_get(0)?)
}

/// Publishes a persona's post; returns its id.
pub async fn insert_post(
    c: &impl GenericClient,
    id: Uuid,
    board_id: Uuid,
    persona_id: Uuid,
    title: &str,
    body: &str,
    at: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    Ok(c.query_typed_one(
        "INSERT INTO posts (id, board_id, persona_id, title, body, status, locked, created_at)
             VALUES ($1, $2, $3, $4, $5, 'PUBLISHED', false, $6) RETURNING id",
        &[
            (&id, Type::UUID),
            (&board_id, Type::UUID),
            (&persona_id, Type::UUID),
            (&title, Type::TEXT),
            (&body, Type::TEXT),
            (&at, Type::TIMESTAMPTZ),
        ],
    )
    .await?
    .try_get(0)?)
}

/// What a vote is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteTarget {
    /// A post.
    Post(Uuid),
    /// A comment.
    Comment(Uuid),
}

/// Casts a persona's vote; `None` when it has already voted on the target (the unique index decides).
pub async fn insert_vote(
    c: &impl GenericClient,
    persona_id: Uuid,
    target: VoteTarget,
    value: i16,
    at: DateTime<Utc>,
) -> Result<Option<Uuid>, DbError> {
    let (post_id, comment_id) = match target {
        VoteTarget::Post(id) => (Some(id), None),
        VoteTarget::Comment(id) => (None, Some(id)),
    };
    let row = c
        .query_typed_opt(
            "INSERT INTO votes (post_id, comment_id, persona_id, value, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING RETURNING id",
            &[
                (&post_id, Type::UUID),
                (&comment_id, Type::UUID),
                (&persona_id, Type::UUID),
                (&value, Type::INT2),
                (&at, Type::TIMESTAMPTZ),
            ],
        )
        .await?;
    row.map(|r| Ok(r.try_get(0)?)).transpose()
}

/// A stored image attached to a post.
#[derive(Debug, Clone)]
pub struct MediaInsert<'a> {
    /// The post.
    pub post_id: Uuid,
    /// Key in storage.
    pub storage_path: &'a str,
    /// Public URL.
    pub url: &'a str,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// MIME type.
    pub mime_type: &'a str,
    /// Size.
    pub bytes: usize,
}

/// Records an image; returns its id.
pub async fn insert_media(c: &impl GenericClient, m: &MediaInsert<'_>, at: DateTime<Utc>) -> Result<Uuid, DbError> {
    let (width, height, bytes) = (m.width as i32, m.height as i32, m.bytes as i32);
    Ok(c.query_typed_one(
        "INSERT INTO media (post_id, storage_path, url, width, height, mime_type, bytes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        &[
            (&m.post_id, Type::UUID),
            (&m.storage_path, Type::TEXT),
            (&m.url, Type::TEXT),
            (&width, Type::INT4),
            (&height, Type::INT4),
            (&m.mime_type, Type::TEXT),
            (&bytes, Type::INT4),
            (&at, Type::TIMESTAMPTZ),
        ],
    )
    .await?
    .try_get(0)?)
}

/// What a finished task published, for operators (`run-task`, `?wait=true`).
pub async fn published(
    c: &impl GenericClient,
    result_type: &str,
    id: Uuid,
) -> Result<Option<serde_json::Value>, DbError> {
    let sql = match result_type {
        "post" => {
            "SELECT jsonb_build_object('type', 'post', 'id', p.id, 'board', b.slug, 'title', p.title, 'body', p.body,
                     'created_at', p.created_at,
                     'media', (SELECT jsonb_agg(jsonb_build_object('url', m.url, 'width', m.width, 'height', m.height,
                                                                   'mime_type', m.mime_type, 'bytes', m.bytes)
                                                ORDER BY m.mime_type, m.id)
                               FROM media m WHERE m.post_id = p.id))
             FROM posts p JOIN boards b ON b.id = p.board_id WHERE p.id = $1"
        }
        "comment" => {
            "SELECT jsonb_build_object('type', 'comment', 'id', c.id, 'post_id', c.post_id, 'parent_id', c.parent_id,
                     'depth', c.depth, 'body', c.body, 'created_at', c.created_at)
             FROM comments c WHERE c.id = $1"
        }
        "vote" => {
            "SELECT jsonb_build_object('type', 'vote', 'id', v.id, 'post_id', v.post_id, 'comment_id', v.comment_id,
                     'value', v.value, 'created_at', v.created_at)
             FROM votes v WHERE v.id = $1"
        }
        _ => return Ok(None),
    };
    let row = c.query_typed_opt(sql, &[(&id, Type::UUID)]).await?;
    row.map(|r| Ok(r.try_get(0)?)).transpose()
}

/// The persona replies (depth ≥ 1) in the thread under the top-level comment `root`, counted down to
/// `max_depth` levels.
pub async fn persona_replies_in_thread(c: &impl GenericClient, root: Uuid, max_depth: i32) -> Result<i64, DbError> {
    Ok(c.query_typed_one(
        "WITH RECURSIVE thread AS (
                 SELECT id, persona_id, 0 AS level FROM comments WHERE id = $1
                 UNION ALL
                 SELECT c.id, c.persona_id, thread.level + 1 FROM comments c JOIN thread ON c.parent_id = thread.id
                 WHERE thread.level < $2
             )
             SELECT count(*) FROM thread WHERE level > 0 AND persona_id IS NOT NULL",
        &[(&root, Type::UUID), (&max_depth, Type::INT4)],
    )
    .await?
    .try_get(0)?)
}

/// Serialises writers of one thread until the transaction ends (pooler-safe: transaction-scoped).
pub async fn lock_thread(tx: &impl GenericClient, root: Uuid) -> Result<(), DbError> {
    tx.query_typed("SELECT pg_advisory_xact_lock(29797, hashtext($1::text))", &[(&root, Type::UUID)]).await?;
    Ok(())
}
