//! The admin API's audit trail (`persona_engine_audit`): every state-changing call and every refused
//! key, kept where only the engine writes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{DbError, GenericClient, Type};

/// One entry of the trail.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TrailEntry {
    /// Its id.
    pub id: Uuid,
    /// When the call was answered.
    pub at: DateTime<Utc>,
    /// The first 12 hex digits of the SHA-256 of the key presented (never the key); absent when none was.
    pub key_fingerprint: Option<String>,
    /// The caller's address, as the Function URL or the local server saw it.
    pub client: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The route called.
    pub route: String,
    /// The persona it concerned, if any.
    pub persona_id: Option<Uuid>,
    /// What it acted on (task, target, kind).
    #[schema(value_type = Object)]
    pub targets: serde_json::Value,
    /// For persona edits, each changed field with its old and new value.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    /// `ok`, `refused: …` or `error: …`.
    pub outcome: String,
    /// The HTTP status answered.
    pub status: i16,
}

/// Keeps `entry`.
pub async fn insert(c: &impl GenericClient, e: &TrailEntry) -> Result<(), DbError> {
    c.query_typed(
        "INSERT INTO persona_engine_audit (id, at, key_fingerprint, client, method, route, persona_id, targets, changes,
                                           outcome, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            (&e.id, Type::UUID),
            (&e.at, Type::TIMESTAMPTZ),
            (&e.key_fingerprint, Type::TEXT),
            (&e.client, Type::TEXT),
            (&e.method, Type::TEXT),
            (&e.route, Type::TEXT),
            (&e.persona_id, Type::UUID),
            (&e.targets, Type::JSONB),
            (&e.changes, Type::JSONB),
            (&e.outcome, Type::TEXT),
            (&e.status, Type::INT2),
        ],
    )
    .await?;
    Ok(())
}

/// Entries newest first, of one persona when given, before the `(at, id)` cursor when given.
pub async fn list(
    c: &impl GenericClient,
    persona_id: Option<Uuid>,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<TrailEntry>, DbError> {
    let (before_at, before_id) = (before.map(|b| b.0), before.map(|b| b.1));
    let rows = c
        .query_typed(
            "SELECT id, at, key_fingerprint, client, method, route, persona_id, targets, changes, outcome, status
             FROM persona_engine_audit
             WHERE ($1::uuid IS NULL OR persona_id = $1)
               AND ($2::timestamptz IS NULL OR (at, id) < ($2, $3))
             ORDER BY at DESC, id DESC LIMIT $4",
            &[
                (&persona_id, Type::UUID),
                (&before_at, Type::TIMESTAMPTZ),
                (&before_id, Type::UUID),
                (&limit, Type::INT8),
            ],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(TrailEntry {
                id: r.try_get(0)?,
                at: r.try_get(1)?,
                key_fingerprint: r.try_get(2)?,
                client: r.try_get(3)?,
                method: r.try_get(4)?,
                route: r.try_get(5)?,
                persona_id: r.try_get(6)?,
                targets: r.try_get(7)?,
                changes: r.try_get(8)?,
                outcome: r.try_get(9)?,
                status: r.try_get(10)?,
            })
        })
        .collect()
}
