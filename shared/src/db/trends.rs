//! Statements on tags (`post_tags`), trends (`trends`) and the ranking weight (`ranking_weights`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::{DbError, GenericClient};

/// How far back trends look, in hours (design: the last 48 hours).
pub const WINDOW_HOURS: i64 = 48;
/// Tags on the trending list at most.
pub const TOP_TAGS: i64 = 20;
/// Board topics on the trending list at most. They are ranked apart from tags: every post on a board
/// carries its board's topics, so a busy board's would otherwise fill the list and hide what people are
/// actually talking about.
pub const TOP_BOARD_TOPICS: i64 = 10;
/// How often the tick recomputes trends: they move over hours, and the statement reads every post of
/// the last two days with its votes and comments (0.13 s at 1,000 personas and a million comments).
pub const REFRESH_EVERY_MINUTES: i64 = 10;
/// A topic that falls off the list and is back within this many minutes carries on the same run: a
/// list that flickers at its edge is not a new trend each tick.
pub const GRACE_MINUTES: i64 = 60;
/// Ended runs are kept this long, for `audit` and the simulator.
pub const KEPT_DAYS: i64 = 30;

/// Writes a post's tags (a retry of the same transaction writes nothing twice).
pub async fn insert_tags(c: &impl GenericClient, post_id: Uuid, tags: &[String]) -> Result<u64, DbError> {
    if tags.is_empty() {
        return Ok(0);
    }
    // No ON CONFLICT: a platform's own post_tags may lack the unique index it needs.
    Ok(c.execute_typed(
        "INSERT INTO post_tags (post_id, tag)
         SELECT $1, t FROM (SELECT DISTINCT unnest($2::text[]) AS t) tags
         WHERE NOT EXISTS (SELECT 1 FROM post_tags pt WHERE pt.post_id = $1 AND pt.tag = tags.t)",
        &[(&post_id, Type::UUID), (&tags, Type::TEXT_ARRAY)],
    )
    .await?)
}

/// Writes a post's tags behind a savepoint, in the publishing transaction: the outer error is the
/// database failing (retry the task); the inner one is the platform's `post_tags` refusing the rows (a
/// table of another shape), which must cost the post its tags, not the post itself.
pub async fn tag_post(c: &impl GenericClient, post_id: Uuid, tags: &[String]) -> Result<Result<u64, DbError>, DbError> {
    c.batch_execute("SAVEPOINT post_tags").await?;
    match insert_tags(c, post_id, tags).await {
        Ok(n) => {
            c.batch_execute("RELEASE SAVEPOINT post_tags").await?;
            Ok(Ok(n))
        }
        Err(e) if e.is_retryable() => Err(e),
        Err(e) => {
            c.batch_execute("ROLLBACK TO SAVEPOINT post_tags").await?;
            Ok(Err(e))
        }
    }
}

/// The tags of each of `posts` (alphabetical).
pub async fn tags_of(c: &impl GenericClient, posts: &[Uuid]) -> Result<HashMap<Uuid, Vec<String>>, DbError> {
    let rows = c
        .query_typed(
            "SELECT post_id, array_agg(tag ORDER BY tag) AS tags FROM post_tags
             WHERE post_id = ANY ($1::uuid[]) GROUP BY post_id",
            &[(&posts, Type::UUID_ARRAY)],
        )
        .await?;
    rows.iter().map(|r| Ok((r.try_get("post_id")?, r.try_get("tags")?))).collect()
}

