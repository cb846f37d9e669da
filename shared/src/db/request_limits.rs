//! The sliding-window request limit's row.

use chrono::{DateTime, Duration, Utc};
use tokio_postgres::types::Type;

use super::{DbError, GenericClient};

/// What a slot request got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Take it: the request may go now.
    Granted,
    /// The window is full until this instant.
    FullUntil(DateTime<Utc>),
}

/// Takes a slot in the window `(now - window, now]` of limit `name` if fewer than `limit` requests were
/// made in it. One statement on one row: concurrent callers serialise on it.
///
/// Only times inside the window count and are kept: a time later than `now` (a clock far ahead, or a
/// row someone filled with times years away) is dropped, so the limit cannot be jammed, and the answer
/// is never to wait longer than one window.
pub async fn take_slot(
    c: &impl GenericClient,
    name: &str,
    limit: i64,
    window: Duration,
    now: DateTime<Utc>,
) -> Result<Slot, DbError> {
    let since = now - window;
    // ON CONFLICT DO UPDATE locks the row and evaluates its WHERE against the latest committed version,
    // so a caller that waited for another sees that caller's request in the window.
    let granted = c
        .query_typed(
            "INSERT INTO persona_engine_request_limits AS l (name, recent) VALUES ($1, ARRAY[$3])
             ON CONFLICT (name) DO UPDATE
             SET recent = array_append(ARRAY(SELECT t FROM unnest(l.recent) AS t WHERE t > $2 AND t <= $3 ORDER BY t), $3)
             WHERE (SELECT count(*) FROM unnest(l.recent) AS t WHERE t > $2 AND t <= $3) < $4
             RETURNING l.name",
            &[(&name, Type::TEXT), (&since, Type::TIMESTAMPTZ), (&now, Type::TIMESTAMPTZ), (&limit, Type::INT8)],
        )
        .await?;
    if !granted.is_empty() {
        return Ok(Slot::Granted);
    }
    // Full: the slot frees when the oldest of the `limit` newest requests leaves the window.
    let row = c
        .query_typed_one(
            "SELECT (SELECT t FROM unnest(recent) AS t WHERE t > $2 AND t <= $4 ORDER BY t DESC OFFSET $3 - 1 LIMIT 1)
             FROM persona_engine_request_limits WHERE name = $1",
            &[(&name, Type::TEXT), (&since, Type::TIMESTAMPTZ), (&limit, Type::INT8), (&now, Type::TIMESTAMPTZ)],
        )
        .await?;
    let oldest: Option<DateTime<Utc>> = row.try_get(0)?;
    Ok(Slot::FullUntil(oldest.map(|t| t + window).unwrap_or(now + window).min(now + window)))
}
