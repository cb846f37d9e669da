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
async fn a_tick_plans_engagement_and_original_posts_within_the_limits() {
    let (_db, engine, _clock) = seeded().await;

    let report = planner::tick(&engine, None).await.unwrap();

    let tasks = planned(&engine).await;
    assert_eq!(report.enqueued, tasks.len());
    assert!(report.by_type.get("comment").copied().unwrap_or(0) > 0, "{report:?}");
    assert!(report.by_type.get("vote").copied().unwrap_or(0) > 0, "{report:?}");
    assert!(
        report.by_type.get("post").copied().unwrap_or(0) + report.by_type.get("image_post").copied().unwrap_or(0) > 0,
        "{report:?}"
    );
    assert_eq!(report.by_type.values().sum::<usize>(), report.enqueued);

    // No duplicates: one live task per (persona, type, target).
    let keys: HashSet<_> = tasks.iter().map(|t| (t.persona, t.task_type.clone(), t.post, t.comment, t.board)).collect();
    assert_eq!(keys.len(), tasks.len());
    // At most one original post queued per persona.
    let mut posts: HashMap<Uuid, usize> = HashMap::new();
    for t in tasks.iter().filter(|t| t.task_type == "post" || t.task_type == "image_post") {
        *posts.entry(t.persona).or_default() += 1;
    }
    assert!(posts.values().all(|n| *n == 1));
    // The hourly budget: no persona has more than PERSONA_MAX_ACTIONS_PER_HOUR (4) due within the hour.
    let mut soon: HashMap<Uuid, usize> = HashMap::new();
    for t in tasks.iter().filter(|t| t.scheduled_at <= t0() + Duration::hours(1)) {
        *soon.entry(t.persona).or_default() += 1;
    }
    assert!(soon.values().all(|n| *n <= 4), "{soon:?}");
    // Delays are in their ranges (counted from now), and land in the persona's waking hours.
    let c = engine.pool.get().await.unwrap();
    for t in &tasks {
        let persona = shared::db::personas::find(&**c, t.persona).await.unwrap().unwrap();
        let min = match t.task_type.as_str() {
            "comment" => Duration::minutes(15),
            "vote" => Duration::minutes(1),
            "post" | "image_post" => Duration::hours(1),
            _ => Duration::minutes(5),
        };
        assert!(t.scheduled_at >= t0() + min, "{} at {} is too soon", t.task_type, t.scheduled_at);
        assert!(t.scheduled_at <= t0() + Duration::hours(30), "{} at {}", t.task_type, t.scheduled_at);
        assert!(is_awake(&persona, t.scheduled_at), "{} is asleep at {}", persona.username, t.scheduled_at);
    }
}

