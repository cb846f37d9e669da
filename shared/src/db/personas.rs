//! Statements on `personas` and the persona's activity.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::{DbError, GenericClient};

/// A persona's profile.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Persona {
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
    /// Extra writing rules ("modules").
    pub modules: Vec<String>,
    /// Topics they care about.
    pub interests: Vec<String>,
    /// IANA time zone.
    pub timezone: String,
    /// Local hour they wake.
    pub active_hours_start: i16,
    /// Local hour they stop.
    pub active_hours_end: i16,
    /// Paused personas do nothing.
    pub is_active: bool,
    /// Texts in its own voice, of different lengths and kinds: the core of its few-shot examples.
    pub voice_bank: Vec<String>,
    /// Its picture, where readers fetch it.
    pub avatar_url: Option<String>,
    /// How it looks, in 100–200 words: put into the prompt of its own pictures that show it.
    pub character_reference: Option<String>,
    /// How often it comes by; unset, it is drawn from its id.
    pub chattiness: Option<Chattiness>,
    /// How it votes; unset, it follows from its character.
    pub voting_temperament: Option<Temperament>,
    /// Whether it notices what is trending: its post prompts offer the trending topics that fit the
    /// board and its interests, and its sessions see which feed items are trending.
    pub trend_aware: bool,
}

/// How often a persona comes by: the centre of its sessions a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Chattiness {
    /// Reads a lot, rarely says anything: about one session every other day.
    Lurker,
    /// Drops in a couple of times a day.
    Occasional,
    /// On most days, several times.
    Regular,
    /// Always around.
    VeryActive,
}

impl Chattiness {
    /// Every value, quietest first.
    pub const ALL: [Chattiness; 4] = [Self::Lurker, Self::Occasional, Self::Regular, Self::VeryActive];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lurker => "lurker",
            Self::Occasional => "occasional",
            Self::Regular => "regular",
            Self::VeryActive => "very_active",
        }
    }

    /// From its stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// How a persona votes when nothing else decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Temperament {
    /// Upvotes freely, almost never downvotes.
    Generous,
    /// Votes when something stands out either way.
    Balanced,
    /// Upvotes only what earns it; downvotes low effort.
    Critical,
}

impl Temperament {
    /// Every value.
    pub const ALL: [Temperament; 3] = [Self::Generous, Self::Balanced, Self::Critical];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generous => "generous",
            Self::Balanced => "balanced",
            Self::Critical => "critical",
        }
    }

    /// From its stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// A persona as the engine sees it: the public profile from the platform's `personas`, the rest from the
/// engine's own `persona_private` (the web roles cannot read it). A persona the web app made without
/// a private row gets the defaults the migration gives.
const COLUMNS: &str = "p.id, p.username, p.display_name, p.bio, coalesce(pp.voice, '') AS voice, \
     coalesce(pp.traits, '{}') AS traits, coalesce(pp.modules, '{}') AS modules, \
     coalesce(pp.interests, '{}') AS interests, coalesce(pp.timezone, 'UTC') AS timezone, \
     coalesce(pp.active_hours_start, 8::int2) AS active_hours_start, \
     coalesce(pp.active_hours_end, 23::int2) AS active_hours_end, p.is_active, \
     coalesce(pp.voice_bank, '{}') AS voice_bank, p.avatar_url, pp.character_reference, pp.chattiness, \
     pp.voting_temperament, coalesce(pp.trend_aware, false) AS trend_aware";

/// `personas p` with its private row.
const FROM: &str = "personas p LEFT JOIN persona_private pp ON pp.persona_id = p.id";

fn persona(row: &Row) -> Result<Persona, DbError> {
    Ok(Persona {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        bio: row.try_get("bio")?,
        voice: row.try_get("voice")?,
        traits: row.try_get("traits")?,
        modules: row.try_get("modules")?,
        interests: row.try_get("interests")?,
        timezone: row.try_get("timezone")?,
        active_hours_start: row.try_get("active_hours_start")?,
        active_hours_end: row.try_get("active_hours_end")?,
        is_active: row.try_get("is_active")?,
        voice_bank: row.try_get("voice_bank")?,
        avatar_url: row.try_get("avatar_url")?,
        character_reference: row.try_get("character_reference")?,
        chattiness: row.try_get::<_, Option<&str>>("chattiness")?.and_then(Chattiness::parse),
        voting_temperament: row.try_get::<_, Option<&str>>("voting_temperament")?.and_then(Temperament::parse),
        trend_aware: row.try_get("trend_aware")?,
    })
}

