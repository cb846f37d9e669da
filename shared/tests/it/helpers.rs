//! Shared test setup.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use shared::clock::ManualClock;
use shared::queue::{Queue, RetryPolicy};

/// A fixed, readable start time for simulated clocks.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

/// A queue on a manual clock with a 5-minute lease, 3 retries, and no jitter (exact schedules).
pub fn queue_at(start: DateTime<Utc>) -> (Queue, Arc<ManualClock>) {
    let clock = ManualClock::new(start);
    let queue = Queue::new(clock.clone(), std::time::Duration::from_secs(300), 3)
        .with_retry_policy(RetryPolicy { jitter: 0.0, ..RetryPolicy::default() });
    (queue, clock)
}

/// Logs to the test output when `TEST_LOG` is set.
pub fn init_tracing() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_test_writer().with_max_level(tracing::Level::DEBUG).try_init();
    }
}

use shared::ai::Provider;
use shared::config::Config;
use shared::engine::Engine;
use shared::queue::Task;
use uuid::Uuid;

/// A configuration from the embedded defaults plus `pairs`.
pub fn config_with(pairs: &[(&str, &str)]) -> Config {
    let map = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_map(&map).expect("test configuration")
}

/// An engine on the test database with `provider`, a manual clock at `t0()`, images to `media_dir`.
pub fn engine_with(
    db: &testkit::TestDb,
    provider: Arc<dyn Provider>,
    pairs: &[(&str, &str)],
) -> (Engine, Arc<ManualClock>) {
    let clock = ManualClock::new(t0());
    // Media goes to a directory of the test's own (what the console serves back from MEDIA_DIR).
    let media = std::env::temp_dir().join(format!("pe-media-{}", db.name())).display().to_string();
    let mut pairs = pairs.to_vec();
    if !pairs.iter().any(|(k, _)| *k == "MEDIA_DIR") {
        pairs.push(("MEDIA_DIR", &media));
    }
    let config = config_with(&pairs);
    let mut engine = Engine::assemble(&config, db.pool().clone(), clock.clone(), provider);
    engine.queue = engine.queue.clone().with_retry_policy(RetryPolicy { jitter: 0.0, ..RetryPolicy::default() });
    (engine, clock)
}

/// An engine on the Gemini fake (the real wire format, a fake key), with `pairs` over the defaults.
pub fn gemini_engine(
    db: &testkit::TestDb,
    fake: &testkit::GeminiFake,
    pairs: &[(&str, &str)],
) -> (Engine, Arc<ManualClock>) {
    let client = shared::ai::gemini::GeminiClient::new(
        &fake.uri(),
        secrecy::SecretString::from(testkit::gemini_fake::FAKE_KEY),
        "gemini-3.6-flash",
        "gemini-3.1-flash-image",
        std::time::Duration::from_secs(5),
    )
    .expect("a client for the fake");
    engine_with(db, Arc::new(client), pairs)
}

/// An engine with the offline writer.
pub fn offline_engine(db: &testkit::TestDb) -> (Engine, Arc<ManualClock>) {
    engine_with(db, Arc::new(shared::ai::offline::OfflineWriter), &[])
}

/// Enqueues one task due now and claims it.
pub async fn claim_new(engine: &Engine, task: shared::queue::NewTask) -> Task {
    let c = engine.pool.get().await.unwrap();
    let id = engine.queue.enqueue(&**c, &[task]).await.unwrap().inserted[0];
    engine.queue.claim_by_id(&**c, id).await.unwrap()
}

/// Reloads a task.
pub async fn task(engine: &Engine, id: Uuid) -> Task {
    engine.queue.get(&**engine.pool.get().await.unwrap(), id).await.unwrap()
}

/// A count from SQL.
pub async fn count(engine: &Engine, sql: &str) -> i64 {
    engine.pool.get().await.unwrap().query_typed_one(sql, &[]).await.unwrap().get(0)
}

/// The first decision a task recorded at `stage` ("decide", "prompt", "gate", "publish", ...).
pub fn stage<'a>(decisions: &'a serde_json::Value, stage: &str) -> &'a serde_json::Value {
    decisions
        .as_array()
        .and_then(|all| all.iter().find(|d| d["stage"] == stage))
        .unwrap_or_else(|| panic!("no {stage:?} decision in {decisions}"))
}
