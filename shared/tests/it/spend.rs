//! The cost ledger and the daily budgets, through Gemini's wire format: each call priced at its model's
//! rate, the task's cost and the day's ledger written with its outcome, and no model call once a budget
//! is reached.

use chrono::Duration;
use serde_json::json;
use shared::db::Type;
use shared::kinds::{COMMENT, IMAGE_POST};
use shared::queue::{Target, TaskStatus};
use testkit::{GeminiFake, Reply, TestDb, fixtures};
use uuid::Uuid;

use crate::helpers::{claim_new, gemini_engine, t0, task};

/// A comment answer (`body`, distinct per call so the gate never asks again) with this usage: 1,000
/// input tokens (200 of them cached), 150 out, 50 thinking.
fn priced_comment(body: &str) -> Reply {
    Reply::WithUsage {
        reply: Box::new(Reply::Json(json!({ "body": body }))),
        prompt: 1000,
        candidates: 150,
        thoughts: 50,
        cached: 200,
    }
}

/// gemini-3.6-flash at $1.50 / $0.15 cached / $9.00 per million tokens: 800 × 1.50 = 1,200, 200 × 0.15 =
/// 30, (150 + 50) × 9.00 = 1,800. Total 3,030 micro-USD.
const COMMENT_MICROS: i64 = 3_030;

async fn world(db: &TestDb, personas: &[&str]) -> (Vec<Uuid>, Uuid, Uuid) {
    let c = db.client().await;
    let mut ids = Vec::new();
    for name in personas {
        ids.push(fixtures::persona(&**c, name, &["cooking"]).await);
    }
    let board = fixtures::board(&**c, "kitchen", &["cooking"]).await;
    let post = fixtures::human_post(&**c, board, "Why does my risotto go gluey?", t0() - Duration::minutes(20)).await;
    (ids, board, post)
}