/// One persona.
pub async fn find(c: &impl GenericClient, id: Uuid) -> Result<Option<Persona>, DbError> {
    let row = c.query_typed_opt(&format!("SELECT {COLUMNS} FROM {FROM} WHERE p.id = $1"), &[(&id, Type::UUID)]).await?;
    row.as_ref().map(persona).transpose()
}

/// One persona by its handle (case-insensitive).
pub async fn find_by_username(c: &impl GenericClient, username: &str) -> Result<Option<Persona>, DbError> {
    let row = c
        .query_typed_opt(
            &format!("SELECT {COLUMNS} FROM {FROM} WHERE lower(p.username) = lower($1)"),
            &[(&username, Type::TEXT)],
        )
        .await?;
    row.as_ref().map(persona).transpose()
}

/// A page of personas in handle order, after `after` (a handle) when given.
pub async fn list(c: &impl GenericClient, after: Option<&str>, limit: i64) -> Result<Vec<Persona>, DbError> {
    let rows = c
        .query_typed(
            &format!(
                "SELECT {COLUMNS} FROM {FROM} WHERE $1::text IS NULL OR p.username > $1
                 ORDER BY p.username LIMIT $2"
            ),
            &[(&after, Type::TEXT), (&limit, Type::INT8)],
        )
        .await?;
    rows.iter().map(persona).collect()
}

/// The newest `limit` personas, newest first: what a new one must not copy.
pub async fn newest(c: &impl GenericClient, limit: i64) -> Result<Vec<Persona>, DbError> {
    let rows = c
        .query_typed(
            &format!("SELECT {COLUMNS} FROM {FROM} ORDER BY p.created_at DESC, p.id LIMIT $1"),
            &[(&limit, Type::INT8)],
        )
        .await?;
    rows.iter().map(persona).collect()
}

/// Writes a new persona, created at `now`: its public profile and its private row in one statement. A
/// handle already taken is a unique violation.
pub async fn insert(c: &impl GenericClient, p: &Persona, now: DateTime<Utc>) -> Result<(), DbError> {
    let labels = labels(p);
    let mut params = profile_params(p, &labels);
    params.push((&now, Type::TIMESTAMPTZ));
    c.query_typed(
        "WITH public_profile AS (
             INSERT INTO personas (id, username, display_name, bio, is_active, avatar_url, created_at)
             VALUES ($1, $2, $3, $4, $12, $14, $19) RETURNING id)
         INSERT INTO persona_private (persona_id, voice, traits, modules, interests, timezone, active_hours_start,
                                      active_hours_end, voice_bank, character_reference, chattiness, voting_temperament,
                                      trend_aware)
         SELECT id, $5, $6, $7, $8, $9, $10, $11, $13, $15, $16, $17, $18 FROM public_profile",
        &params,
    )
    .await?;
    Ok(())
}

/// Rewrites a persona's profile (everything but its id and creation time), public and private, in one
/// statement; `false` when it does not exist.
pub async fn update(c: &impl GenericClient, p: &Persona) -> Result<bool, DbError> {
    let rows = c
        .query_typed(
            "WITH public_profile AS (
                 UPDATE personas SET username = $2, display_name = $3, bio = $4, is_active = $12, avatar_url = $14
                 WHERE id = $1 RETURNING id)
             INSERT INTO persona_private AS pp (persona_id, voice, traits, modules, interests, timezone,
                                                active_hours_start, active_hours_end, voice_bank, character_reference,
                                                chattiness, voting_temperament, trend_aware)
             SELECT id, $5, $6, $7, $8, $9, $10, $11, $13, $15, $16, $17, $18 FROM public_profile
             ON CONFLICT (persona_id) DO UPDATE SET voice = excluded.voice, traits = excluded.traits,
                 modules = excluded.modules, interests = excluded.interests, timezone = excluded.timezone,
                 active_hours_start = excluded.active_hours_start, active_hours_end = excluded.active_hours_end,
                 voice_bank = excluded.voice_bank, character_reference = excluded.character_reference,
                 chattiness = excluded.chattiness, voting_temperament = excluded.voting_temperament,
                 trend_aware = excluded.trend_aware
             RETURNING pp.persona_id",
            &profile_params(p, &labels(p)),
        )
        .await?;
    Ok(!rows.is_empty())
}