/// Whether the trends are due a refresh at `now`: their last refresh (the time every open run carries)
/// is [`REFRESH_EVERY_MINUTES`] old, or nothing is trending.
pub async fn refresh_due(c: &impl GenericClient, now: DateTime<Utc>) -> Result<bool, DbError> {
    let row = c
        .query_typed_one(
            "SELECT coalesce(max(last_seen) <= $1 - make_interval(mins => $2::int), true)
             FROM trends WHERE ended_at IS NULL",
            &[(&now, Type::TIMESTAMPTZ), (&(REFRESH_EVERY_MINUTES as i32), Type::INT4)],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Refreshed {
    /// Topics trending now.
    pub trending: i64,
    /// Of those, new this tick.
    pub started: i64,
    /// Topics that stopped trending this tick.
    pub ended: i64,
}

/// Ranks topics by engagement velocity at `now` and brings `trends` in step, in one statement.
///
/// A post's topics are its tags and its board's topics. Its velocity is (people's upvotes + 2.5 ×
/// people's comments + `persona_weight` × the same by personas) ÷ its age in hours (at least one),
/// counted over the posts of the last 48 hours; a topic's is the sum over its posts. A topic trends when
/// it is among the fastest of its source ([`TOP_TAGS`] tags, [`TOP_BOARD_TOPICS`] board topics; once
/// trending, twice as many), is on at least two posts, and people (not only personas) engaged with it:
/// personas can amplify a trend but never make one. A topic back within [`GRACE_MINUTES`] of leaving
/// carries on its run. The weight is written to `ranking_weights` in the same statement, for the
/// `post_rankings` view.
pub async fn refresh(c: &impl GenericClient, now: DateTime<Utc>, persona_weight: f64) -> Result<Refreshed, DbError> {
    // The planner cannot estimate the aggregates joined below (it guessed 25 million rows for 11,000 at
    // 1,000 personas and a million comments) and would JIT-compile the statement, which took 1.26 s of
    // a 1.39 s statement whose plan runs in 0.15 s. Off for the rest of this transaction only (the tick
    // runs this last), so the pooler sees no session state.
    c.batch_execute("SET LOCAL jit = off").await?;
    let row = c
        .query_typed_one(
            "WITH weight AS (
                 UPDATE ranking_weights SET weight = $2 WHERE name = 'persona' AND weight IS DISTINCT FROM $2
                 RETURNING 1),
             recent AS (
                 SELECT p.id, p.board_id, p.persona_id IS NOT NULL AS by_persona, p.created_at,
                        greatest(extract(epoch FROM $1 - p.created_at) / 3600.0, 1.0) AS age_hours
                 FROM posts p
                 WHERE p.created_at > $1 - make_interval(hours => $4::int) AND p.created_at <= $1
                   AND p.status = 'PUBLISHED'),
             upvotes AS (
                 SELECT v.post_id, count(*) FILTER (WHERE v.persona_id IS NULL) AS people,
                        count(*) FILTER (WHERE v.persona_id IS NOT NULL) AS personas
                 FROM votes v
                 WHERE v.post_id IN (SELECT id FROM recent) AND v.value = 1 AND v.created_at <= $1
                 GROUP BY v.post_id),
             answers AS (
                 SELECT cm.post_id, count(*) FILTER (WHERE cm.persona_id IS NULL) AS people,
                        count(*) FILTER (WHERE cm.persona_id IS NOT NULL) AS personas
                 FROM comments cm
                 WHERE cm.post_id IN (SELECT id FROM recent) AND cm.deleted_at IS NULL AND cm.created_at <= $1
                 GROUP BY cm.post_id),
             post_topics AS (
                 SELECT post_id, topic, bool_or(from_board) AS from_board FROM (
                     SELECT pt.post_id, pt.tag AS topic, false AS from_board
                     FROM post_tags pt WHERE pt.post_id IN (SELECT id FROM recent)
                     UNION ALL
                     SELECT r.id, lower(btrim(bt.topic)), true
                     FROM recent r JOIN boards b ON b.id = r.board_id CROSS JOIN LATERAL unnest(b.topics) AS bt(topic)
                 ) all_topics
                 WHERE topic <> '' AND char_length(topic) <= 40
                 GROUP BY post_id, topic),
             ranked AS (
                 SELECT pt.topic, bool_or(pt.from_board) AS from_board,
                        -- In numeric, which sums exactly: a float sum depends on the order rows arrive in
                        -- (a parallel plan's workers decide it), and topics on the same posts must tie
                        -- exactly for the ranking to break the tie by name.
                        sum((coalesce(u.people, 0) + 2.5 * coalesce(a.people, 0)
                             + $2::numeric * (coalesce(u.personas, 0) + 2.5 * coalesce(a.personas, 0)))
                            / r.age_hours)::float8 AS velocity,
                        count(*)::int4 AS posts,
                        sum(coalesce(u.people, 0))::int4 AS people_upvotes,
                        sum(coalesce(a.people, 0))::int4 AS people_comments,
                        sum(coalesce(u.personas, 0))::int4 AS persona_upvotes,
                        sum(coalesce(a.personas, 0))::int4 AS persona_comments,
                        (array_agg(r.by_persona ORDER BY r.created_at, r.id))[1] AS first_by_persona,
                        array_agg(DISTINCT r.board_id) AS boards
                 FROM post_topics pt
                 JOIN recent r ON r.id = pt.post_id
                 LEFT JOIN upvotes u ON u.post_id = r.id
                 LEFT JOIN answers a ON a.post_id = r.id
                 GROUP BY pt.topic
                 HAVING count(*) >= 2 AND sum(coalesce(u.people, 0) + coalesce(a.people, 0)) > 0),
             top AS (
                 -- A topic enters within the list's length and, once on it, stays while within twice that.
                 SELECT * FROM (
                     SELECT ranked.*,
                            row_number() OVER (PARTITION BY from_board ORDER BY velocity DESC, topic)::int2 AS rank
                     FROM ranked) ranks
                 WHERE rank <= CASE WHEN from_board THEN $6 ELSE $3 END
                    OR (rank <= 2 * CASE WHEN from_board THEN $6 ELSE $3 END
                        AND EXISTS (SELECT 1 FROM trends t WHERE t.topic = ranks.topic AND t.ended_at IS NULL))),
             -- Each topic's latest run, when it is open or ended within the grace: the run a listed topic
             -- carries on.
             latest AS (
                 SELECT DISTINCT ON (t.topic) t.topic, t.since FROM trends t
                 WHERE t.topic IN (SELECT topic FROM top)
                   AND (t.ended_at IS NULL OR t.ended_at >= $1 - make_interval(mins => $7::int))
                 ORDER BY t.topic, t.since DESC),
             ended AS (
                 UPDATE trends t SET ended_at = $1
                 WHERE t.ended_at IS NULL AND t.topic NOT IN (SELECT topic FROM top)
                 RETURNING 1),
             kept AS (
                 UPDATE trends t
                 SET last_seen = $1, window_start = $1 - make_interval(hours => $4::int), rank = top.rank,
                     velocity = top.velocity, posts = top.posts, people_upvotes = top.people_upvotes,
                     people_comments = top.people_comments, persona_upvotes = top.persona_upvotes,
                     persona_comments = top.persona_comments, boards = top.boards,
                     source = CASE WHEN top.from_board THEN 'board' ELSE 'tag' END, ended_at = NULL
                 FROM top JOIN latest USING (topic)
                 WHERE t.topic = top.topic AND t.since = latest.since
                 RETURNING 1),
             pruned AS (
                 DELETE FROM trends WHERE ended_at < $1 - make_interval(days => $5::int) RETURNING 1),
             started AS (
                 INSERT INTO trends (topic, source, since, last_seen, started_by, window_start, rank, velocity, posts,
                                     people_upvotes, people_comments, persona_upvotes, persona_comments, boards)
                 SELECT top.topic, CASE WHEN top.from_board THEN 'board' ELSE 'tag' END, $1, $1,
                        CASE WHEN top.first_by_persona THEN 'personas' ELSE 'people' END,
                        $1 - make_interval(hours => $4::int), top.rank, top.velocity, top.posts, top.people_upvotes,
                        top.people_comments, top.persona_upvotes, top.persona_comments, top.boards
                 FROM top
                 WHERE top.topic NOT IN (SELECT topic FROM latest)
                 RETURNING 1)
             SELECT (SELECT count(*) FROM top) AS trending, (SELECT count(*) FROM started) AS started,
                    (SELECT count(*) FROM ended) AS ended, (SELECT count(*) FROM kept) AS kept,
                    (SELECT count(*) FROM pruned) AS pruned, (SELECT count(*) FROM weight) AS weighted",
            &[
                (&now, Type::TIMESTAMPTZ),
                (&persona_weight, Type::FLOAT8),
                (&TOP_TAGS, Type::INT8),
                (&(WINDOW_HOURS as i32), Type::INT4),
                (&(KEPT_DAYS as i32), Type::INT4),
                (&TOP_BOARD_TOPICS, Type::INT8),
                (&(GRACE_MINUTES as i32), Type::INT4),
            ],
        )
        .await?;
    Ok(Refreshed { trending: row.try_get("trending")?, started: row.try_get("started")?, ended: row.try_get("ended")? })
}

/// A topic on the trending list.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Trend {
    /// The tag or board topic.
    pub topic: String,
    /// `tag` or `board`.
    pub source: String,
    /// 1 is the fastest of its source.
    pub rank: i16,
    /// Weighted engagement per hour of age, summed over its posts.
    pub velocity: f64,
    /// Posts carrying it in the window.
    pub posts: i32,
    /// People's upvotes on those posts.
    pub people_upvotes: i32,
    /// People's comments on those posts.
    pub people_comments: i32,
    /// Personas' upvotes on those posts (counted at `TREND_PERSONA_WEIGHT`).
    pub persona_upvotes: i32,
    /// Personas' comments on those posts (counted at `TREND_PERSONA_WEIGHT`).
    pub persona_comments: i32,
    /// When this run of it began trending.
    pub since: DateTime<Utc>,
    /// Who wrote the first post carrying it in the window when it began: `people` or `personas`.
    pub started_by: String,
    /// The window the figures cover: from here to `computed_at`.
    pub window_start: DateTime<Utc>,
    /// The tick that computed them.
    pub computed_at: DateTime<Utc>,
    /// Boards it is trending on.
    pub boards: Vec<Uuid>,
}

fn trend(r: &Row) -> Result<Trend, DbError> {
    Ok(Trend {
        topic: r.try_get("topic")?,
        source: r.try_get("source")?,
        rank: r.try_get("rank")?,
        velocity: r.try_get("velocity")?,
        posts: r.try_get("posts")?,
        people_upvotes: r.try_get("people_upvotes")?,
        people_comments: r.try_get("people_comments")?,
        persona_upvotes: r.try_get("persona_upvotes")?,
        persona_comments: r.try_get("persona_comments")?,
        since: r.try_get("since")?,
        started_by: r.try_get("started_by")?,
        window_start: r.try_get("window_start")?,
        computed_at: r.try_get("last_seen")?,
        boards: r.try_get("boards")?,
    })
}

/// What is trending: tags fastest first, then board topics fastest first.
pub async fn current(c: &impl GenericClient) -> Result<Vec<Trend>, DbError> {
    let rows = c
        .query_typed(
            "SELECT topic, source, rank, velocity, posts, people_upvotes, people_comments, persona_upvotes,
                    persona_comments, since, started_by, window_start, last_seen, boards
             FROM trends WHERE ended_at IS NULL ORDER BY source = 'board', rank, topic",
            &[],
        )
        .await?;
    rows.iter().map(trend).collect()
}

/// A run of a topic on the trending list.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Run {
    /// The topic.
    pub topic: String,
    /// `tag` or `board`.
    pub source: String,
    /// When it began trending.
    pub since: DateTime<Utc>,
    /// When it stopped, or the last tick it was seen when it still trends.
    pub until: DateTime<Utc>,
    /// Still trending.
    pub open: bool,
    /// `people` or `personas`.
    pub started_by: String,
}

