//! What the engine spends and the daily budgets that cap it. Days are UTC days of the engine's clock.
//!
//! A budget (`DAILY_BUDGET_USD` for the whole engine, `PERSONA_DAILY_BUDGET_USD` for each persona) is
//! checked before a task calls a model: once today's spend has reached it, the task is deferred to
//! when the day rolls over (spread over the first hour, so a day does not start with a burst), without
//! using a retry and without calling the model. What an operator asks for directly (making personas, a
//! dry run) is counted but never held back.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::config::BudgetConfig;
use crate::db::spend::{self, SpendRow};
use crate::db::{DbError, GenericClient};

/// A budget that is reached: until when, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    /// When the task may run again: the day's rollover, plus its share of the first hour.
    pub until: DateTime<Utc>,
    /// Which budget, with the figures.
    pub reason: String,
}

/// The UTC day of `at`.
pub fn day_of(at: DateTime<Utc>) -> NaiveDate {
    at.date_naive()
}

/// The next UTC midnight after `at`.
pub fn rollover(at: DateTime<Utc>) -> DateTime<Utc> {
    let next = day_of(at).succ_opt().unwrap_or(day_of(at));
    next.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(at + Duration::days(1))
}

/// Dollars, for people.
pub fn usd(micros: i64) -> String {
    format!("${:.2}", micros as f64 / 1_000_000.0)
}

/// Whether `persona_id` may spend `about_to_spend` micro-USD more now (0 for a call whose price is only
/// known after it: it may start while anything is left); `Err` when a budget is reached or would be
/// passed. `spread` (0..1, fixed per task) places the wait in the first hour of the next day.
pub async fn check(
    c: &impl GenericClient,
    budget: &BudgetConfig,
    persona_id: Uuid,
    now: DateTime<Utc>,
    spread: f64,
    about_to_spend: u64,
) -> Result<Result<(), Reached>, DbError> {
    if budget.daily_micros.is_none() && budget.persona_daily_micros.is_none() {
        return Ok(Ok(()));
    }
    let spent = spend::of_day(c, day_of(now), persona_id).await?;
    let until = rollover(now) + Duration::seconds((spread.clamp(0.0, 1.0) * 3600.0) as i64);
    let extra = i64::try_from(about_to_spend).unwrap_or(i64::MAX);
    let over = |cap: Option<u64>, spent: i64| {
        cap.filter(|cap| {
            let cap = i64::try_from(*cap).unwrap_or(i64::MAX);
            spent >= cap || (extra > 0 && spent.saturating_add(extra) > cap)
        })
    };
    if let Some(cap) = over(budget.daily_micros, spent.total) {
        let reason = format!(
            "the daily budget is reached ({} of DAILY_BUDGET_USD {} spent today{}); waiting for the day to roll over",
            usd(spent.total),
            usd(cap as i64),
            if extra > 0 { format!(", {} more needed", usd(extra)) } else { String::new() }
        );
        return Ok(Err(Reached { until, reason }));
    }
    if let Some(cap) = over(budget.persona_daily_micros, spent.persona) {
        let reason = format!(
            "this persona's daily budget is reached ({} of PERSONA_DAILY_BUDGET_USD {} spent today{}); waiting \
             for the day to roll over",
            usd(spent.persona),
            usd(cap as i64),
            if extra > 0 { format!(", {} more needed", usd(extra)) } else { String::new() }
        );
        return Ok(Err(Reached { until, reason }));
    }
    Ok(Ok(()))
}

/// Spend over a period, by persona and by kind.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Spend {
    /// Micro-USD in all.
    pub total_micros: i64,
    /// The same in dollars, for people.
    pub total_usd: String,
    /// Per persona, largest first.
    pub by_persona: Vec<PersonaSpend>,
    /// Per kind of work (`studio`: making personas), largest first.
    pub by_kind: Vec<KindSpend>,
}

/// One persona's spend.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonaSpend {
    /// The persona.
    pub persona_id: Uuid,
    /// Its handle.
    pub username: String,
    /// Micro-USD.
    pub micros: i64,
}

/// One kind's spend.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KindSpend {
    /// The kind of work.
    pub kind: String,
    /// Micro-USD.
    pub micros: i64,
    /// Priced outcomes recorded.
    pub calls: i64,
}

/// The ledger's rows summed by persona and by kind, whatever their days.
pub fn summarise(rows: &[SpendRow]) -> Spend {
    let mut by_persona: Vec<PersonaSpend> = Vec::new();
    let mut by_kind: Vec<KindSpend> = Vec::new();
    for row in rows {
        match by_persona.iter_mut().find(|p| p.persona_id == row.persona_id) {
            Some(p) => p.micros += row.micros,
            None => by_persona.push(PersonaSpend {
                persona_id: row.persona_id,
                username: row.username.clone(),
                micros: row.micros,
            }),
        }
        match by_kind.iter_mut().find(|k| k.kind == row.kind) {
            Some(k) => {
                k.micros += row.micros;
                k.calls += row.calls;
            }
            None => by_kind.push(KindSpend { kind: row.kind.clone(), micros: row.micros, calls: row.calls }),
        }
    }
    by_persona.sort_by(|a, b| b.micros.cmp(&a.micros).then_with(|| a.username.cmp(&b.username)));
    by_kind.sort_by(|a, b| b.micros.cmp(&a.micros).then_with(|| a.kind.cmp(&b.kind)));
    let total_micros = by_kind.iter().map(|k| k.micros).sum();
    Spend { total_micros, total_usd: usd(total_micros), by_persona, by_kind }
}