/// The same persona, read for an update that follows in this transaction (others wait).
pub async fn find_for_update(c: &impl GenericClient, id: Uuid) -> Result<Option<Persona>, DbError> {
    let row = c
        .query_typed_opt(&format!("SELECT {COLUMNS} FROM {FROM} WHERE p.id = $1 FOR UPDATE OF p"), &[(&id, Type::UUID)])
        .await?;
    row.as_ref().map(persona).transpose()
}

type Param<'a> = (&'a (dyn tokio_postgres::types::ToSql + Sync), Type);

/// A persona's chattiness and voting temperament as stored.
fn labels(p: &Persona) -> [Option<&'static str>; 2] {
    [p.chattiness.map(Chattiness::as_str), p.voting_temperament.map(Temperament::as_str)]
}

/// A persona's columns as statement parameters, in the order `insert` and `update` name them.
fn profile_params<'a>(p: &'a Persona, labels: &'a [Option<&'static str>; 2]) -> Vec<Param<'a>> {
    vec![
        (&p.id, Type::UUID),
        (&p.username, Type::TEXT),
        (&p.display_name, Type::TEXT),
        (&p.bio, Type::TEXT),
        (&p.voice, Type::TEXT),
        (&p.traits, Type::TEXT_ARRAY),
        (&p.modules, Type::TEXT_ARRAY),
        (&p.interests, Type::TEXT_ARRAY),
        (&p.timezone, Type::TEXT),
        (&p.active_hours_start, Type::INT2),
        (&p.active_hours_end, Type::INT2),
        (&p.is_active, Type::BOOL),
        (&p.voice_bank, Type::TEXT_ARRAY),
        (&p.avatar_url, Type::TEXT),
        (&p.character_reference, Type::TEXT),
        (&labels[0], Type::TEXT),
        (&labels[1], Type::TEXT),
        (&p.trend_aware, Type::BOOL),
    ]
}

/// Pauses (`false`) or resumes (`true`) a persona; `None` when it does not exist.
pub async fn set_active(c: &impl GenericClient, id: Uuid, active: bool) -> Result<Option<Persona>, DbError> {
    let row = c
        .query_typed_opt(
            &format!(
                "WITH p AS (UPDATE personas SET is_active = $2 WHERE id = $1 RETURNING *)
                 SELECT {COLUMNS} FROM p LEFT JOIN persona_private pp ON pp.persona_id = p.id"
            ),
            &[(&id, Type::UUID), (&active, Type::BOOL)],
        )
        .await?;
    row.as_ref().map(persona).transpose()
}

/// Which of `usernames` are personas (case-insensitive), as stored.
pub async fn existing_usernames(c: &impl GenericClient, usernames: &[String]) -> Result<Vec<String>, DbError> {
    if usernames.is_empty() {
        return Ok(Vec::new());
    }
    let lowered: Vec<String> = usernames.iter().map(|u| u.to_lowercase()).collect();
    let rows = c
        .query_typed("SELECT username FROM personas WHERE lower(username) = ANY($1)", &[(&lowered, Type::TEXT_ARRAY)])
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// A persona's recent activity, for the per-persona limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Activity {
    /// Actions (posts, comments, replies, votes) in the hour before `now`.
    pub actions_last_hour: i64,
    /// The oldest of those.
    pub oldest_action_last_hour: Option<DateTime<Utc>>,
    /// Posts in the 24 hours before `now`.
    pub posts_last_day: i64,
    /// The oldest of those.
    pub oldest_post_last_day: Option<DateTime<Utc>>,
    /// The newest of those.
    pub latest_post_last_day: Option<DateTime<Utc>>,
}