/// The runs that overlap `[from, to]`, oldest first.
pub async fn runs(c: &impl GenericClient, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Run>, DbError> {
    let rows = c
        .query_typed(
            "SELECT topic, source, since, coalesce(ended_at, last_seen) AS until, ended_at IS NULL AS open, started_by
             FROM trends WHERE since <= $2 AND coalesce(ended_at, last_seen) >= $1 ORDER BY since, topic",
            &[(&from, Type::TIMESTAMPTZ), (&to, Type::TIMESTAMPTZ)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Run {
                topic: r.try_get("topic")?,
                source: r.try_get("source")?,
                since: r.try_get("since")?,
                until: r.try_get("until")?,
                open: r.try_get("open")?,
                started_by: r.try_get("started_by")?,
            })
        })
        .collect()
}

/// A person's post with no tags yet.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Untagged {
    /// The post.
    pub id: Uuid,
    /// Its title.
    pub title: String,
    /// Its body.
    pub body: String,
    /// Its board's topics.
    pub board_topics: Vec<String>,
}

/// People's published posts in `(since, now]` without tags, newest first.
pub async fn untagged_human_posts(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Untagged>, DbError> {
    let rows = c
        .query_typed(
            "SELECT p.id, p.title, p.body, b.topics FROM posts p JOIN boards b ON b.id = p.board_id
             WHERE p.persona_id IS NULL AND p.status = 'PUBLISHED' AND p.created_at > $1 AND p.created_at <= $2
               AND NOT EXISTS (SELECT 1 FROM post_tags pt WHERE pt.post_id = p.id)
             ORDER BY p.created_at DESC, p.id LIMIT $3",
            &[(&since, Type::TIMESTAMPTZ), (&now, Type::TIMESTAMPTZ), (&limit, Type::INT8)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Untagged {
                id: r.try_get("id")?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
                board_topics: r.try_get("topics")?,
            })
        })
        .collect()
}

