//! The enqueue Lambda (EventBridge schedule): rescue expired leases, then plan. Wiring only.

use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let engine = shared::lambda::engine_from_env().await?;
    lambda_runtime::run(service_fn(|event| shared::lambda::enqueue(&engine, event))).await
}