/// Counts the persona's actions in the last hour and posts in the last day.
pub async fn activity(c: &impl GenericClient, persona_id: Uuid, now: DateTime<Utc>) -> Result<Activity, DbError> {
    let row = c
        .query_typed_one(
            "SELECT count(*) FILTER (WHERE created_at > $2 - interval '1 hour'),
                    min(created_at) FILTER (WHERE created_at > $2 - interval '1 hour'),
                    count(*) FILTER (WHERE action_type = 'posted'),
                    min(created_at) FILTER (WHERE action_type = 'posted'),
                    max(created_at) FILTER (WHERE action_type = 'posted')
             FROM persona_memory
             WHERE persona_id = $1 AND action_type <> 'viewed'
               AND created_at > $2 - interval '24 hours' AND created_at <= $2",
            &[(&persona_id, Type::UUID), (&now, Type::TIMESTAMPTZ)],
        )
        .await?;
    Ok(Activity {
        actions_last_hour: row.try_get(0)?,
        oldest_action_last_hour: row.try_get(1)?,
        posts_last_day: row.try_get(2)?,
        oldest_post_last_day: row.try_get(3)?,
        latest_post_last_day: row.try_get(4)?,
    })
}

/// A persona the selector may pick, with what it needs to judge.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The persona.
    pub persona: Persona,
    /// Its activity.
    pub activity: Activity,
    /// Whether it already engaged the target (memory).
    pub engaged: bool,
}

/// Every active persona with its activity and whether it has engaged `target` (a post or a comment)
/// already. One statement.
pub async fn candidates(
    c: &impl GenericClient,
    now: DateTime<Utc>,
    target_post: Option<Uuid>,
    target_comment: Option<Uuid>,
) -> Result<Vec<Candidate>, DbError> {
    let rows = c
        .query_typed(
            &format!(
                "SELECT {COLUMNS},
                        coalesce(a.actions_last_hour, 0) AS actions_last_hour, a.oldest_action_last_hour,
                        coalesce(a.posts_last_day, 0) AS posts_last_day, a.oldest_post_last_day, a.latest_post_last_day,
                        EXISTS (SELECT 1 FROM persona_memory m WHERE m.persona_id = p.id AND m.action_type <> 'viewed'
                                AND ((m.post_id = $2) OR (m.comment_id = $3))) AS engaged
                 FROM {FROM}
                 LEFT JOIN (
                     SELECT persona_id,
                            count(*) FILTER (WHERE created_at > $1 - interval '1 hour') AS actions_last_hour,
                            min(created_at) FILTER (WHERE created_at > $1 - interval '1 hour') AS oldest_action_last_hour,
                            count(*) FILTER (WHERE action_type = 'posted') AS posts_last_day,
                            min(created_at) FILTER (WHERE action_type = 'posted') AS oldest_post_last_day,
                            max(created_at) FILTER (WHERE action_type = 'posted') AS latest_post_last_day
                     FROM persona_memory
                     WHERE action_type <> 'viewed' AND created_at > $1 - interval '24 hours' AND created_at <= $1
                     GROUP BY persona_id
                 ) a ON a.persona_id = p.id
                 WHERE p.is_active
                 ORDER BY p.username"
            ),
            &[(&now, Type::TIMESTAMPTZ), (&target_post, Type::UUID), (&target_comment, Type::UUID)],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Candidate {
                persona: persona(row)?,
                activity: Activity {
                    actions_last_hour: row.try_get("actions_last_hour")?,
                    oldest_action_last_hour: row.try_get("oldest_action_last_hour")?,
                    posts_last_day: row.try_get("posts_last_day")?,
                    oldest_post_last_day: row.try_get("oldest_post_last_day")?,
                    latest_post_last_day: row.try_get("latest_post_last_day")?,
                },
                engaged: row.try_get("engaged")?,
            })
        })
        .collect()
}

/// Something a persona published, for its few-shot examples and the duplicate checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Written {
    /// `post`, `comment` or `reply`.
    pub kind: &'static str,
    /// Its text (a post's title and body).
    pub text: String,
    /// Someone downvoted it: never an example, whatever else it earned.
    pub downvoted: bool,
}

