//! The worker batch: bounded claims, bounded concurrency, deadline awareness, per-task timeouts.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use secrecy::SecretString;
use shared::ai::gemini::GeminiClient;
use shared::kinds::COMMENT;
use shared::queue::{NewTask, Target};
use shared::worker::{self, Budget};
use testkit::gemini_fake::FAKE_KEY;
use testkit::{GeminiFake, Reply, TestDb, fixtures};
use uuid::Uuid;

use crate::helpers::{count, engine_with, offline_engine, t0};

/// One comment task per new persona on a human's post, due a minute ago: comments always reach the model.
async fn comments_due(engine: &shared::engine::Engine, personas: usize) -> Vec<Uuid> {
    let c = engine.pool.get().await.unwrap();
    let ids = fixtures::personas(&**c, "w", personas).await;
    let board = fixtures::board(&**c, "b", &["x"]).await;
    let post = fixtures::human_post(&**c, board, "A post", t0()).await;
    let new: Vec<NewTask> =
        ids.iter().map(|p| COMMENT.task(*p, Target::Post(post), t0() - Duration::minutes(1))).collect();
    engine.queue.enqueue(&**c, &new).await.unwrap();
    ids
}

#[tokio::test]
async fn a_batch_runs_at_most_max_tasks_and_reports_what_it_did() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    comments_due(&engine, 7).await;

    let report = worker::drain(&engine, 5, Budget::Unbounded).await;

    assert_eq!(report.processed, 5);
    assert_eq!(report.succeeded, 5, "{report:?}");
    assert_eq!(
        count(&engine, "SELECT count(*) FROM persona_tasks WHERE status = 'PENDING' AND task_type = 'comment'").await,
        2,
        "the rest wait (follow-up replies the comments set off are queued for later)"
    );
    let rest = worker::drain(&engine, 5, Budget::Unbounded).await;
    assert_eq!((rest.processed, rest.succeeded), (2, 2));
    assert!(!rest.stopped_for_deadline);
}

#[tokio::test]
async fn the_worker_stops_claiming_near_its_deadline() {
    let db = TestDb::new().await;
    let (engine, _clock) =
        engine_with(&db, Arc::new(shared::ai::offline::OfflineWriter), &[("TASK_TIMEOUT_MS", "10000")]);
    comments_due(&engine, 3).await;

    // Less than one task's time limit plus the margin is left: nothing may be claimed.
    let near = worker::drain(&engine, 5, Budget::Until(Instant::now() + StdDuration::from_secs(12))).await;
    assert_eq!(near.processed, 0);
    assert!(near.stopped_for_deadline);
    assert_eq!(
        count(&engine, "SELECT count(*) FROM persona_tasks WHERE status = 'PENDING'").await,
        3,
        "nothing claimed, nothing lost"
    );

    let ample = worker::drain(&engine, 5, Budget::Until(Instant::now() + StdDuration::from_secs(60))).await;
    assert_eq!((ample.processed, ample.stopped_for_deadline), (3, false));

    // The local emulator's deadline is in the past: the local budget applies instead.
    let past = std::time::SystemTime::UNIX_EPOCH + StdDuration::from_secs(600);
    assert!(
        matches!(worker::budget_from_deadline(past, StdDuration::from_secs(30)), Budget::Until(at) if at > Instant::now() + StdDuration::from_secs(25))
    );
}

#[tokio::test]
async fn concurrency_is_bounded_and_used() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    fake.set_default(Reply::Slow(StdDuration::from_millis(300), Box::new(Reply::Auto)));
    let client = GeminiClient::new(
        &fake.uri(),
        SecretString::from(FAKE_KEY),
        "gemini-3.6-flash",
        "x",
        StdDuration::from_secs(5),
    )
    .unwrap();
    let (engine, _clock) = engine_with(
        &db,
        Arc::new(client),
        &[("MAX_CONCURRENT_TASKS", "3"), ("GEMINI_MAX_REQUESTS_PER_MINUTE", "1000")],
    );
    comments_due(&engine, 6).await;

    let started = Instant::now();
    let report = worker::drain(&engine, 6, Budget::Unbounded).await;
    let elapsed = started.elapsed();

    assert_eq!(report.succeeded, 6, "{report:?}");
    // Six 300 ms calls, three at a time: two rounds. One at a time would take six.
    assert!(elapsed >= StdDuration::from_millis(580), "{elapsed:?}: more than three at once");
    assert!(elapsed < StdDuration::from_millis(1500), "{elapsed:?}: fewer than three at once");
}

