//! The three Lambda handlers, as plain async functions over the engine: the function binaries only wire
//! them to the runtime, and the tests call them with real event JSON.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Deserialize;

use crate::clock;
use crate::config::Config;
use crate::engine::{Engine, StartupError};
use crate::planner::{self, PlanError, PlanReport};
use crate::worker::{self, WorkerReport};

/// Builds the engine from the environment (and the secret `SECRETS_ARN` names, through the Parameters
/// and Secrets extension), once per execution environment (at init, outside the handler). A
/// configuration error fails the init, loudly, instead of every invocation.
pub async fn engine_from_env() -> Result<Engine, Box<dyn std::error::Error + Send + Sync>> {
    let vars = crate::secrets::environment().await?;
    let config = Config::from_map(&vars)?;
    Ok(Engine::from_config(&config, clock::system()).map_err(|e: StartupError| Box::new(e) as Box<_>)?)
}

/// A handler error the runtime can report, saying whether a retry may help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    message: String,
    retryable: bool,
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        Diagnostic {
            error_type: if e.retryable { "Retryable".into() } else { "NonRetryable".into() },
            error_message: e.message,
        }
    }
}

impl From<PlanError> for HandlerError {
    fn from(e: PlanError) -> Self {
        Self { retryable: e.is_retryable(), message: e.to_string() }
    }
}

/// The enqueue function: rescue expired leases, then plan (EventBridge schedule). A second delivery of
/// the same event (same `id`) creates nothing.
pub async fn enqueue(
    engine: &Engine,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<PlanReport, HandlerError> {
    let event_id = event.payload.id.clone().filter(|id| !id.is_empty());
    let report = planner::tick(engine, event_id.as_deref()).await?;
    if engine.metrics.enabled() {
        tick_metrics(engine, &report).await;
    }
    Ok(report)
}

/// The tick's figures with the queue's oldest due task and the day's spend, for the alarms (two small
/// reads, never a count over the task table). A failure to read them costs the metrics, never the tick.
async fn tick_metrics(engine: &Engine, report: &PlanReport) {
    let now = engine.clock.now();
    let read = async {
        let client = engine.pool.get().await?;
        let oldest = crate::db::tasks::oldest_due_age_secs(&**client, now).await?;
        let spend = crate::spend::report(&**client, &engine.config.budget, now).await?;
        Ok::<_, crate::db::DbError>((oldest, spend))
    };
    match read.await {
        Ok((oldest, spend)) => engine.metrics.tick(
            &crate::metrics::Tick {
                enqueued: report.enqueued,
                skipped: report.skipped,
                rescued: report.rescued,
                oldest_due_age_secs: oldest,
                spend_today_micros: spend.today.total_micros,
                budget_reached: spend.daily_budget_reached,
            },
            now,
        ),
        Err(e) => tracing::warn!(error = %e, "could not read the queue for the tick's metrics"),
    }
}

/// What the worker accepts: a scheduled event, or `{"max_tasks": N}`.
#[derive(Debug, Deserialize)]
struct WorkerRequest {
    #[serde(default)]
    max_tasks: Option<usize>,
}

/// The worker function: claim at most `MAX_TASKS_PER_TICK` (or the invocation's `max_tasks`), run at most
/// `MAX_CONCURRENT_TASKS` at once, stop claiming near the deadline.
pub async fn worker(engine: &Engine, event: LambdaEvent<serde_json::Value>) -> Result<WorkerReport, HandlerError> {
    let request: WorkerRequest = serde_json::from_value(event.payload.clone()).map_err(|e| HandlerError {
        message: format!("invalid worker request ({e}); send a scheduled event or {{\"max_tasks\": N}}"),
        retryable: false,
    })?;
    let max_tasks = match request.max_tasks {
        Some(0) | Some(1001..) => {
            return Err(HandlerError { message: "max_tasks must be between 1 and 1000".into(), retryable: false });
        }
        Some(n) => n,
        None => engine.settings.scheduler.max_tasks_per_tick,
    };
    let budget = worker::budget_from_deadline(event.context.deadline(), engine.settings.scheduler.local_budget);
    let report = worker::drain(engine, max_tasks, budget).await;
    if report.could_not_work() {
        // A failed invocation is what the function's Errors metric and alarms count.
        return Err(HandlerError {
            message: format!("the worker could not claim any task: {}", report.errors.join("; ")),
            retryable: true,
        });
    }
    Ok(report)
}