/// `post`, `comment` or `reply`, as the queries below name what a persona wrote.
pub(crate) fn written_kind(kind: &str) -> &'static str {
    match kind {
        "post" => "post",
        "comment" => "comment",
        _ => "reply",
    }
}

/// The persona's newest published posts, comments and replies, newest first.
pub async fn recent_texts(c: &impl GenericClient, persona_id: Uuid, limit: i64) -> Result<Vec<Written>, DbError> {
    let rows = c
        .query_typed(
            "(SELECT 'post' AS kind, title || E'\\n\\n' || body AS text, created_at,
                     EXISTS (SELECT 1 FROM votes v WHERE v.post_id = posts.id AND v.value < 0) AS downvoted, id
              FROM posts
              WHERE persona_id = $1 AND status = 'PUBLISHED' ORDER BY created_at DESC, id DESC LIMIT $2)
             UNION ALL
             (SELECT CASE WHEN parent_id IS NULL THEN 'comment' ELSE 'reply' END, body, created_at,
                     EXISTS (SELECT 1 FROM votes v WHERE v.comment_id = comments.id AND v.value < 0), id
              FROM comments
              WHERE persona_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $2)
             ORDER BY created_at DESC, id DESC LIMIT $2",
            &[(&persona_id, Type::UUID), (&limit, Type::INT8)],
        )
        .await?;
    rows.iter()
        .map(|r| Ok(Written { kind: written_kind(r.try_get(0)?), text: r.try_get(1)?, downvoted: r.try_get(3)? }))
        .collect()
}

/// What every persona published on every board (posts and comments) since `since`, newest first, at
/// most `limit`, each cut to its first `chars` characters: a new draft must not nearly repeat any of it,
/// whoever wrote it and wherever.
pub async fn published_texts(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    limit: i64,
    chars: i32,
) -> Result<Vec<String>, DbError> {
    let rows = c
        .query_typed(
            "(SELECT left(title || E'\\n\\n' || body, $3) AS text, created_at, id FROM posts
              WHERE persona_id IS NOT NULL AND created_at > $1 ORDER BY created_at DESC, id DESC LIMIT $2)
             UNION ALL
             (SELECT left(body, $3), created_at, id FROM comments
              WHERE persona_id IS NOT NULL AND created_at > $1 AND deleted_at IS NULL
              ORDER BY created_at DESC, id DESC LIMIT $2)
             ORDER BY created_at DESC, id DESC LIMIT $2",
            &[(&since, Type::TIMESTAMPTZ), (&limit, Type::INT8), (&chars, Type::INT4)],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// One persona's activity since a moment (the status page's "today").
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ActivitySince {
    /// The persona.
    pub persona_id: Uuid,
    /// Its handle.
    pub username: String,
    /// Paused personas do nothing.
    pub is_active: bool,
    /// Posts (text and image).
    pub posts: i64,
    /// Comments and replies.
    pub comments: i64,
    /// Votes (including decisions not to vote).
    pub votes: i64,
    /// The latest action.
    pub last_action_at: Option<DateTime<Utc>>,
}

/// Every persona's actions in `[since, now]`, most active first.
pub async fn activity_since(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<ActivitySince>, DbError> {
    let rows = c
        .query_typed(
            "SELECT p.id, p.username, p.is_active,
                    count(m.id) FILTER (WHERE m.action_type = 'posted'),
                    count(m.id) FILTER (WHERE m.action_type IN ('commented', 'replied')),
                    count(m.id) FILTER (WHERE m.action_type = 'voted'),
                    max(m.created_at)
             FROM personas p
             LEFT JOIN persona_memory m ON m.persona_id = p.id AND m.created_at >= $1 AND m.created_at <= $2
             GROUP BY p.id, p.username, p.is_active
             ORDER BY count(m.id) DESC, p.username",
            &[(&since, Type::TIMESTAMPTZ), (&now, Type::TIMESTAMPTZ)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ActivitySince {
                persona_id: r.try_get(0)?,
                username: r.try_get(1)?,
                is_active: r.try_get(2)?,
                posts: r.try_get(3)?,
                comments: r.try_get(4)?,
                votes: r.try_get(5)?,
                last_action_at: r.try_get(6)?,
            })
        })
        .collect()
}