async fn ledger(db: &TestDb, persona: Uuid) -> Vec<(String, i64, i32)> {
    db.client()
        .await
        .query_typed(
            "SELECT kind, micros, calls FROM persona_engine_spend WHERE persona_id = $1 ORDER BY kind",
            &[(&persona, Type::UUID)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn every_call_is_priced_at_its_models_rate_and_booked_with_the_outcome() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[]);
    let (personas, board, post) = world(&db, &["ada"]).await;
    let ada = personas[0];

    fake.push(priced_comment("Low heat and patience, that is the whole trick."));
    let comment = claim_new(&engine, COMMENT.task(ada, Target::Post(post), t0())).await;
    let report = engine.run_task(&comment).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    assert_eq!(report.usage.cost_micros, COMMENT_MICROS as u64);
    let stored = task(&engine, comment.id).await;
    assert_eq!((stored.cost_micros, stored.cached_tokens), (Some(COMMENT_MICROS), Some(200)));
    assert_eq!(ledger(&db, ada).await, vec![("comment".to_string(), COMMENT_MICROS, 1)]);

    // An image post: its text call at the text model's rate, its picture at the image model's.
    // Text: the fake's default usage, 180 in and 42 out on gemini-3.6-flash = 270 + 378 = 648.
    // Image: 264 in at $0.30 = 79.2, 1 text token at $2.50 = 2.5, 1,290 image tokens at $52 = 67,080;
    // 67,161.7 → 67,162. Together 67,810.
    fake.push(Reply::Json(json!({"title": "Tonight's loaf", "body": "Crumb finally open", "image_prompt":
        "A sourdough loaf cut open on a board, window light, phone photo", "shows_me": false, "tags": ["sourdough", "baking"]})));
    fake.push(Reply::Image { png: testkit::gemini_fake::sample_png(64, 48), thought_image_first: false });
    let image = claim_new(&engine, IMAGE_POST.task(ada, Target::Board(board), t0())).await;
    let report = engine.run_task(&image).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    assert_eq!(task(&engine, image.id).await.cost_micros, Some(67_810));

    // The status answers with the day's spend by persona and by kind.
    let client = engine.pool.get().await.unwrap();
    let spend = shared::spend::report(&**client, &engine.config.budget, t0()).await.unwrap();
    assert_eq!(spend.today.total_micros, COMMENT_MICROS + 67_810);
    assert_eq!(spend.today.by_kind[0].kind, "image_post");
    assert_eq!(spend.today.by_persona[0].username, "ada");
    assert_eq!(spend.last_7_days.total_micros, spend.today.total_micros);
    assert!(!spend.daily_budget_reached && spend.daily_budget_micros.is_none());
    let tomorrow = shared::spend::report(&**client, &engine.config.budget, t0() + Duration::days(1)).await.unwrap();
    assert_eq!(tomorrow.today.total_micros, 0, "a new UTC day starts at nothing");
    assert_eq!(tomorrow.last_7_days.total_micros, spend.today.total_micros);
}

#[tokio::test]
async fn past_the_daily_budget_no_model_is_called_until_the_day_rolls_over() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    // $0.003: the first comment (3,030 µ$) reaches it.
    let (engine, clock) = gemini_engine(&db, &fake, &[("DAILY_BUDGET_USD", "0.003")]);
    let (personas, _board, post) = world(&db, &["ada", "bea"]).await;

    fake.push(priced_comment("Arborio from a fresh bag made the difference for me."));
    let first = claim_new(&engine, COMMENT.task(personas[0], Target::Post(post), t0())).await;
    assert_eq!(engine.run_task(&first).await.status, TaskStatus::Done);
    let calls = fake.received().len();

    let second = claim_new(&engine, COMMENT.task(personas[1], Target::Post(post), t0())).await;
    let report = engine.run_task(&second).await;
    assert_eq!(fake.received().len(), calls, "no model call past the budget");
    assert_eq!(report.status, TaskStatus::Pending, "{report:?}");
    let deferred = task(&engine, second.id).await;
    let midnight = shared::spend::rollover(t0());
    assert!(deferred.scheduled_at >= midnight && deferred.scheduled_at < midnight + Duration::hours(1));
    assert_eq!(deferred.retry_count, 0, "no retry used");
    assert!(deferred.last_error.as_deref().unwrap().contains("DAILY_BUDGET_USD"), "{:?}", deferred.last_error);
    let client = engine.pool.get().await.unwrap();
    let spend = shared::spend::report(&**client, &engine.config.budget, engine.clock.now()).await.unwrap();
    assert!(spend.daily_budget_reached, "the status says so");

    // The next day it runs.
    clock.set(deferred.scheduled_at);
    fake.push(priced_comment("Stop stirring so much, honestly."));
    let claimed = engine.queue.claim_by_id(&**client, second.id).await.unwrap();
    assert_eq!(engine.run_task(&claimed).await.status, TaskStatus::Done);
    assert_eq!(fake.received().len(), calls + 1);
}

#[tokio::test]
async fn a_persona_over_its_own_budget_waits_while_the_others_go_on() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[("PERSONA_DAILY_BUDGET_USD", "0.002")]);
    let (personas, board, post) = world(&db, &["ada", "bea"]).await;
    let (ada, bea) = (personas[0], personas[1]);

    fake.push(priced_comment("Warm stock, always warm stock, cold stock shocks it."));
    let spent = claim_new(&engine, COMMENT.task(ada, Target::Post(post), t0())).await;
    assert_eq!(engine.run_task(&spent).await.status, TaskStatus::Done);
    let calls = fake.received().len();

    let over = claim_new(&engine, shared::kinds::POST.task(ada, Target::Board(board), t0())).await;
    let report = engine.run_task(&over).await;
    assert_eq!((report.status, fake.received().len()), (TaskStatus::Pending, calls), "{report:?}");
    assert!(report.reason.as_deref().unwrap().contains("PERSONA_DAILY_BUDGET_USD"));

    fake.push(priced_comment("Mine went gluey when I rinsed nothing and rushed it."));
    let other = claim_new(&engine, COMMENT.task(bea, Target::Post(post), t0())).await;
    assert_eq!(engine.run_task(&other).await.status, TaskStatus::Done, "bea has spent nothing today");
    let client = engine.pool.get().await.unwrap();
    let spend = shared::spend::report(&**client, &engine.config.budget, t0()).await.unwrap();
    assert_eq!(spend.personas_at_budget, vec!["ada".to_string(), "bea".to_string()]);
}