/// The persona a `tag_posts` task goes to (the active one first by id: any would do, and always the
/// same one lets the queue's index keep it to one task at a time), when people's posts from `(since,
/// now]` wait for tags.
pub async fn tagger(c: &impl GenericClient, since: DateTime<Utc>, now: DateTime<Utc>) -> Result<Option<Uuid>, DbError> {
    let row = c
        .query_typed_opt(
            "SELECT p.id FROM personas p
             WHERE p.is_active AND EXISTS (
                 SELECT 1 FROM posts po
                 WHERE po.persona_id IS NULL AND po.status = 'PUBLISHED' AND po.created_at > $1 AND po.created_at <= $2
                   AND NOT EXISTS (SELECT 1 FROM post_tags pt WHERE pt.post_id = po.id))
             ORDER BY p.id LIMIT 1",
            &[(&since, Type::TIMESTAMPTZ), (&now, Type::TIMESTAMPTZ)],
        )
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// How posts in a period were tagged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TagCounts {
    /// Persona posts.
    pub persona_posts: i64,
    /// Their tags, all together.
    pub persona_tags: i64,
    /// Persona posts carrying a tag that was trending (as a tag, not a board's topic, which every post
    /// on that board has) when they were posted.
    pub persona_posts_on_trend: i64,
    /// People's posts.
    pub people_posts: i64,
    /// People's posts with tags.
    pub people_posts_tagged: i64,
}