#[tokio::test]
async fn a_task_over_its_time_limit_is_failed_as_retryable() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    fake.set_default(Reply::Slow(StdDuration::from_secs(4), Box::new(Reply::Auto)));
    let client = GeminiClient::new(
        &fake.uri(),
        SecretString::from(FAKE_KEY),
        "gemini-3.6-flash",
        "x",
        StdDuration::from_secs(30),
    )
    .unwrap();
    let (engine, _clock) = engine_with(&db, Arc::new(client), &[("TASK_TIMEOUT_MS", "500")]);
    comments_due(&engine, 1).await;

    let report = worker::drain(&engine, 1, Budget::Unbounded).await;

    assert_eq!((report.processed, report.failed), (1, 1));
    assert!(report.errors[0].contains("timed out after 500 ms"), "{report:?}");
    let row = engine
        .pool
        .get()
        .await
        .unwrap()
        .query_typed_one("SELECT status, retry_count FROM persona_tasks", &[])
        .await
        .unwrap();
    assert_eq!((row.get::<_, String>(0), row.get::<_, i32>(1)), ("PENDING".to_owned(), 1));
}

/// `serve` with a planning interval shorter than one task's time limit: each batch used to get the
/// interval as its budget and stop for its "deadline" before claiming anything, so nothing ever ran.
#[tokio::test(flavor = "multi_thread")]
async fn the_local_scheduler_runs_tasks_whatever_its_interval() {
    let db = TestDb::new().await;
    let (engine, _clock) = engine_with(
        &db,
        Arc::new(shared::ai::offline::OfflineWriter),
        &[("SCHEDULER_INTERVAL_MS", "1000"), ("TASK_TIMEOUT_MS", "90000")],
    );
    comments_due(&engine, 3).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(shared::runner::run_scheduler(engine.clone(), StdDuration::from_secs(1), stopped));
    let started = Instant::now();
    while count(&engine, "SELECT count(*) FROM persona_tasks WHERE status = 'DONE'").await < 3
        && started.elapsed() < StdDuration::from_secs(30)
    {
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    scheduler.await.unwrap();
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_tasks WHERE status = 'DONE'").await, 3);
}

/// Every line a task's run logs — the pipeline's, the model client's, the gate's — carries the task's
/// id, kind and persona, in the Lambda functions' JSON format, so one task can be followed in the logs.
#[tokio::test]
async fn every_log_line_of_a_task_carries_its_id_kind_and_persona() {
    use tracing_subscriber::prelude::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    // An empty answer first: the model client logs a warning and asks again, inside the task's run.
    fake.push(Reply::EmptyCandidate);
    let client = GeminiClient::new(
        &fake.uri(),
        SecretString::from(FAKE_KEY),
        "gemini-3.6-flash",
        "m",
        StdDuration::from_secs(5),
    )
    .unwrap();
    let (engine, _clock) = engine_with(&db, Arc::new(client), &[]);
    let persona = comments_due(&engine, 1).await;
    let task = {
        let c = engine.pool.get().await.unwrap();
        engine.queue.claim(&**c, 1).await.unwrap().remove(0)
    };

    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::registry()
        .with(shared::telemetry::json_layer(move || writer.clone()))
        .with(tracing_subscriber::filter::LevelFilter::INFO);
    let report = {
        let _guard = tracing::subscriber::set_default(subscriber);
        engine.run_task(&task).await
    };
    assert_eq!(report.status, shared::queue::TaskStatus::Done, "{report:?}");

    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let logged: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(logged.len() >= 2, "the retry warning and the outcome: {text}");
    assert!(text.contains("asking once more"), "{text}");
    for line in &logged {
        let outer = &line["spans"][0];
        assert_eq!(outer["task_id"], task.id.to_string(), "{line}");
        assert_eq!(outer["kind"], "comment", "{line}");
        assert_eq!(outer["persona_id"], persona[0].to_string(), "{line}");
    }
    // The model call has its own span inside the task's, with the model, tokens and time it took.
    let call = logged.iter().find(|l| l["span"]["name"] == "model_call").unwrap_or_else(|| panic!("{text}"));
    assert_eq!(call["span"]["model"], "gemini-3.6-flash", "{call}");
}
