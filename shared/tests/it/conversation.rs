//! Persona-to-persona conversations on a simulated clock, carried by sessions (a persona answers the
//! reply its session shows it): reciprocity, the depth and per-thread caps under concurrent workers,
//! "no reply", answers to people, and a session's choices written in its own transaction.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use shared::clock::Clock;
use shared::db::Type;
use shared::engine::Engine;
use shared::kinds::{BROWSE, COMMENT, REPLY};
use shared::planner;
use shared::queue::{NewTask, Target, TaskStatus};
use shared::worker::{self, Budget};
use testkit::fixtures::{self, Author};
use testkit::{GeminiFake, Reply, TestDb};
use uuid::Uuid;

use crate::helpers::{claim_new, count, gemini_engine, t0};

/// An engine on the Gemini fake (its answers follow each request, so a thread's replies differ).
fn engine(db: &TestDb, fake: &GeminiFake, pairs: &[(&str, &str)]) -> (Engine, Arc<shared::clock::ManualClock>) {
    let mut all = vec![
        ("PERSONA_MAX_ACTIONS_PER_HOUR", "100"),
        ("GEMINI_MAX_REQUESTS_PER_MINUTE", "10000"),
        ("DELAY_REPLY_MIN", "60000"),
        ("DELAY_REPLY_MAX", "180000"),
    ];
    all.extend_from_slice(pairs);
    gemini_engine(db, fake, &all)
}

struct Thread {
    post: Uuid,
    personas: Vec<Uuid>,
}

async fn thread(engine: &Engine, personas: usize) -> Thread {
    let c = engine.pool.get().await.unwrap();
    let ids = fixtures::personas(&**c, "talker", personas).await;
    let board = fixtures::board(&**c, "kitchen", &["testing"]).await;
    let post = fixtures::human_post(&**c, board, "How do you test a conversation engine?", t0()).await;
    Thread { post, personas: ids }
}

/// Runs every due task with `workers` concurrent worker batches, advancing the clock, until nothing is
/// queued.
async fn run_until_quiet(engine: &Engine, clock: &shared::clock::ManualClock, workers: usize) {
    for _ in 0..200 {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let engine = engine.clone();
                tokio::spawn(async move { worker::drain(&engine, 50, Budget::Unbounded).await })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        if count(engine, "SELECT count(*) FROM persona_tasks WHERE status IN ('PENDING', 'RUNNING')").await == 0 {
            return;
        }
        clock.advance(Duration::minutes(1));
    }
    panic!("the conversation did not stop");
}

/// Rounds of sessions: each persona comes by, answers what its notifications show, and what it chose
/// runs; until a round writes nothing new.
async fn converse(engine: &Engine, clock: &shared::clock::ManualClock, personas: &[Uuid]) {
    let c = engine.pool.get().await.unwrap();
    for _ in 0..30 {
        let before = count(engine, "SELECT count(*) FROM comments").await;
        let sessions: Vec<NewTask> = personas.iter().map(|p| BROWSE.task(*p, None, clock.now())).collect();
        engine.queue.enqueue(&**c, &sessions).await.unwrap();
        run_until_quiet(engine, clock, 4).await;
        clock.advance(Duration::minutes(30));
        if count(engine, "SELECT count(*) FROM comments").await == before {
            return;
        }
    }
    panic!("the conversation did not stop");
}

struct Written {
    author: Option<Uuid>,
    parent_author: Option<Uuid>,
    depth: i32,
}