/// How the posts published in `(since, until]` were tagged.
pub async fn tag_counts(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<TagCounts, DbError> {
    let r = c
        .query_typed_one(
            "WITH p AS (
                 SELECT po.persona_id IS NOT NULL AS by_persona, po.created_at,
                        ARRAY(SELECT pt.tag FROM post_tags pt WHERE pt.post_id = po.id) AS tags
                 FROM posts po WHERE po.created_at > $1 AND po.created_at <= $2 AND po.status = 'PUBLISHED')
             SELECT count(*) FILTER (WHERE by_persona) AS persona_posts,
                    coalesce(sum(cardinality(tags)) FILTER (WHERE by_persona), 0)::int8 AS persona_tags,
                    count(*) FILTER (WHERE by_persona AND EXISTS (
                        SELECT 1 FROM trends t
                        WHERE t.source = 'tag' AND t.topic = ANY (p.tags) AND t.since <= p.created_at
                          AND coalesce(t.ended_at, $2) >= p.created_at)) AS persona_posts_on_trend,
                    count(*) FILTER (WHERE NOT by_persona) AS people_posts,
                    count(*) FILTER (WHERE NOT by_persona AND cardinality(tags) > 0) AS people_posts_tagged
             FROM p",
            &[(&since, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)],
        )
        .await?;
    Ok(TagCounts {
        persona_posts: r.try_get("persona_posts")?,
        persona_tags: r.try_get("persona_tags")?,
        persona_posts_on_trend: r.try_get("persona_posts_on_trend")?,
        people_posts: r.try_get("people_posts")?,
        people_posts_tagged: r.try_get("people_posts_tagged")?,
    })
}
