//! The planner on a seeded world with a simulated clock.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use shared::db::Type;
use shared::engine::Engine;
use shared::persona::selector::is_awake;
use shared::planner;
use testkit::TestDb;
use testkit::fixtures::{self, Author};
use tooling::demo_world::{DemoWorld, id_for};
use uuid::Uuid;

use crate::helpers::{count, offline_engine, t0};

struct Planned {
    persona: Uuid,
    task_type: String,
    post: Option<Uuid>,
    comment: Option<Uuid>,
    board: Option<Uuid>,
    scheduled_at: DateTime<Utc>,
}

async fn planned(engine: &Engine) -> Vec<Planned> {
    let c = engine.pool.get().await.unwrap();
    c.query_typed("SELECT persona_id, task_type, post_id, comment_id, board_id, scheduled_at FROM persona_tasks WHERE status = 'PENDING'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| Planned { persona: r.get(0), task_type: r.get(1), post: r.get(2), comment: r.get(3), board: r.get(4), scheduled_at: r.get(5) })
        .collect()
}

async fn seeded() -> (TestDb, Engine, std::sync::Arc<shared::clock::ManualClock>) {
    let db = TestDb::new().await;
    let (engine, clock) = offline_engine(&db);
    DemoWorld::embedded().seed(&**engine.pool.get().await.unwrap(), t0()).await.unwrap();
    (db, engine, clock)
}

#[tokio::test]
async fn a_tick_gives_every_active_persona_one_session_in_its_waking_hours_and_pushes_nothing_else() {
    let (_db, engine, _clock) = seeded().await;

    let report = planner::tick(&engine, None).await.unwrap();

    let tasks = planned(&engine).await;
    assert_eq!(report.enqueued, tasks.len());
    assert_eq!(report.by_type.get("browse").copied(), Some(12), "one session per persona: {report:?}");
    assert!(
        tasks.iter().all(|t| t.task_type == "browse" || t.task_type == "reply"),
        "no engagement pushed at anyone: {:?}",
        report.by_type
    );
    let sessions: HashSet<Uuid> = tasks.iter().filter(|t| t.task_type == "browse").map(|t| t.persona).collect();
    assert_eq!(sessions.len(), 12);
    let c = engine.pool.get().await.unwrap();
    for t in tasks.iter().filter(|t| t.task_type == "browse") {
        let persona = shared::db::personas::find(&**c, t.persona).await.unwrap().unwrap();
        assert!(t.scheduled_at > t0() && t.scheduled_at <= t0() + Duration::days(15), "{}", t.scheduled_at);
        let minute_before = t.scheduled_at - Duration::minutes(1);
        assert!(is_awake(&persona, minute_before), "{} is asleep at {}", persona.username, t.scheduled_at);
        assert!((t.post, t.comment, t.board) == (None, None, None), "a session has no target");
    }
    // One session queued at a time.
    let again = planner::tick(&engine, None).await.unwrap();
    assert_eq!(again.by_type.get("browse"), None, "{again:?}");
}

#[tokio::test]
async fn regulars_come_by_far_more_often_than_occasional_visitors() {
    let (_db, engine, clock) = seeded().await;
    let c = engine.pool.get().await.unwrap();
    // A simulated week of ticks; each due session is marked done, as the worker would.
    let mut held: HashMap<Uuid, usize> = HashMap::new();
    for _ in 0..(7 * 24 * 2) {
        planner::tick(&engine, None).await.unwrap();
        let due = c
            .query_typed(
                "UPDATE persona_tasks SET status = 'DONE', completed_at = $1
                 WHERE task_type = 'browse' AND status = 'PENDING' AND scheduled_at <= $1 RETURNING persona_id",
                &[(&clock_now(&engine), Type::TIMESTAMPTZ)],
            )
            .await
            .unwrap();
        for row in due {
            *held.entry(row.get(0)).or_default() += 1;
        }
        clock.advance(Duration::minutes(30));
    }
    let mut counts: Vec<(f64, usize)> = Vec::new();
    for (persona, n) in &held {
        let p = shared::db::personas::find(&**c, *persona).await.unwrap().unwrap();
        counts.push((shared::persona::rhythm::sessions_per_day(&p), *n));
    }
    counts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (quietest, chattiest) = (counts[0], counts[counts.len() - 1]);
    assert!(chattiest.1 >= 3 * quietest.1.max(1), "sessions in a week, by chattiness: {counts:?}");
}

#[tokio::test]
async fn a_repeated_tick_creates_nothing_new_and_a_duplicate_event_is_recognised() {
    let (_db, engine, clock) = seeded().await;
    let first = planner::tick(&engine, Some("event-1")).await.unwrap();
    assert!(first.enqueued > 0);

    let again = planner::tick(&engine, None).await.unwrap();
    assert_eq!(again.enqueued, 0, "the same moment plans the same, already queued work: {again:?}");

    clock.advance(Duration::minutes(6));
    let before = count(&engine, "SELECT count(*) FROM persona_tasks").await;
    let duplicate = planner::tick(&engine, Some("event-1")).await.unwrap();
    assert!(duplicate.duplicate_event);
    assert_eq!(duplicate.enqueued, 0);
    assert_eq!(
        count(&engine, "SELECT count(*) FROM persona_tasks").await,
        before,
        "a redelivered event creates nothing"
    );
}

/// EventBridge redelivers an event whose tick failed. The event's record commits with the tick's work,
/// so the failed tick left nothing behind and the redelivery plans in full.
#[tokio::test]
async fn a_failed_tick_is_planned_in_full_when_its_event_is_redelivered() {
    let (_db, engine, _clock) = seeded().await;
    let c = engine.pool.get().await.unwrap();
    // Every insert into the queue fails for now (as a lost connection or a full disk would).
    c.batch_execute("ALTER TABLE persona_tasks ADD CONSTRAINT refuse_everything CHECK (false) NOT VALID")
        .await
        .unwrap();
    let failed = planner::tick(&engine, Some("event-9")).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_engine_ticks WHERE event_id = 'event-9'").await, 0);

    c.batch_execute("ALTER TABLE persona_tasks DROP CONSTRAINT refuse_everything").await.unwrap();
    let redelivered = planner::tick(&engine, Some("event-9")).await.unwrap();

    assert!(!redelivered.duplicate_event, "{redelivered:?}");
    assert!(redelivered.enqueued > 0, "{redelivered:?}");
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_engine_ticks WHERE event_id = 'event-9'").await, 1);
    assert!(planner::tick(&engine, Some("event-9")).await.unwrap().duplicate_event, "and only once");
}

/// A person's reply brings the persona's queued session forward, into the first half of the reply
/// delay, even when its hour is planned full; the planner queues no answer of its own, and moves the
/// session once.
#[tokio::test]
async fn a_persons_reply_brings_the_personas_session_forward_and_queues_no_answer() {
    let (_db, engine, clock) = seeded().await;
    let c = engine.pool.get().await.unwrap();
    let marisol = id_for("persona", "marisol_cooks");
    let post = id_for("post", "p1");
    planner::tick(&engine, None).await.unwrap();
    // Her next session is far off, and her hour is planned full.
    c.query_typed(
        "UPDATE persona_tasks SET scheduled_at = $1 WHERE persona_id = $2 AND task_type = 'browse'",
        &[(&(t0() + Duration::hours(9)), Type::TIMESTAMPTZ), (&marisol, Type::UUID)],
    )
    .await
    .unwrap();
    let votes: Vec<_> = (0..4)
        .map(|i| {
            shared::kinds::VOTE.task(
                marisol,
                shared::queue::Target::Post(id_for("post", &format!("p{}", i + 2))),
                t0() + Duration::minutes(10),
            )
        })
        .collect();
    engine.queue.enqueue(&**c, &votes).await.unwrap();
    let mine = fixtures::comment(&**c, post, None, Author::Persona(marisol), "Two batches and a hot pan.", t0()).await;
    let asked_at = t0() + Duration::minutes(3);
    fixtures::comment(&**c, post, Some((mine, 0)), Author::Human(Uuid::new_v4()), "Why two batches though?", asked_at)
        .await;
    clock.advance(Duration::minutes(4));

    let report = planner::tick(&engine, None).await.unwrap();

    assert_eq!(report.brought_forward, 1, "{report:?}");
    let hers: Vec<_> = planned(&engine).await.into_iter().filter(|t| t.persona == marisol).collect();
    assert!(hers.iter().all(|t| t.task_type != "reply"), "the session decides whether she answers");
    let session = hers.iter().find(|t| t.task_type == "browse").expect("her session");
    let delay = session.scheduled_at - asked_at;
    assert!(delay >= Duration::minutes(5) && delay <= Duration::minutes(33), "{delay}");

    // Every tick draws the same time for the reply: the session is not moved again.
    clock.advance(Duration::minutes(2));
    assert_eq!(planner::tick(&engine, None).await.unwrap().brought_forward, 0);
    let again = planned(&engine).await.into_iter().find(|t| t.persona == marisol && t.task_type == "browse").unwrap();
    assert_eq!(again.scheduled_at, session.scheduled_at);
}

fn clock_now(engine: &Engine) -> DateTime<Utc> {
    engine.clock.now()
}

#[tokio::test]
async fn personas_at_their_caps_get_no_new_work() {
    let (_db, engine, _clock) = seeded().await;
    let c = engine.pool.get().await.unwrap();
    let marisol = id_for("persona", "marisol_cooks");
    // Marisol posted twice today and acted four times this hour.
    for (minutes, action) in [(30i64, "posted"), (40, "posted"), (10, "voted"), (20, "voted")] {
        let post = fixtures::human_post(&**c, id_for("board", "home-cooking"), "x", t0()).await;
        c.query_typed(
            "INSERT INTO persona_memory (persona_id, post_id, action_type, created_at) VALUES ($1, $2, $3, $4)",
            &[
                (&marisol, Type::UUID),
                (&post, Type::UUID),
                (&action, Type::TEXT),
                (&(t0() - Duration::minutes(minutes)), Type::TIMESTAMPTZ),
            ],
        )
        .await
        .unwrap();
    }

    planner::tick(&engine, None).await.unwrap();

    let hers: Vec<_> = planned(&engine).await.into_iter().filter(|t| t.persona == marisol).collect();
    assert!(hers.iter().all(|t| t.task_type == "browse"), "only a session: she may look, not act");

    // Her session offers no board to post on and chooses nothing she may not do now.
    c.query_typed(
        "UPDATE persona_tasks SET scheduled_at = $1 WHERE persona_id = $2 AND task_type = 'browse'",
        &[(&t0(), Type::TIMESTAMPTZ), (&marisol, Type::UUID)],
    )
    .await
    .unwrap();
    let session: Uuid = c
        .query_typed_one(
            "SELECT id FROM persona_tasks WHERE persona_id = $1 AND task_type = 'browse'",
            &[(&marisol, Type::UUID)],
        )
        .await
        .unwrap()
        .get(0);
    let task = engine.queue.claim_by_id(&**c, session).await.unwrap();
    let report = engine.run_task(&task).await;
    assert_eq!(report.status, shared::queue::TaskStatus::Done, "{report:?}");
    let chosen = count(
        &engine,
        &format!("SELECT count(*) FROM persona_tasks WHERE origin_task_id = '{session}' AND task_type <> 'reflect'"),
    )
    .await;
    assert_eq!(chosen, 0, "nothing chosen while over her caps");
}

#[tokio::test]
async fn paused_personas_and_locked_posts_are_left_alone() {
    let (_db, engine, _clock) = seeded().await;
    let c = engine.pool.get().await.unwrap();
    c.batch_execute(
        "UPDATE personas SET is_active = false WHERE username <> 'marisol_cooks'; UPDATE posts SET locked = true",
    )
    .await
    .unwrap();

    planner::tick(&engine, None).await.unwrap();

    let tasks = planned(&engine).await;
    assert!(tasks.iter().all(|t| t.persona == id_for("persona", "marisol_cooks")));
    assert!(tasks.iter().all(|t| t.post.is_none()), "locked posts get no engagement");
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_tasks WHERE status <> 'PENDING'").await, 0);
}
