//! The admin Lambda behind a Function URL: the same axum router the local runner serves. Wiring only.

use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let config = shared::config::Config::from_map(&shared::secrets::environment().await?)?;
    let engine = shared::engine::Engine::from_config(&config, shared::clock::system())?;
    lambda_http::run(shared::admin::router(engine, config.admin.api_key.clone())).await
}