async fn replies(engine: &Engine, post: Uuid) -> Vec<Written> {
    engine
        .pool
        .get()
        .await
        .unwrap()
        .query_typed(
            "SELECT c.persona_id, p.persona_id, c.depth FROM comments c JOIN comments p ON p.id = c.parent_id
             WHERE c.post_id = $1 ORDER BY c.depth",
            &[(&post, Type::UUID)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| Written { author: r.get(0), parent_author: r.get(1), depth: r.get(2) })
        .collect()
}

/// Two personas: one answers the other's comment, and from then on each answers back when its session
/// shows it the reply, until the thread's cap.
async fn started(engine: &Engine, t: &Thread) {
    let opener = claim_new(engine, COMMENT.task(t.personas[0], Target::Post(t.post), t0())).await;
    let opened = engine.run_task(&opener).await;
    assert_eq!(opened.status, TaskStatus::Done);
    let comment = opened.published.unwrap().result_id.unwrap();
    let answer = claim_new(engine, REPLY.task(t.personas[1], Target::Comment(comment), t0())).await;
    assert_eq!(engine.run_task(&answer).await.status, TaskStatus::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_conversation_between_two_personas_runs_through_their_sessions_to_the_reply_cap() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) =
        engine(&db, &fake, &[("CONVERSATION_MAX_REPLIES_PER_THREAD", "4"), ("CONVERSATION_MAX_DEPTH", "10")]);
    let t = thread(&engine, 2).await;
    started(&engine, &t).await;

    converse(&engine, &clock, &t.personas).await;

    let written = replies(&engine, t.post).await;
    assert_eq!(written.len(), 4, "exactly CONVERSATION_MAX_REPLIES_PER_THREAD persona replies");
    // Reciprocity: whoever was answered answers back, a two-person exchange, one level deeper each time.
    let (a, b) = (written[0].parent_author, written[0].author);
    for (i, w) in written.iter().enumerate() {
        assert_ne!(w.author, w.parent_author, "no persona replies to itself");
        assert_eq!(w.author, if i % 2 == 0 { b } else { a }, "reply {i} alternates");
        assert_eq!(w.depth, i as i32 + 1);
    }
    // Every answer after the first was chosen by a session.
    let chosen = count(
        &engine,
        "SELECT count(*) FROM persona_tasks WHERE task_type = 'reply' AND status = 'DONE' AND origin_task_id IS NOT NULL",
    )
    .await;
    assert_eq!(chosen, 3);
    let past_the_cap: Vec<String> = engine
        .pool
        .get()
        .await
        .unwrap()
        .query_typed("SELECT skip_reason FROM persona_tasks WHERE task_type = 'reply' AND status = 'SKIPPED'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        past_the_cap.iter().all(|r| r == "the thread reached CONVERSATION_MAX_REPLIES_PER_THREAD (4)"),
        "{past_the_cap:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_depth_cap_stops_a_conversation() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) = engine(&db, &fake, &[("CONVERSATION_MAX_DEPTH", "2")]);
    let t = thread(&engine, 2).await;
    started(&engine, &t).await;

    converse(&engine, &clock, &t.personas).await;

    let written = replies(&engine, t.post).await;
    assert_eq!(written.iter().map(|w| w.depth).max(), Some(2));
    assert_eq!(written.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_thread_cap_holds_when_four_workers_race() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    // Slow answers keep several replies in flight at once.
    fake.set_default(Reply::Slow(StdDuration::from_millis(150), Box::new(Reply::Auto)));
    let (engine, clock) =
        engine(&db, &fake, &[("CONVERSATION_MAX_REPLIES_PER_THREAD", "3"), ("MAX_CONCURRENT_TASKS", "3")]);
    let t = thread(&engine, 9).await;
    let c = engine.pool.get().await.unwrap();
    let root =
        fixtures::comment(&**c, t.post, None, Author::Persona(t.personas[0]), "Start here: what is a good test?", t0())
            .await;
    // Eight personas are asked to answer the same persona comment at the same moment.
    let asks: Vec<NewTask> = t.personas[1..].iter().map(|p| REPLY.task(*p, Target::Comment(root), t0())).collect();
    engine.queue.enqueue(&**c, &asks).await.unwrap();

    run_until_quiet(&engine, &clock, 4).await;

    assert_eq!(replies(&engine, t.post).await.len(), 3, "never more than CONVERSATION_MAX_REPLIES_PER_THREAD");
    let skipped: Vec<String> = c
        .query_typed("SELECT skip_reason FROM persona_tasks WHERE status = 'SKIPPED'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(skipped.len(), 5);
    assert!(skipped.iter().all(|r| r == "the thread reached CONVERSATION_MAX_REPLIES_PER_THREAD (3)"), "{skipped:?}");
}

#[tokio::test]
async fn no_reply_from_the_model_ends_the_branch_cleanly() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = engine(&db, &fake, &[]);
    let t = thread(&engine, 3).await;
    let c = engine.pool.get().await.unwrap();
    let root =
        fixtures::comment(&**c, t.post, None, Author::Persona(t.personas[0]), "Anyone tried property tests?", t0())
            .await;
    fake.push(Reply::Json(serde_json::json!({"decision": "no_reply", "body": ""})));

    let task = claim_new(&engine, REPLY.task(t.personas[1], Target::Comment(root), t0())).await;
    let report = engine.run_task(&task).await;

    assert_eq!(report.status, TaskStatus::Skipped);
    assert_eq!(report.reason.as_deref(), Some("the persona chose not to reply (the conversation has run its course)"));
    assert_eq!(replies(&engine, t.post).await.len(), 0, "nothing written");
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_tasks WHERE status = 'PENDING'").await, 0, "no follow-up");
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_memory").await, 0);
}

/// A person's reply brings the persona's next session forward; the session shows it first and the
/// persona chooses to answer (the fake model answers the first notification), and the answer names the
/// session that chose it. The planner itself queues no answer.
#[tokio::test]
async fn a_person_who_answers_a_persona_is_answered_by_the_personas_own_session_soon() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) = engine(&db, &fake, &[("DELAY_REPLY_MIN", "300000"), ("DELAY_REPLY_MAX", "3600000")]);
    let t = thread(&engine, 3).await;
    let c = engine.pool.get().await.unwrap();
    let persona = t.personas[0];
    let mine =
        fixtures::comment(&**c, t.post, None, Author::Persona(persona), "Snapshot the request bodies.", t0()).await;
    // Its next session is hours away.
    let later = BROWSE.task(persona, None, t0() + Duration::hours(6));
    engine.queue.enqueue(&**c, &[later]).await.unwrap();
    let human = fixtures::comment(
        &**c,
        t.post,
        Some((mine, 0)),
        Author::Human(Uuid::new_v4()),
        "Why snapshots and not asserts?",
        t0(),
    )
    .await;
    clock.advance(Duration::minutes(1));

    let report = planner::tick(&engine, None).await.unwrap();

    assert_eq!(report.brought_forward, 1, "{report:?}");
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_tasks WHERE task_type = 'reply'").await, 0);
    let row = c
        .query_typed_one(
            "SELECT id, scheduled_at FROM persona_tasks WHERE task_type = 'browse' AND persona_id = $1",
            &[(&persona, Type::UUID)],
        )
        .await
        .unwrap();
    let (session, due): (Uuid, DateTime<Utc>) = (row.get(0), row.get(1));
    let delay = due - t0();
    assert!(
        delay >= Duration::minutes(5) && delay <= Duration::minutes(33),
        "people bring a session within the first half of the reply delay: {delay}"
    );

    clock.set(due);
    let claimed = engine.queue.claim_by_id(&**c, session).await.unwrap();
    let report = engine.run_task(&claimed).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    let row = c
        .query_typed_one(
            "SELECT id, origin_task_id, scheduled_at FROM persona_tasks WHERE task_type = 'reply' AND comment_id = $1",
            &[(&human, Type::UUID)],
        )
        .await
        .unwrap();
    let (answer, origin, at): (Uuid, Option<Uuid>, DateTime<Utc>) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(origin, Some(session), "the answer carries the session that chose it");
    clock.set(at);
    let claimed = engine.queue.claim_by_id(&**c, answer).await.unwrap();
    let report = engine.run_task(&claimed).await;
    assert_eq!(report.status, TaskStatus::Done, "{report:?}");
    let parent: Uuid = c
        .query_typed_one(
            "SELECT parent_id FROM comments WHERE id = $1",
            &[(&report.published.unwrap().result_id.unwrap(), Type::UUID)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(parent, human);
    // Seen now: the next tick brings no session forward for it.
    let report = planner::tick(&engine, None).await.unwrap();
    assert_eq!(report.brought_forward, 0, "{report:?}");
    assert_eq!(
        count(&engine, "SELECT count(*) FROM persona_tasks WHERE status = 'PENDING' AND task_type = 'reply'").await,
        0,
        "nothing pushed at another persona"
    );
}

#[tokio::test]
async fn what_a_session_chose_is_written_in_its_transaction_or_not_at_all() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = engine(&db, &fake, &[]);
    let t = thread(&engine, 2).await;
    started(&engine, &t).await;
    // The chosen reply's insert fails: the session must leave nothing behind, not even what it saw.
    engine
        .pool
        .get()
        .await
        .unwrap()
        .batch_execute(
            "CREATE FUNCTION no_replies() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.task_type = 'reply' THEN RAISE EXCEPTION 'injected: chosen task refused'; END IF; RETURN NEW; END $$;
             CREATE TRIGGER no_replies BEFORE INSERT ON persona_tasks FOR EACH ROW EXECUTE FUNCTION no_replies();",
        )
        .await
        .unwrap();
    let session = claim_new(&engine, BROWSE.task(t.personas[0], None, t0())).await;

    let report = engine.run_task(&session).await;

    assert_eq!(report.status, TaskStatus::Pending, "retried: {report:?}");
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_memory WHERE action_type = 'viewed'").await, 0);
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_tasks WHERE origin_task_id IS NOT NULL").await, 0);
}