#[tokio::test]
async fn engagement_targets_fall_with_the_posts_age() {
    let (_db, engine, _clock) = seeded().await;
    planner::tick(&engine, None).await.unwrap();
    let tasks = planned(&engine).await;
    let comments_on =
        |key: &str| tasks.iter().filter(|t| t.task_type == "comment" && t.post == Some(id_for("post", key))).count();
    // p7 is 2 hours old, p6 44 hours old (demo world).
    assert!(comments_on("p7") >= 1, "a fresh post gets commenters");
    assert_eq!(comments_on("p6"), 0, "a two-day-old post gets none");
    assert!(comments_on("p7") <= 3);
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

#[tokio::test]
async fn a_human_reply_to_a_persona_gets_a_reply_task_for_that_persona() {
    let (_db, engine, clock) = seeded().await;
    let c = engine.pool.get().await.unwrap();
    let marisol = id_for("persona", "marisol_cooks");
    let post = id_for("post", "p1");
    let mine = fixtures::comment(&**c, post, None, Author::Persona(marisol), "Two batches and a hot pan.", t0()).await;
    // Whether a persona answers is drawn from the comment's id (9 in 10 do); take a comment it answers.
    let human = loop {
        let id = fixtures::comment(
            &**c,
            post,
            Some((mine, 0)),
            Author::Human(Uuid::new_v4()),
            "Why two batches though?",
            t0() + Duration::minutes(3),
        )
        .await;
        if planner::answers_human(id) {
            break id;
        }
        c.query_typed("DELETE FROM comments WHERE id = $1", &[(&id, Type::UUID)]).await.unwrap();
    };
    clock.advance(Duration::minutes(4));

    planner::tick(&engine, None).await.unwrap();

    let reply: Vec<_> = planned(&engine).await.into_iter().filter(|t| t.task_type == "reply").collect();
    assert_eq!(reply.len(), 1);
    assert_eq!((reply[0].persona, reply[0].comment), (marisol, Some(human)));
    let delay = reply[0].scheduled_at - clock_now(&engine);
    assert!(delay >= Duration::minutes(5), "{delay}");
    // Answered (or decided) once: the next tick plans no second reply.
    clock.advance(Duration::minutes(2));
    planner::tick(&engine, None).await.unwrap();
    assert_eq!(planned(&engine).await.iter().filter(|t| t.task_type == "reply").count(), 1);
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
    assert!(hers.iter().all(|t| t.task_type != "post" && t.task_type != "image_post"), "no post over the daily cap");
    assert!(hers.iter().all(|t| t.scheduled_at > t0() + Duration::hours(1)), "nothing due while over the hourly limit");
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

#[tokio::test]
async fn fresh_comments_get_votes_and_never_from_their_author() {
    let (_db, engine, _clock) = seeded().await;
    let c = engine.pool.get().await.unwrap();
    let marisol = id_for("persona", "marisol_cooks");
    let post = id_for("post", "p7");
    let fresh = fixtures::comment(&**c, post, None, Author::Persona(marisol), "Two batches, always.", t0()).await;
    let old =
        fixtures::comment(&**c, post, None, Author::Human(Uuid::new_v4()), "Old news.", t0() - Duration::days(2)).await;

    planner::tick(&engine, None).await.unwrap();

    let votes: Vec<_> =
        planned(&engine).await.into_iter().filter(|t| t.task_type == "vote" && t.comment.is_some()).collect();
    assert!(
        votes.iter().any(|t| t.comment == Some(fresh)),
        "a fresh comment gets voters: {} comment votes",
        votes.len()
    );
    assert!(votes.iter().all(|t| t.comment != Some(old)), "a two-day-old comment gets none");
    assert!(votes.iter().filter(|t| t.comment == Some(fresh)).all(|t| t.persona != marisol), "never its author");
    assert_eq!(votes.iter().filter(|t| t.comment == Some(fresh)).count(), 1, "one persona reads and votes");
    // Planned once: the next tick adds no second round for the same comment.
    planner::tick(&engine, None).await.unwrap();
    let again = planned(&engine).await.into_iter().filter(|t| t.comment == Some(fresh)).count();
    assert_eq!(again, votes.iter().filter(|t| t.comment == Some(fresh)).count());
}

/// A persona whose next hour is already planned full still answers a person: what it has queued is
/// pushed back when the cap applies at run time, the person is not.
#[tokio::test]
async fn a_person_is_answered_even_when_the_personas_hour_is_planned_full() {
    let (_db, engine, clock) = seeded().await;
    let c = engine.pool.get().await.unwrap();
    let marisol = id_for("persona", "marisol_cooks");
    let post = id_for("post", "p1");
    let queued: Vec<_> = (0..4)
        .map(|i| {
            shared::kinds::VOTE.task(
                marisol,
                shared::queue::Target::Post(id_for("post", &format!("p{}", i + 2))),
                t0() + Duration::minutes(10),
            )
        })
        .collect();
    engine.queue.enqueue(&**c, &queued).await.unwrap();
    let mine = fixtures::comment(&**c, post, None, Author::Persona(marisol), "Two batches and a hot pan.", t0()).await;
    let human = loop {
        let id = fixtures::comment(&**c, post, Some((mine, 0)), Author::Human(Uuid::new_v4()), "Why two?", t0()).await;
        if planner::answers_human(id) {
            break id;
        }
        c.query_typed("DELETE FROM comments WHERE id = $1", &[(&id, Type::UUID)]).await.unwrap();
    };
    clock.advance(Duration::minutes(1));

    planner::tick(&engine, None).await.unwrap();

    let replies: Vec<_> = planned(&engine).await.into_iter().filter(|t| t.task_type == "reply").collect();
    assert_eq!(replies.len(), 1, "answered despite four queued votes");
    assert_eq!((replies[0].persona, replies[0].comment), (marisol, Some(human)));
    // Within the first half of the reply range (DELAY_REPLY 5 to 60 minutes): people come first.
    let delay = replies[0].scheduled_at - clock_now(&engine);
    assert!(delay >= Duration::minutes(5) && delay <= Duration::minutes(33), "{delay}");
}
