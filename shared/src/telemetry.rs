//! Logging setup shared by the CLI and the functions.

use tracing_subscriber::EnvFilter;

/// Human-readable logs on stderr for the CLI; level from `RUST_LOG`, else `default_level`.
pub fn init_cli(default_level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

/// JSON logs on stdout for Lambda (CloudWatch adds the timestamp); level from `AWS_LAMBDA_LOG_LEVEL`,
/// then `RUST_LOG`, default `info`.
pub fn init_lambda() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into())
        .to_lowercase();
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .without_time()
        .with_current_span(false)
        .try_init();
}
