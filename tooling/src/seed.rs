//! Set-based inserts for seeding a world (the demo's, the simulator's, the benchmarks'). Every insert is
//! keyed on a deterministic id or a natural key and skips rows that exist, so seeding twice is a no-op.

use chrono::{DateTime, Utc};
use tokio_postgres::types::Type;
use uuid::Uuid;

use shared::db::{DbError, GenericClient};

/// A persona row to insert.
#[derive(Debug, Clone)]
pub struct PersonaRow {
    /// Primary key.
    pub id: Uuid,
    /// Unique handle.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Who they are.
    pub bio: String,
    /// How they write.
    pub voice: String,
    /// Character traits.
    pub traits: Vec<String>,
    /// Extra writing rules.
    pub modules: Vec<String>,
    /// Topics they care about.
    pub interests: Vec<String>,
    /// IANA time zone.
    pub timezone: String,
    /// Local hour they wake.
    pub active_hours_start: i16,
    /// Local hour they stop (24 = midnight; below start = past midnight).
    pub active_hours_end: i16,
    /// Texts in their own voice.
    pub voice_bank: Vec<String>,
    /// Notices what is trending.
    pub trend_aware: bool,
}

/// Records people's handles in the platform's `profiles`; returns how many were new.
pub async fn insert_profiles(c: &impl GenericClient, people: &[(Uuid, String)]) -> Result<u64, DbError> {
    let ids: Vec<Uuid> = people.iter().map(|(id, _)| *id).collect();
    let names: Vec<&str> = people.iter().map(|(_, name)| name.as_str()).collect();
    let inserted = c
        .query_typed(
            "INSERT INTO profiles (id, username) SELECT * FROM unnest($1::uuid[], $2::text[])
             ON CONFLICT DO NOTHING RETURNING id",
            &[(&ids, Type::UUID_ARRAY), (&names, Type::TEXT_ARRAY)],
        )
        .await?;
    Ok(inserted.len() as u64)
}

/// Inserts personas; returns how many were new.
pub async fn insert_personas(c: &impl GenericClient, rows: &[PersonaRow], now: DateTime<Utc>) -> Result<u64, DbError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let usernames: Vec<&str> = rows.iter().map(|r| r.username.as_str()).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.display_name.as_str()).collect();
    let bios: Vec<&str> = rows.iter().map(|r| r.bio.as_str()).collect();
    let voices: Vec<&str> = rows.iter().map(|r| r.voice.as_str()).collect();
    // Arrays of arrays cannot be unnested row by row, so list columns travel as one joined string each.
    let traits: Vec<String> = rows.iter().map(|r| r.traits.join("\u{1f}")).collect();
    let modules: Vec<String> = rows.iter().map(|r| r.modules.join("\u{1f}")).collect();
    let interests: Vec<String> = rows.iter().map(|r| r.interests.join("\u{1f}")).collect();
    let zones: Vec<&str> = rows.iter().map(|r| r.timezone.as_str()).collect();
    let starts: Vec<i16> = rows.iter().map(|r| r.active_hours_start).collect();
    let ends: Vec<i16> = rows.iter().map(|r| r.active_hours_end).collect();
    let banks: Vec<String> = rows.iter().map(|r| r.voice_bank.join("\u{1f}")).collect();
    let trend_aware: Vec<bool> = rows.iter().map(|r| r.trend_aware).collect();
    let inserted = c
        .query_typed(
            // The public profile in the platform's `personas`, the rest in the engine's `persona_private`.
            "WITH n AS (
                 SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $14)
                      AS n(id, username, display_name, bio, voice, traits, modules, interests, timezone, hs, he, bank,
                           trend_aware)),
             public_profile AS (
                 INSERT INTO personas (id, username, display_name, bio, is_active, created_at)
                 SELECT id, username, display_name, bio, true, $12 FROM n
                 ON CONFLICT DO NOTHING
                 RETURNING id)
             INSERT INTO persona_private (persona_id, voice, traits, modules, interests, timezone, active_hours_start,
                                          active_hours_end, voice_bank, trend_aware)
             SELECT n.id, voice,
                    coalesce(string_to_array(nullif(traits, ''), E'\\x1f'), '{}'), coalesce(string_to_array(nullif(modules, ''), E'\\x1f'), '{}'),
                    coalesce(string_to_array(nullif(interests, ''), E'\\x1f'), '{}'), timezone, hs, he,
                    coalesce(string_to_array(nullif(bank, ''), E'\\x1f'), '{}'), trend_aware
             FROM n JOIN public_profile USING (id)
             RETURNING persona_id",
            &[
                (&ids, Type::UUID_ARRAY),
                (&usernames, Type::TEXT_ARRAY),
                (&names, Type::TEXT_ARRAY),
                (&bios, Type::TEXT_ARRAY),
                (&voices, Type::TEXT_ARRAY),
                (&traits, Type::TEXT_ARRAY),
                (&modules, Type::TEXT_ARRAY),
                (&interests, Type::TEXT_ARRAY),
                (&zones, Type::TEXT_ARRAY),
                (&starts, Type::INT2_ARRAY),
                (&ends, Type::INT2_ARRAY),
                (&now, Type::TIMESTAMPTZ),
                (&banks, Type::TEXT_ARRAY),
                (&trend_aware, Type::BOOL_ARRAY),
            ],
        )
        .await?;
    Ok(inserted.len() as u64)
}

/// A board row to insert.
#[derive(Debug, Clone)]
pub struct BoardRow {
    /// Primary key.
    pub id: Uuid,
    /// Unique short name.
    pub slug: String,
    /// Title.
    pub name: String,
    /// What it is about.
    pub description: String,
    /// Topic keywords, matched against persona interests.
    pub topics: Vec<String>,
}

