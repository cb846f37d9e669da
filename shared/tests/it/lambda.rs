//! The Lambda handlers with real event JSON: the scheduled-event fixture shipped in aws_lambda_events, a
//! direct worker invocation, and a Function URL request through the admin router.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use axum::http::StatusCode;
use lambda_runtime::{Context, LambdaEvent};
use secrecy::SecretString;
use testkit::TestDb;
use tooling::demo_world::DemoWorld;
use tower::ServiceExt;

use crate::helpers::{count, offline_engine, t0};

const SCHEDULE: &str = include_str!("../fixtures/eventbridge-schedule.json");
const FUNCTION_URL: &str = include_str!("../fixtures/function-url-request.json");

fn context() -> Context {
    let mut context = Context::default();
    context.request_id = "test-invocation".into();
    // Five minutes from now, as Lambda sets it for a 300 s timeout.
    context.deadline = (std::time::SystemTime::now() + std::time::Duration::from_secs(300))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    context
}

#[tokio::test]
async fn the_enqueue_handler_plans_a_scheduled_event_once() {
    let db = TestDb::new().await;
    let (engine, clock) = offline_engine(&db);
    DemoWorld::embedded().seed(&**engine.pool.get().await.unwrap(), t0()).await.unwrap();
    let event: EventBridgeEvent<serde_json::Value> = serde_json::from_str(SCHEDULE).unwrap();

    let report = shared::lambda::enqueue(&engine, LambdaEvent::new(event.clone(), context())).await.unwrap();

    assert!(report.enqueued > 0 && !report.duplicate_event, "{report:?}");
    let tasks = count(&engine, "SELECT count(*) FROM persona_tasks").await;
    clock.advance(chrono::Duration::minutes(2));
    let redelivered = shared::lambda::enqueue(&engine, LambdaEvent::new(event, context())).await.unwrap();
    assert!(redelivered.duplicate_event);
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_tasks").await, tasks);
    let json = serde_json::to_value(&report).unwrap();
    for field in ["enqueued", "skipped", "rescued", "by_type"] {
        assert!(json.get(field).is_some(), "{field} in {json}");
    }
}

#[tokio::test]
async fn the_worker_handler_takes_a_scheduled_event_or_max_tasks() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    DemoWorld::embedded().seed(&**engine.pool.get().await.unwrap(), t0()).await.unwrap();
    shared::planner::tick(&engine, None).await.unwrap();
    engine.pool.get().await.unwrap().batch_execute("UPDATE persona_tasks SET scheduled_at = created_at").await.unwrap();

    let scheduled: serde_json::Value = serde_json::from_str(SCHEDULE).unwrap();
    let report = shared::lambda::worker(&engine, LambdaEvent::new(scheduled, context())).await.unwrap();
    assert_eq!(report.processed, 5, "MAX_TASKS_PER_TICK by default: {report:?}");

    let direct = shared::lambda::worker(&engine, LambdaEvent::new(serde_json::json!({"max_tasks": 2}), context()))
        .await
        .unwrap();
    assert_eq!(direct.processed, 2);
    let json = serde_json::to_value(&direct).unwrap();
    for field in ["processed", "succeeded", "failed", "skipped", "rescheduled", "errors"] {
        assert!(json.get(field).is_some(), "{field} in {json}");
    }

    let bad = shared::lambda::worker(&engine, LambdaEvent::new(serde_json::json!({"max_tasks": "all"}), context()))
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("invalid worker request"), "{bad}");
    let diagnostic: lambda_runtime::Diagnostic = bad.into();
    assert_eq!(diagnostic.error_type, "NonRetryable");
    let zero = shared::lambda::worker(&engine, LambdaEvent::new(serde_json::json!({"max_tasks": 0}), context()))
        .await
        .unwrap_err();
    assert!(zero.to_string().contains("between 1 and 1000"));
}

/// A worker that cannot reach the database fails its invocation (which the Errors metric counts),
/// instead of reporting an empty batch as a success.
#[tokio::test]
async fn the_worker_handler_fails_when_it_cannot_claim_anything() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let unreachable = shared::db::connect_pool(&shared::db::ConnectOptions {
        url: "postgres://nobody@127.0.0.1:9/none".to_owned().into(),
        ca_cert: None,
        pool_size: 1,
    })
    .unwrap();
    let engine = shared::engine::Engine { pool: unreachable, ..engine };
    let scheduled: serde_json::Value = serde_json::from_str(SCHEDULE).unwrap();
    let err = shared::lambda::worker(&engine, LambdaEvent::new(scheduled, context())).await.unwrap_err();
    assert!(err.to_string().contains("could not claim"), "{err}");
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "Retryable");
}

