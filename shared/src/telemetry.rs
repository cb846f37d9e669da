//! Logging setup shared by the CLI and the functions.
//!
//! Filters are `tracing_subscriber`'s `Targets` (`RUST_LOG=warn,shared::queue=debug`): the per-target
//! levels operators use, without the regex engine `EnvFilter` links in (the functions' size matters).

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// `spec` as a filter; when it does not parse, `fallback` (and a note on stderr, so a typo is not silent).
fn targets(spec: &str, fallback: Level) -> Targets {
    spec.parse().unwrap_or_else(|e| {
        eprintln!("log filter {spec:?} is not valid ({e}); logging at {fallback}");
        Targets::new().with_default(fallback)
    })
}

/// Human-readable logs on stderr for the CLI; level from `RUST_LOG`, else `default_level`.
pub fn init_cli(default_level: &str) {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| default_level.to_owned());
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false);
    let _ = tracing_subscriber::registry().with(layer).with(targets(&spec, Level::INFO)).try_init();
}

/// JSON logs on stdout for Lambda (CloudWatch adds the timestamp); level from `AWS_LAMBDA_LOG_LEVEL`,
/// then `RUST_LOG`, default `info`.
pub fn init_lambda() {
    let spec = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into())
        .to_lowercase();
    let layer = json_layer(std::io::stdout);
    let _ = tracing_subscriber::registry().with(layer).with(targets(&spec, Level::INFO)).try_init();
}

/// The Lambda functions' log format: one JSON object a line, with every span it is in (`spans`,
/// outermost first) and the innermost (`span`) — so every line a task's run logs, a model call's
/// included, carries the task's `task_id`, `kind` and `persona_id`, and a tick's lines its tick.
pub fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_target(false)
        .without_time()
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(writer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_take_a_default_and_per_target_levels_and_survive_typos() {
        let filter = targets("warn,shared::queue=debug", Level::INFO);
        assert!(filter.would_enable("shared::queue", &Level::DEBUG));
        assert!(!filter.would_enable("shared::planner", &Level::INFO));
        assert!(filter.would_enable("shared::planner", &Level::WARN));
        let fallback = targets("shared=loudest", Level::INFO);
        assert!(fallback.would_enable("anything", &Level::INFO));
        assert!(!fallback.would_enable("anything", &Level::DEBUG));
    }
}
