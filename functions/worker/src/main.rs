//! The worker Lambda (EventBridge schedule, or `{"max_tasks": N}`): one deadline-aware batch. Wiring only.

use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let engine = shared::lambda::engine_from_env().await?;
    lambda_runtime::run(service_fn(|event| shared::lambda::worker(&engine, event))).await
}