#[tokio::test]
async fn a_function_url_request_goes_through_the_admin_router() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let router = shared::admin::router(
        engine,
        Some(shared::config::AdminKey::new(SecretString::from("function-url-test-key-0123456789abcdef")).unwrap()),
    );

    let mut health: serde_json::Value = serde_json::from_str(FUNCTION_URL).unwrap();
    health["rawPath"] = "/health".into();
    health["requestContext"]["http"]["path"] = "/health".into();
    let request = lambda_http::request::from_str(&health.to_string()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let mut status = health.clone();
    status["rawPath"] = "/status".into();
    status["requestContext"]["http"]["path"] = "/status".into();
    let response = router.clone().oneshot(lambda_http::request::from_str(&status.to_string()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    status["headers"]["authorization"] = "Bearer function-url-test-key-0123456789abcdef".into();
    let response = router.oneshot(lambda_http::request::from_str(&status.to_string()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// With `METRICS=emf` the handlers write CloudWatch Embedded Metric Format records: one per task, with
/// its kind and outcome, and one per tick, with the queue's oldest due task and the budget.
#[tokio::test]
async fn the_handlers_write_embedded_metric_format_records() {
    let db = TestDb::new().await;
    let fake = testkit::GeminiFake::start().await;
    let (engine, _clock) = crate::helpers::gemini_engine(&db, &fake, &[("DAILY_BUDGET_USD", "5")]);
    let (metrics, lines) = shared::metrics::Metrics::memory();
    let engine = shared::engine::Engine { metrics, ..engine };
    DemoWorld::embedded().seed(&**engine.pool.get().await.unwrap(), t0()).await.unwrap();

    let event: EventBridgeEvent<serde_json::Value> = serde_json::from_str(SCHEDULE).unwrap();
    let plan = shared::lambda::enqueue(&engine, LambdaEvent::new(event, context())).await.unwrap();
    engine.pool.get().await.unwrap().batch_execute("UPDATE persona_tasks SET scheduled_at = created_at").await.unwrap();
    let batch = shared::lambda::worker(&engine, LambdaEvent::new(serde_json::json!({"max_tasks": 3}), context()))
        .await
        .unwrap();

    let records: Vec<serde_json::Value> =
        lines.lock().unwrap().iter().map(|l| serde_json::from_str(l).expect("every line is JSON")).collect();
    assert_eq!(records.len(), 1 + batch.processed, "one per tick, one per task");
    for record in &records {
        let directive = &record["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "PersonaEngine");
        for dimension in directive["Dimensions"][0].as_array().unwrap() {
            assert!(record[dimension.as_str().unwrap()].is_string(), "{record}");
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(record[metric["Name"].as_str().unwrap()].is_number(), "{record}");
        }
    }
    let tick = &records[0];
    assert_eq!(tick["Enqueued"].as_f64(), Some(plan.enqueued as f64));
    assert_eq!(tick["BudgetReached"].as_f64(), Some(0.0));
    assert!(tick["OldestDueAge"].as_f64().unwrap() >= 0.0);
    let tasks: Vec<&serde_json::Value> = records[1..].iter().collect();
    assert!(tasks.iter().all(|t| t["Tasks"] == 1.0 && t["Kind"] == "browse"), "{tasks:?}");
    let published = tasks.iter().filter(|t| t["Outcome"] == "published").count();
    assert_eq!(published, batch.succeeded);
    assert!(tasks.iter().any(|t| t["CostMicros"].as_f64().unwrap() > 0.0 && t["Tokens"].as_f64().unwrap() > 0.0));
}

/// The deployment gives each function only the secrets it uses: nothing secret is global, the enqueue
/// function gets none but the database's, and every schedule has retries and a dead-letter queue.
#[test]
fn each_function_gets_only_the_secrets_it_uses() {
    let template = include_str!("../../../template.yaml");
    // A resource of the template: its `  Name:` line and every line after it indented deeper.
    let block = |name: &str| -> String {
        let mut lines = template.lines().skip_while(|l| *l != format!("  {name}:"));
        let head = lines.next().unwrap_or_else(|| panic!("{name} in template.yaml"));
        let body: Vec<&str> = lines.take_while(|l| l.trim().is_empty() || l.starts_with("   ")).collect();
        format!("{head}\n{}", body.join("\n"))
    };
    let globals = &template[template.find("\nGlobals:").unwrap()..template.find("\nResources:").unwrap()];
    let enqueue = block("EnqueueFunction");
    let worker = block("WorkerFunction");
    let admin = block("AdminFunction");
    for secret in ["GEMINI_API_KEY", "SUPABASE_SERVICE_ROLE_KEY", "ADMIN_API_KEY"] {
        assert!(!globals.contains(secret), "{secret} is not global");
        assert!(!enqueue.contains(secret), "the enqueue function does not get {secret}");
    }
    assert!(worker.contains("GEMINI_API_KEY") && worker.contains("SUPABASE_SERVICE_ROLE_KEY"));
    assert!(!worker.contains("ADMIN_API_KEY"), "the worker does not get the admin key");
    assert!(admin.contains("ADMIN_API_KEY") && admin.contains("GEMINI_API_KEY"));
    for function in [&enqueue, &worker] {
        assert!(function.contains("RetryPolicy:") && function.contains("ScheduleDeadLetterQueue.Arn"), "{function}");
    }
    assert!(globals.contains("METRICS: emf") && globals.contains("SECRETS_ARN"));
}
