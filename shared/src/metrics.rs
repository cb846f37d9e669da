//! CloudWatch metrics as Embedded Metric Format: one JSON line per record on standard output, which
//! Lambda delivers to CloudWatch Logs and CloudWatch turns into metrics (no SDK, no extra permission).
//! `METRICS=emf` (the SAM template's setting) turns it on; off by default, so a local run's output
//! stays readable.
//!
//! Namespace `PersonaEngine`:
//! - per task, dimensions `Kind` and `Outcome`: `Tasks` (Count), `ModelLatency` (Milliseconds),
//!   `Tokens` (Count), `CostMicros` (None, micro-USD);
//! - per planning tick, no dimension: `Enqueued`, `Skipped`, `Rescued` (Count), `OldestDueAge`
//!   (Seconds), `SpendTodayMicros` (None), `BudgetReached` (1 or 0).

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::kinds::{RunOutcome, TaskReport};

/// The metrics namespace.
pub const NAMESPACE: &str = "PersonaEngine";

/// What a planning tick reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tick {
    /// Tasks enqueued.
    pub enqueued: usize,
    /// Tasks the planner left out.
    pub skipped: usize,
    /// Tasks freed from an expired lease.
    pub rescued: usize,
    /// How long the oldest due task has waited.
    pub oldest_due_age_secs: f64,
    /// Spent today, micro-USD.
    pub spend_today_micros: i64,
    /// Whether the daily budget is reached.
    pub budget_reached: bool,
}

/// Where metric records go.
#[derive(Debug, Clone, Default)]
pub enum Metrics {
    /// Nowhere (`METRICS=off`, the default).
    #[default]
    Off,
    /// EMF lines on standard output.
    Emf,
    /// EMF lines kept in memory (tests).
    Memory(Arc<Mutex<Vec<String>>>),
}

/// A CloudWatch unit.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    /// A count.
    Count,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
    /// No unit (micro-USD, flags).
    None,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
            Self::Seconds => "Seconds",
            Self::None => "None",
        }
    }
}

/// One EMF record: `dimensions` (name, value) and `values` (name, value, unit) at `at`.
pub fn emf_line(dimensions: &[(&str, &str)], values: &[(&str, f64, Unit)], at: DateTime<Utc>) -> String {
    let mut record = Map::new();
    let names: Vec<&str> = dimensions.iter().map(|(name, _)| *name).collect();
    let definitions: Vec<Value> =
        values.iter().map(|(name, _, unit)| json!({ "Name": name, "Unit": unit.name() })).collect();
    record.insert(
        "_aws".into(),
        json!({
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": [names], "Metrics": definitions }]
        }),
    );
    for (name, value) in dimensions {
        record.insert((*name).into(), json!(value));
    }
    for (name, value, _) in values {
        record.insert((*name).into(), json!(value));
    }
    Value::Object(record).to_string()
}

fn outcome_name(outcome: RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Published => "published",
        RunOutcome::Skipped => "skipped",
        RunOutcome::Rescheduled => "rescheduled",
        RunOutcome::Retrying => "retrying",
        RunOutcome::Waiting => "waiting",
        RunOutcome::Failed => "failed",
        RunOutcome::Abandoned => "abandoned",
        RunOutcome::Unrecorded => "unrecorded",
    }
}

impl Metrics {
    /// From `METRICS`.
    pub fn from_setting(emf: bool) -> Self {
        if emf { Self::Emf } else { Self::Off }
    }

    /// Records kept in memory, and where to read them.
    pub fn memory() -> (Self, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        (Self::Memory(lines.clone()), lines)
    }

    /// Whether records go anywhere (so callers skip reads made only for metrics).
    pub fn enabled(&self) -> bool {
        !matches!(self, Self::Off)
    }

    fn emit(&self, line: String) {
        match self {
            Self::Off => {}
            Self::Emf => {
                // One write per record, so a record is one log event.
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            Self::Memory(lines) => lines.lock().unwrap_or_else(|e| e.into_inner()).push(line),
        }
    }

    /// A task's run.
    pub fn task(&self, report: &TaskReport, at: DateTime<Utc>) {
        if !self.enabled() {
            return;
        }
        let usage = report.usage;
        self.emit(emf_line(
            &[("Kind", report.task_type.as_str()), ("Outcome", outcome_name(report.outcome))],
            &[
                ("Tasks", 1.0, Unit::Count),
                ("ModelLatency", usage.model_millis as f64, Unit::Milliseconds),
                ("Tokens", f64::from(usage.prompt_tokens) + f64::from(usage.completion_tokens()), Unit::Count),
                ("CostMicros", usage.cost_micros as f64, Unit::None),
            ],
            at,
        ));
    }

    /// A planning tick, with the queue's oldest due age and where the daily budget stands.
    pub fn tick(&self, tick: &Tick, at: DateTime<Utc>) {
        self.emit(emf_line(
            &[],
            &[
                ("Enqueued", tick.enqueued as f64, Unit::Count),
                ("Skipped", tick.skipped as f64, Unit::Count),
                ("Rescued", tick.rescued as f64, Unit::Count),
                ("OldestDueAge", tick.oldest_due_age_secs, Unit::Seconds),
                ("SpendTodayMicros", tick.spend_today_micros as f64, Unit::None),
                ("BudgetReached", if tick.budget_reached { 1.0 } else { 0.0 }, Unit::None),
            ],
            at,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_line_of_emf_naming_each_value_it_carries() {
        let at = DateTime::from_timestamp_millis(1_764_547_200_000).unwrap();
        let line =
            emf_line(&[("Kind", "comment")], &[("Tasks", 1.0, Unit::Count), ("CostMicros", 3030.0, Unit::None)], at);
        assert!(!line.contains('\n'));
        let record: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(record["_aws"]["Timestamp"], 1_764_547_200_000i64);
        let directive = &record["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Kind"]]));
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(record[name].is_number(), "{name} has its value at the top level");
        }
        assert_eq!((record["Kind"].as_str(), record["CostMicros"].as_f64()), (Some("comment"), Some(3030.0)));
    }
}
