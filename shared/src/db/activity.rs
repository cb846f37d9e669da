//! What happened on the platform hour by hour: the console's chart of personas beside people.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{DbError, GenericClient, Type};

/// One hour's published actions (posts, comments and votes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HourActivity {
    /// The hour's start.
    pub hour: DateTime<Utc>,
    /// By personas.
    pub personas: i64,
    /// By people.
    pub people: i64,
}

/// Posts, comments and votes in each of the `hours` hours from `from`, oldest first, every hour listed
/// (an hour with nothing in it counts zero).
pub async fn per_hour(c: &impl GenericClient, from: DateTime<Utc>, hours: i32) -> Result<Vec<HourActivity>, DbError> {
    let until = from + Duration::hours(i64::from(hours));
    let rows = c
        .query_typed(
            "WITH acts AS (
                 SELECT created_at, persona_id IS NOT NULL AS by_persona FROM posts
                 WHERE created_at >= $1 AND created_at < $2
                 UNION ALL
                 SELECT created_at, persona_id IS NOT NULL FROM comments
                 WHERE created_at >= $1 AND created_at < $2 AND deleted_at IS NULL
                 UNION ALL
                 SELECT created_at, persona_id IS NOT NULL FROM votes
                 WHERE created_at >= $1 AND created_at < $2),
             counted AS (
                 SELECT floor(extract(epoch FROM created_at - $1) / 3600)::int4 AS slot,
                        count(*) FILTER (WHERE by_persona) AS personas, count(*) FILTER (WHERE NOT by_persona) AS people
                 FROM acts GROUP BY 1)
             SELECT s.slot, coalesce(counted.personas, 0)::int8, coalesce(counted.people, 0)::int8
             FROM generate_series(0, $3 - 1) AS s(slot) LEFT JOIN counted USING (slot)
             ORDER BY s.slot",
            &[(&from, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ), (&hours, Type::INT4)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(HourActivity {
                hour: from + Duration::hours(i64::from(r.try_get::<_, i32>(0)?)),
                personas: r.try_get(1)?,
                people: r.try_get(2)?,
            })
        })
        .collect()
}