/// Today's and the last seven days' spend, and where the budgets stand.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SpendReport {
    /// Since midnight UTC.
    pub today: Spend,
    /// Today and the six days before.
    pub last_7_days: Spend,
    /// Each of those seven days' total, oldest first (a day with no spend counts zero).
    pub by_day: Vec<DaySpend>,
    /// `DAILY_BUDGET_USD` in micro-USD, when set.
    pub daily_budget_micros: Option<i64>,
    /// Whether today's spend has reached it: tasks that would call a model wait for tomorrow.
    pub daily_budget_reached: bool,
    /// `PERSONA_DAILY_BUDGET_USD` in micro-USD, when set.
    pub persona_daily_budget_micros: Option<i64>,
    /// Personas whose own budget is reached today.
    pub personas_at_budget: Vec<String>,
}

/// One day's spend, every persona and kind together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DaySpend {
    /// The UTC day.
    pub day: NaiveDate,
    /// Micro-USD.
    pub micros: i64,
}

/// Each day of `from..=to` with its rows' total, zero where there are none.
pub fn per_day(rows: &[SpendRow], from: NaiveDate, to: NaiveDate) -> Vec<DaySpend> {
    from.iter_days()
        .take_while(|day| *day <= to)
        .map(|day| DaySpend { day, micros: rows.iter().filter(|r| r.day == day).map(|r| r.micros).sum() })
        .collect()
}

/// The spend report at `now`.
pub async fn report(c: &impl GenericClient, budget: &BudgetConfig, now: DateTime<Utc>) -> Result<SpendReport, DbError> {
    let day = day_of(now);
    let week = spend::between(c, day - Duration::days(6), day).await?;
    let today_rows: Vec<SpendRow> = week.iter().filter(|r| r.day == day).cloned().collect();
    let today = summarise(&today_rows);
    let daily = budget.daily_micros.map(|m| i64::try_from(m).unwrap_or(i64::MAX));
    let persona_daily = budget.persona_daily_micros.map(|m| i64::try_from(m).unwrap_or(i64::MAX));
    let personas_at_budget = match persona_daily {
        Some(cap) => today.by_persona.iter().filter(|p| p.micros >= cap).map(|p| p.username.clone()).collect(),
        None => Vec::new(),
    };
    Ok(SpendReport {
        daily_budget_reached: daily.is_some_and(|cap| today.total_micros >= cap),
        today,
        last_7_days: summarise(&week),
        by_day: per_day(&week, day - Duration::days(6), day),
        daily_budget_micros: daily,
        persona_daily_budget_micros: persona_daily,
        personas_at_budget,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_day_rolls_over_at_midnight_utc() {
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 0).unwrap();
        assert_eq!(rollover(at), Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(day_of(at), NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        assert_eq!(usd(1_234_567), "$1.23");
    }

    #[test]
    fn the_ledger_sums_by_persona_and_by_kind() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let row = |p: Uuid, name: &str, kind: &str, micros: i64| SpendRow {
            day: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            persona_id: p,
            username: name.into(),
            kind: kind.into(),
            micros,
            calls: 1,
        };
        let spend = summarise(&[
            row(a, "ada", "comment", 300),
            row(b, "bo", "comment", 200),
            row(a, "ada", "image_post", 67_000),
        ]);
        assert_eq!(spend.total_micros, 67_500);
        assert_eq!((spend.by_persona[0].username.as_str(), spend.by_persona[0].micros), ("ada", 67_300));
        assert_eq!(
            (spend.by_kind[1].kind.as_str(), spend.by_kind[1].micros, spend.by_kind[1].calls),
            ("comment", 500, 2)
        );
    }

    #[test]
    fn every_day_of_the_week_is_listed_with_its_total_and_a_day_without_spend_counts_zero() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        let row = |d: u32, micros: i64| SpendRow {
            day: day(d),
            persona_id: Uuid::from_u128(1),
            username: "ada".into(),
            kind: "comment".into(),
            micros,
            calls: 1,
        };
        let days = per_day(&[row(2, 100), row(2, 50), row(4, 7)], day(1), day(4));
        let totals: Vec<(NaiveDate, i64)> = days.iter().map(|d| (d.day, d.micros)).collect();
        assert_eq!(totals, vec![(day(1), 0), (day(2), 150), (day(3), 0), (day(4), 7)]);
    }
}
