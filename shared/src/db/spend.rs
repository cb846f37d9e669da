//! Statements on the daily spend ledger (`persona_engine_spend`): what the budgets and `/status` read.
//! Tasks add to it in the statement that records their outcome (`tasks::finish`).

use chrono::NaiveDate;
use serde::Serialize;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::{DbError, GenericClient};

/// One day's spend so far: everyone's and one persona's, micro-USD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaySpend {
    /// The whole engine.
    pub total: i64,
    /// The persona asked about.
    pub persona: i64,
}

/// What `day` has cost so far, overall and for `persona_id`.
pub async fn of_day(c: &impl GenericClient, day: NaiveDate, persona_id: Uuid) -> Result<DaySpend, DbError> {
    let row = c
        .query_typed_one(
            "SELECT coalesce(sum(micros), 0)::int8, coalesce(sum(micros) FILTER (WHERE persona_id = $2), 0)::int8
             FROM persona_engine_spend WHERE day = $1",
            &[(&day, Type::DATE), (&persona_id, Type::UUID)],
        )
        .await?;
    Ok(DaySpend { total: row.try_get(0)?, persona: row.try_get(1)? })
}

/// Adds `micros` spent on `persona_id`'s `kind` of work on `day` (one model call's worth or a batch's).
pub async fn record(
    c: &impl GenericClient,
    day: NaiveDate,
    persona_id: Uuid,
    kind: &str,
    micros: i64,
    calls: i32,
) -> Result<(), DbError> {
    if micros <= 0 {
        return Ok(());
    }
    c.query_typed(
        "INSERT INTO persona_engine_spend AS s (day, persona_id, kind, micros, calls) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (day, persona_id, kind) DO UPDATE SET micros = s.micros + excluded.micros, calls = s.calls + excluded.calls",
        &[(&day, Type::DATE), (&persona_id, Type::UUID), (&kind, Type::TEXT), (&micros, Type::INT8), (&calls, Type::INT4)],
    )
    .await?;
    Ok(())
}

/// Spend of one persona on one kind of work on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpendRow {
    /// The UTC day.
    pub day: NaiveDate,
    /// The persona.
    pub persona_id: Uuid,
    /// Its handle.
    pub username: String,
    /// The kind of work (`studio` for making the persona).
    pub kind: String,
    /// Micro-USD.
    pub micros: i64,
    /// Priced outcomes recorded.
    pub calls: i64,
}

/// The ledger's rows for the days `from..=to`: each persona's spend per kind and day.
pub async fn between(c: &impl GenericClient, from: NaiveDate, to: NaiveDate) -> Result<Vec<SpendRow>, DbError> {
    let rows = c
        .query_typed(
            "SELECT s.day, s.persona_id, p.username, s.kind, s.micros, s.calls::int8
             FROM persona_engine_spend s JOIN personas p ON p.id = s.persona_id
             WHERE s.day BETWEEN $1 AND $2
             ORDER BY s.day, p.username, s.kind",
            &[(&from, Type::DATE), (&to, Type::DATE)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(SpendRow {
                day: r.try_get(0)?,
                persona_id: r.try_get(1)?,
                username: r.try_get(2)?,
                kind: r.try_get(3)?,
                micros: r.try_get(4)?,
                calls: r.try_get(5)?,
            })
        })
        .collect()
}