/// Inserts boards; returns how many were new.
pub async fn insert_boards(c: &impl GenericClient, rows: &[BoardRow], now: DateTime<Utc>) -> Result<u64, DbError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let slugs: Vec<&str> = rows.iter().map(|r| r.slug.as_str()).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    let descriptions: Vec<&str> = rows.iter().map(|r| r.description.as_str()).collect();
    let topics: Vec<String> = rows.iter().map(|r| r.topics.join("\u{1f}")).collect();
    let inserted = c
        .query_typed(
            "INSERT INTO boards (id, slug, name, description, topics, created_at)
             SELECT id, slug, name, description, coalesce(string_to_array(nullif(topics, ''), E'\\x1f'), '{}'), $6
             FROM unnest($1, $2, $3, $4, $5) AS n(id, slug, name, description, topics)
             ON CONFLICT DO NOTHING
             RETURNING id",
            &[
                (&ids, Type::UUID_ARRAY),
                (&slugs, Type::TEXT_ARRAY),
                (&names, Type::TEXT_ARRAY),
                (&descriptions, Type::TEXT_ARRAY),
                (&topics, Type::TEXT_ARRAY),
                (&now, Type::TIMESTAMPTZ),
            ],
        )
        .await?;
    Ok(inserted.len() as u64)
}

/// A post row to insert (human-authored when `persona_id` is `None`).
#[derive(Debug, Clone)]
pub struct PostRow {
    /// Primary key.
    pub id: Uuid,
    /// Board.
    pub board_id: Uuid,
    /// Human author.
    pub author_id: Option<Uuid>,
    /// Persona author.
    pub persona_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// Inserts published posts; returns how many were new.
pub async fn insert_posts(c: &impl GenericClient, rows: &[PostRow]) -> Result<u64, DbError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let boards: Vec<Uuid> = rows.iter().map(|r| r.board_id).collect();
    let authors: Vec<Option<Uuid>> = rows.iter().map(|r| r.author_id).collect();
    let personas: Vec<Option<Uuid>> = rows.iter().map(|r| r.persona_id).collect();
    let titles: Vec<&str> = rows.iter().map(|r| r.title.as_str()).collect();
    let bodies: Vec<&str> = rows.iter().map(|r| r.body.as_str()).collect();
    let created: Vec<DateTime<Utc>> = rows.iter().map(|r| r.created_at).collect();
    let inserted = c
        .query_typed(
            "INSERT INTO posts (id, board_id, author_id, persona_id, title, body, status, locked, created_at)
             SELECT id, board_id, author_id, persona_id, title, body, 'PUBLISHED', false, created_at
             FROM unnest($1, $2, $3, $4, $5, $6, $7) AS n(id, board_id, author_id, persona_id, title, body, created_at)
             ON CONFLICT DO NOTHING
             RETURNING id",
            &[
                (&ids, Type::UUID_ARRAY),
                (&boards, Type::UUID_ARRAY),
                (&authors, Type::UUID_ARRAY),
                (&personas, Type::UUID_ARRAY),
                (&titles, Type::TEXT_ARRAY),
                (&bodies, Type::TEXT_ARRAY),
                (&created, Type::TIMESTAMPTZ_ARRAY),
            ],
        )
        .await?;
    Ok(inserted.len() as u64)
}

/// A comment row to insert (human-authored when `persona_id` is `None`).
#[derive(Debug, Clone)]
pub struct CommentRow {
    /// Primary key.
    pub id: Uuid,
    /// Post.
    pub post_id: Uuid,
    /// Parent comment, for replies.
    pub parent_id: Option<Uuid>,
    /// 0 for top-level comments.
    pub depth: i32,
    /// Text.
    pub body: String,
    /// Human author.
    pub author_id: Option<Uuid>,
    /// Persona author.
    pub persona_id: Option<Uuid>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// Inserts comments (parents and children may come in the same call); returns how many were new.
pub async fn insert_comments(c: &impl GenericClient, rows: &[CommentRow]) -> Result<u64, DbError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let posts: Vec<Uuid> = rows.iter().map(|r| r.post_id).collect();
    let parents: Vec<Option<Uuid>> = rows.iter().map(|r| r.parent_id).collect();
    let depths: Vec<i32> = rows.iter().map(|r| r.depth).collect();
    let bodies: Vec<&str> = rows.iter().map(|r| r.body.as_str()).collect();
    let authors: Vec<Option<Uuid>> = rows.iter().map(|r| r.author_id).collect();
    let personas: Vec<Option<Uuid>> = rows.iter().map(|r| r.persona_id).collect();
    let created: Vec<DateTime<Utc>> = rows.iter().map(|r| r.created_at).collect();
    let inserted = c
        .query_typed(
            "INSERT INTO comments (id, post_id, parent_id, depth, body, author_id, persona_id, created_at)
             SELECT id, post_id, parent_id, depth, body, author_id, persona_id, created_at
             FROM unnest($1, $2, $3, $4, $5, $6, $7, $8)
                  AS n(id, post_id, parent_id, depth, body, author_id, persona_id, created_at)
             ON CONFLICT DO NOTHING
             RETURNING id",
            &[
                (&ids, Type::UUID_ARRAY),
                (&posts, Type::UUID_ARRAY),
                (&parents, Type::UUID_ARRAY),
                (&depths, Type::INT4_ARRAY),
                (&bodies, Type::TEXT_ARRAY),
                (&authors, Type::UUID_ARRAY),
                (&personas, Type::UUID_ARRAY),
                (&created, Type::TIMESTAMPTZ_ARRAY),
            ],
        )
        .await?;
    Ok(inserted.len() as u64)
}
