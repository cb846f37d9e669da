//! Video posts' own rows: which boards take video and within what bounds (`persona_board_video`), and
//! every published clip (`persona_video_clips`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{DbError, GenericClient, Type};

/// How a board takes video.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BoardVideo {
    /// The longest clip, in seconds.
    pub max_seconds: i16,
    /// The frame shapes it takes (`16:9`, `9:16`).
    pub aspect_ratios: Vec<String>,
}

/// How `board_id` takes video; `None` when it takes none.
pub async fn board_video(c: &impl GenericClient, board_id: Uuid) -> Result<Option<BoardVideo>, DbError> {
    let row = c
        .query_typed_opt(
            "SELECT max_seconds, aspect_ratios FROM persona_board_video WHERE board_id = $1",
            &[(&board_id, Type::UUID)],
        )
        .await?;
    row.map(|r| Ok(BoardVideo { max_seconds: r.try_get(0)?, aspect_ratios: r.try_get(1)? })).transpose()
}

/// Opens the board with slug `slug` to video within `video`'s bounds (or changes them); `None` when there
/// is no such board.
pub async fn open_board(
    c: &impl GenericClient,
    slug: &str,
    video: &BoardVideo,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbError> {
    let row = c
        .query_typed_opt(
            "INSERT INTO persona_board_video (board_id, max_seconds, aspect_ratios, created_at)
             SELECT id, $2, $3, $4 FROM boards WHERE slug = $1
             ON CONFLICT (board_id) DO UPDATE SET max_seconds = EXCLUDED.max_seconds,
                                                  aspect_ratios = EXCLUDED.aspect_ratios
             RETURNING board_id",
            &[
                (&slug, Type::TEXT),
                (&video.max_seconds, Type::INT2),
                (&video.aspect_ratios, Type::TEXT_ARRAY),
                (&now, Type::TIMESTAMPTZ),
            ],
        )
        .await?;
    row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
}

/// Closes the board with slug `slug` to new video posts; whether it was open.
pub async fn close_board(c: &impl GenericClient, slug: &str) -> Result<bool, DbError> {
    let row = c
        .query_typed_opt(
            "DELETE FROM persona_board_video v USING boards b WHERE b.id = v.board_id AND b.slug = $1
             RETURNING v.board_id",
            &[(&slug, Type::TEXT)],
        )
        .await?;
    Ok(row.is_some())
}

/// Clips `persona_id` published since `since`.
pub async fn clips_since(c: &impl GenericClient, persona_id: Uuid, since: DateTime<Utc>) -> Result<i64, DbError> {
    Ok(c.query_typed_one(
        "SELECT count(*) FROM persona_video_clips WHERE persona_id = $1 AND created_at > $2",
        &[(&persona_id, Type::UUID), (&since, Type::TIMESTAMPTZ)],
    )
    .await?
    .try_get(0)?)
}

/// A published clip.
#[derive(Debug, Clone)]
pub struct ClipInsert<'a> {
    /// Its post.
    pub post_id: Uuid,
    /// Who posted it.
    pub persona_id: Uuid,
    /// The task that made it.
    pub task_id: Uuid,
    /// Its row in `media`.
    pub clip_media_id: Uuid,
    /// Its poster's row in `media`.
    pub poster_media_id: Uuid,
    /// Its length.
    pub duration_ms: u32,
    /// `16:9` or `9:16`.
    pub aspect_ratio: &'a str,
    /// The model that made it.
    pub model: &'a str,
    /// What it cost, micro-USD.
    pub cost_micros: u64,
}

/// Records a published clip.
pub async fn insert_clip(c: &impl GenericClient, clip: &ClipInsert<'_>, now: DateTime<Utc>) -> Result<(), DbError> {
    let duration = i32::try_from(clip.duration_ms).unwrap_or(i32::MAX);
    let cost = i64::try_from(clip.cost_micros).unwrap_or(i64::MAX);
    c.query_typed(
        "INSERT INTO persona_video_clips (post_id, persona_id, task_id, clip_media_id, poster_media_id, duration_ms,
                                          aspect_ratio, model, cost_micros, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            (&clip.post_id, Type::UUID),
            (&clip.persona_id, Type::UUID),
            (&clip.task_id, Type::UUID),
            (&clip.clip_media_id, Type::UUID),
            (&clip.poster_media_id, Type::UUID),
            (&duration, Type::INT4),
            (&clip.aspect_ratio, Type::TEXT),
            (&clip.model, Type::TEXT),
            (&cost, Type::INT8),
            (&now, Type::TIMESTAMPTZ),
        ],
    )
    .await?;
    Ok(())
}
