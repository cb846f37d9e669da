//! The task queue against a real PostgreSQL: every transition, the illegal ones refused, backoff,
//! exactly-once under contention, crash recovery, dedupe and one running task per persona.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::Duration;
use shared::db::tasks::Outcome;
use shared::db::{self, GenericClient, Type};
use shared::kinds::{COMMENT, Kind, POST, VOTE};
use shared::queue::{Failure, NewTask, Queue, QueueError, RetryPolicy, Target, Task, TaskStatus};
use testkit::{TestDb, fixtures};
use uuid::Uuid;

use crate::helpers::{init_tracing, queue_at, t0};

fn post_target(post_id: Uuid) -> Target {
    Target::Post(post_id)
}

async fn world(db: &TestDb) -> (Uuid, Uuid, Uuid) {
    let c = db.client().await;
    let persona = fixtures::persona(&**c, "ada", &["cooking"]).await;
    let board = fixtures::board(&**c, "kitchen", &["cooking"]).await;
    let post = fixtures::human_post(&**c, board, "Soggy stir-fry", t0() - Duration::hours(1)).await;
    (persona, board, post)
}

async fn reload(db: &TestDb, queue: &Queue, id: Uuid) -> Task {
    queue.get(&**db.client().await, id).await.unwrap()
}

#[tokio::test]
async fn enqueue_creates_pending_tasks_stamped_by_the_injected_clock() {
    init_tracing();
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let (persona, _, post) = world(&db).await;
    let c = db.client().await;

    let report =
        queue.enqueue(&**c, &[COMMENT.task(persona, post_target(post), t0() + Duration::minutes(20))]).await.unwrap();

    assert_eq!(report.inserted.len(), 1);
    assert_eq!(report.skipped, 0);
    let task = queue.get(&**c, report.inserted[0]).await.unwrap();
    assert_eq!(task.status, TaskStatus::Pending);
    assert_eq!(task.task_type, "comment");
    assert_eq!(task.post_id, Some(post));
    assert_eq!(task.scheduled_at, t0() + Duration::minutes(20));
    assert_eq!(task.created_at, Some(t0()), "created_at comes from the clock, not SQL now()");
    assert_eq!((task.retry_count, task.max_retries), (0, 3));
    assert!(task.claim_token.is_none() && task.locked_until.is_none());
}

#[tokio::test]
async fn a_task_is_claimed_only_once_it_is_due_and_then_holds_a_lease() {
    let db = TestDb::new().await;
    let (queue, clock) = queue_at(t0());
    let (persona, _, post) = world(&db).await;
    let c = db.client().await;
    let id = queue
        .enqueue(&**c, &[VOTE.task(persona, post_target(post), t0() + Duration::minutes(5))])
        .await
        .unwrap()
        .inserted[0];

    assert!(queue.claim(&**c, 10).await.unwrap().is_empty(), "not due yet");
    clock.advance(Duration::minutes(5));
    let claimed = queue.claim(&**c, 10).await.unwrap();

    assert_eq!(claimed.len(), 1);
    let task = &claimed[0];
    assert_eq!(task.id, id);
    assert_eq!(task.status, TaskStatus::Running);
    assert_eq!(task.started_at, Some(clock_now(&queue)));
    assert_eq!(task.locked_until, Some(clock_now(&queue) + Duration::minutes(5)));
    assert!(task.claim_token.is_some());
    assert!(queue.claim(&**c, 10).await.unwrap().is_empty(), "a running task is not claimed again");
}

fn clock_now(queue: &Queue) -> chrono::DateTime<chrono::Utc> {
    queue.now()
}

async fn claim_one(db: &TestDb, queue: &Queue, persona: Uuid, task_type: Kind, target: Target) -> Task {
    let c = db.client().await;
    queue.enqueue(&**c, &[task_type.task(persona, target, queue.now())]).await.unwrap();
    let mut claimed = queue.claim(&**c, 1).await.unwrap();
    assert_eq!(claimed.len(), 1, "claimed the task just enqueued");
    claimed.remove(0)
}

#[tokio::test]
async fn completing_in_the_effect_transaction_marks_done_with_the_result_and_tokens() {
    let db = TestDb::new().await;
    let (queue, clock) = queue_at(t0());
    let (persona, _, post) = world(&db).await;
    let task = claim_one(&db, &queue, persona, COMMENT, post_target(post)).await;
    clock.advance(Duration::seconds(7));

    let mut c = db.client().await;
    let tx = db::begin(&mut c).await.unwrap();
    let comment_id = Uuid::new_v4();
    let outcome = Outcome {
        result_id: Some(comment_id),
        result_type: Some("comment"),
        prompt_tokens: Some(120),
        completion_tokens: Some(45),
        ..Outcome::default()
    };
    queue.complete(&tx, &task, &outcome).await.unwrap();
    tx.commit().await.unwrap();

    let done = reload(&db, &queue, task.id).await;
    assert_eq!(done.status, TaskStatus::Done);
    assert_eq!(done.completed_at, Some(t0() + Duration::seconds(7)));
    assert_eq!(done.result_id, Some(comment_id));
    assert_eq!(done.result_type.as_deref(), Some("comment"));
    assert_eq!((done.prompt_tokens, done.completion_tokens), (Some(120), Some(45)));
    assert!(done.claim_token.is_none() && done.locked_until.is_none());
}

#[tokio::test]
async fn skip_records_the_reason_and_a_permanent_failure_fails_at_once() {
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let (persona, board, post) = world(&db).await;
    let c = db.client().await;

    let skipped = claim_one(&db, &queue, persona, COMMENT, post_target(post)).await;
    queue.skip(&**c, &skipped, "post was deleted", &Outcome::default()).await.unwrap();
    let skipped = reload(&db, &queue, skipped.id).await;
    assert_eq!(skipped.status, TaskStatus::Skipped);
    assert_eq!(skipped.skip_reason.as_deref(), Some("post was deleted"));
    assert_eq!(skipped.completed_at, Some(t0()));

    let failing = claim_one(&db, &queue, persona, POST, Target::Board(board)).await;
    let outcome = queue
        .fail(&**c, &failing, &Failure::Permanent("model gemini-x is retired (404)".into()), &Outcome::default())
        .await
        .unwrap();
    assert_eq!(outcome.status, TaskStatus::Failed);
    let failed = reload(&db, &queue, failing.id).await;
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(failed.error_message.as_deref(), Some("model gemini-x is retired (404)"));
    assert_eq!(failed.retry_count, 0, "a permanent failure uses no retry");
}

#[tokio::test]
async fn retryable_failures_back_off_30_60_120_seconds_then_fail_for_good() {
    let db = TestDb::new().await;
    let (queue, clock) = queue_at(t0());
    let (persona, _, post) = world(&db).await;
    let c = db.client().await;
    let id = queue.enqueue(&**c, &[COMMENT.task(persona, post_target(post), t0())]).await.unwrap().inserted[0];

    let mut delays = Vec::new();
    for attempt in 0..4 {
        let claimed = queue.claim(&**c, 1).await.unwrap();
        assert_eq!(claimed.len(), 1, "attempt {attempt} is claimable when due");
        let before = queue.now();
        let outcome = queue
            .fail(&**c, &claimed[0], &Failure::Retryable(format!("503 overloaded ({attempt})")), &Outcome::default())
            .await
            .unwrap();
        match outcome.next_attempt_at {
            Some(at) => {
                delays.push((at - before).num_seconds());
                assert!(queue.claim(&**c, 1).await.unwrap().is_empty(), "not claimable during backoff");
                clock.set(at);
            }
            None => {
                assert_eq!(outcome.status, TaskStatus::Failed);
                assert_eq!(attempt, 3, "the fourth failure exhausts max_retries = 3");
            }
        }
    }

    assert_eq!(delays, vec![30, 60, 120]);
    let task = reload(&db, &queue, id).await;
    assert_eq!(task.status, TaskStatus::Failed);
    assert_eq!(task.retry_count, 3);
    assert_eq!(task.error_message.as_deref(), Some("503 overloaded (3) (gave up after 4 attempts)"));
    assert_eq!(task.last_error.as_deref(), Some("503 overloaded (3)"));
}

#[tokio::test]
async fn jittered_backoff_stays_within_ten_percent_of_the_schedule() {
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let queue = queue.with_retry_policy(RetryPolicy::default());
    let c = db.client().await;
    let personas = fixtures::personas(&**c, "jitter", 40).await;
    let board = fixtures::board(&**c, "b", &["x"]).await;
    let new: Vec<NewTask> = personas.iter().map(|p| POST.task(*p, Target::Board(board), t0())).collect();
    queue.enqueue(&**c, &new).await.unwrap();

    let claimed = queue.claim(&**c, 40).await.unwrap();
    assert_eq!(claimed.len(), 40);
    let mut distinct = HashSet::new();
    for task in &claimed {
        let next = queue.fail(&**c, task, &Failure::Retryable("timeout".into()), &Outcome::default()).await.unwrap();
        let delay_ms = (next.next_attempt_at.unwrap() - t0()).num_milliseconds();
        assert!((27_000..=33_000).contains(&delay_ms), "{delay_ms} ms is within 30 s ± 10 %");
        distinct.insert(delay_ms);
    }
    assert!(distinct.len() > 10, "retries of a burst spread out ({} distinct delays)", distinct.len());
}

#[tokio::test]
async fn reschedule_moves_the_task_without_using_a_retry() {
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let (persona, _, post) = world(&db).await;
    let c = db.client().await;
    let task = claim_one(&db, &queue, persona, COMMENT, post_target(post)).await;

    let later = t0() + Duration::minutes(42);
    queue.reschedule(&**c, &task, later, "persona over 4 actions/hour", &Outcome::default()).await.unwrap();

    let task = reload(&db, &queue, task.id).await;
    assert_eq!(task.status, TaskStatus::Pending);
    assert_eq!(task.scheduled_at, later);
    assert_eq!(task.retry_count, 0);
    assert_eq!(task.last_error.as_deref(), Some("persona over 4 actions/hour"));
}

#[tokio::test]
async fn cancel_and_retry_now_follow_the_state_machine() {
    let db = TestDb::new().await;
    let (queue, clock) = queue_at(t0());
    let (persona, board, post) = world(&db).await;
    let c = db.client().await;

    // PENDING → SKIPPED by an operator.
    let pending = queue
        .enqueue(&**c, &[VOTE.task(persona, post_target(post), t0() + Duration::hours(1))])
        .await
        .unwrap()
        .inserted[0];
    let cancelled = queue.cancel(&**c, pending, "cancelled by operator").await.unwrap();
    assert_eq!(cancelled.status, TaskStatus::Skipped);
    assert_eq!(cancelled.skip_reason.as_deref(), Some("cancelled by operator"));

    // SKIPPED → PENDING, due now.
    clock.advance(Duration::minutes(3));
    let retried = queue.retry_now(&**c, pending).await.unwrap();
    assert_eq!(retried.status, TaskStatus::Pending);
    assert_eq!(retried.scheduled_at, t0() + Duration::minutes(3));
    assert!(retried.completed_at.is_none() && retried.skip_reason.is_none());

    // FAILED → PENDING with its retries reset.
    let other = fixtures::persona(&**c, "bob", &["x"]).await;
    let failing = claim_one(&db, &queue, other, POST, Target::Board(board)).await;
    queue.fail(&**c, &failing, &Failure::Permanent("bad".into()), &Outcome::default()).await.unwrap();
    let again = queue.retry_now(&**c, failing.id).await.unwrap();
    assert_eq!((again.status, again.retry_count), (TaskStatus::Pending, 0));
    assert_eq!(again.last_error.as_deref(), Some("bad"));
}

#[tokio::test]
async fn illegal_transitions_are_refused_with_a_typed_error() {
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let (persona, _, post) = world(&db).await;
    let mut c = db.client().await;
    let task = claim_one(&db, &queue, persona, COMMENT, post_target(post)).await;
    queue.complete(&**c, &task, &Outcome::default()).await.unwrap();

    // Finalising twice.
    assert!(
        matches!(queue.complete(&**c, &task, &Outcome::default()).await, Err(QueueError::LostClaim(id)) if id == task.id)
    );
    assert!(matches!(queue.skip(&**c, &task, "x", &Outcome::default()).await, Err(QueueError::LostClaim(_))));
    assert!(matches!(
        queue.fail(&**c, &task, &Failure::Retryable("x".into()), &Outcome::default()).await,
        Err(QueueError::LostClaim(_))
    ));
    assert!(matches!(
        queue.reschedule(&**c, &task, t0(), "x", &Outcome::default()).await,
        Err(QueueError::LostClaim(_))
    ));
    // DONE cannot be cancelled or retried: that would publish twice.
    assert!(matches!(
        queue.cancel(&**c, task.id, "x").await,
        Err(QueueError::IllegalTransition { status: TaskStatus::Done, action: "cancel", .. })
    ));
    assert!(matches!(
        queue.retry_now(&**c, task.id).await,
        Err(QueueError::IllegalTransition { status: TaskStatus::Done, action: "retry", .. })
    ));
    // A task that was never claimed cannot be finalised.
    let pending = queue.get(&**c, task.id).await.unwrap();
    let mut unclaimed = pending.clone();
    unclaimed.claim_token = None;
    assert!(matches!(
        queue.complete(&**c, &unclaimed, &Outcome::default()).await,
        Err(QueueError::IllegalTransition { .. })
    ));
    // A RUNNING task cannot be retried now; unknown ids are NotFound.
    let running = claim_one(&db, &queue, persona, VOTE, post_target(post)).await;
    assert!(matches!(
        queue.retry_now(&**c, running.id).await,
        Err(QueueError::IllegalTransition { status: TaskStatus::Running, .. })
    ));
    let missing = Uuid::new_v4();
    assert!(matches!(queue.cancel(&**c, missing, "x").await, Err(QueueError::NotFound(id)) if id == missing));
    assert!(matches!(queue.retry_now(&**c, missing).await, Err(QueueError::NotFound(_))));

    // The table itself refuses impossible states, whoever writes them.
    let mut tx = db::begin(&mut c).await.unwrap();
    for (sql, what) in [
        ("UPDATE persona_tasks SET locked_until = NULL WHERE id = $1", "RUNNING without a lease"),
        ("UPDATE persona_tasks SET status = 'DONE' WHERE id = $1", "DONE without completed_at"),
        ("UPDATE persona_tasks SET status = 'WAITING' WHERE id = $1", "an unknown status"),
        ("UPDATE persona_tasks SET retry_count = -1 WHERE id = $1", "a negative retry count"),
    ] {
        let savepoint = tx.savepoint("refusal").await.unwrap(); // rolled back when dropped
        let refused = savepoint.query_typed(sql, &[(&running.id, Type::UUID)]).await;
        assert!(refused.is_err(), "{what} must be refused");
    }
}

#[tokio::test]
async fn cancelling_a_running_task_makes_its_worker_roll_back() {
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let (persona, _, post) = world(&db).await;
    let task = claim_one(&db, &queue, persona, COMMENT, post_target(post)).await;

    let operator = db.client().await;
    queue.cancel(&**operator, task.id, "operator cancelled it").await.unwrap();

    let mut worker = db.client().await;
    let tx = db::begin(&mut worker).await.unwrap();
    let comment = fixtures::comment(&tx, post, None, fixtures::Author::Persona(persona), "too late", t0()).await;
    let refused = queue.complete(&tx, &task, &Outcome { result_id: Some(comment), ..Outcome::default() }).await;
    assert!(matches!(refused, Err(QueueError::LostClaim(_))));
    drop(tx); // roll back

    let count: i64 = operator
        .query_typed_one("SELECT count(*) FROM comments WHERE id = $1", &[(&comment, Type::UUID)])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0, "the cancelled task's comment was rolled back");
    assert_eq!(reload(&db, &queue, task.id).await.status, TaskStatus::Skipped);
}

#[tokio::test]
async fn a_crashed_claim_is_rescued_after_its_lease_and_completed_exactly_once() {
    let db = TestDb::new().await;
    let (queue, clock) = queue_at(t0());
    let (persona, _, post) = world(&db).await;
    {
        let c = db.client().await;
        queue.enqueue(&**c, &[COMMENT.task(persona, post_target(post), t0())]).await.unwrap();
    }

    // A worker claims on its own connection, then dies without finishing.
    let crashed_claim = {
        let worker = db.connect().await;
        let claimed = queue.claim(&worker, 5).await.unwrap();
        assert_eq!(claimed.len(), 1);
        claimed.into_iter().next().unwrap()
    }; // connection dropped here

    let c = db.client().await;
    clock.advance(Duration::minutes(4));
    assert_eq!(queue.rescue_expired(&**c).await.unwrap().requeued, Vec::<Uuid>::new(), "lease still running");
    assert!(queue.claim(&**c, 5).await.unwrap().is_empty(), "a leased task is not claimed twice");

    clock.advance(Duration::minutes(2)); // past the 5-minute lease
    let rescue = queue.rescue_expired(&**c).await.unwrap();
    assert_eq!(rescue.requeued, vec![crashed_claim.id]);
    let rescued = reload(&db, &queue, crashed_claim.id).await;
    assert_eq!((rescued.status, rescued.retry_count), (TaskStatus::Pending, 1));
    assert!(rescued.last_error.as_deref().unwrap_or_default().contains("lease expired"));

    clock.set(rescued.scheduled_at);
    let second = queue.claim(&**c, 5).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].claim_token, crashed_claim.claim_token);
    let mut c2 = db.client().await;
    let tx = db::begin(&mut c2).await.unwrap();
    let published =
        fixtures::comment(&tx, post, None, fixtures::Author::Persona(persona), "hello", clock_now(&queue)).await;
    queue.complete(&tx, &second[0], &Outcome { result_id: Some(published), ..Outcome::default() }).await.unwrap();
    tx.commit().await.unwrap();

    // The crashed worker wakes up and tries to finish with its old claim: refused, rolled back.
    let tx = db::begin(&mut c2).await.unwrap();
    let late =
        fixtures::comment(&tx, post, None, fixtures::Author::Persona(persona), "hello again", clock_now(&queue)).await;
    assert!(matches!(queue.complete(&tx, &crashed_claim, &Outcome::default()).await, Err(QueueError::LostClaim(_))));
    drop(tx);

    let comments: i64 = c
        .query_typed_one("SELECT count(*) FROM comments WHERE persona_id = $1", &[(&persona, Type::UUID)])
        .await
        .unwrap()
        .get(0);
    assert_eq!(comments, 1, "published exactly once ({late} was rolled back)");
    let done = reload(&db, &queue, crashed_claim.id).await;
    assert_eq!((done.status, done.result_id), (TaskStatus::Done, Some(published)));
}

#[tokio::test]
async fn a_task_whose_lease_expires_with_no_retries_left_fails() {
    let db = TestDb::new().await;
    let (queue, clock) = queue_at(t0());
    let (persona, _, post) = world(&db).await;
    let c = db.client().await;
    let id = queue.enqueue(&**c, &[COMMENT.task(persona, post_target(post), t0())]).await.unwrap().inserted[0];
    c.query_typed("UPDATE persona_tasks SET retry_count = max_retries WHERE id = $1", &[(&id, Type::UUID)])
        .await
        .unwrap();
    queue.claim(&**c, 1).await.unwrap();

    clock.advance(Duration::minutes(6));
    let rescue = queue.rescue_expired(&**c).await.unwrap();

    assert_eq!(rescue.failed, vec![id]);
    let task = reload(&db, &queue, id).await;
    assert_eq!(task.status, TaskStatus::Failed);
    assert!(task.error_message.unwrap().contains("gave up after 4 attempts"));
}

#[tokio::test]
async fn the_dedupe_index_allows_one_live_task_per_persona_type_and_target() {
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let (persona, board, post) = world(&db).await;
    let c = db.client().await;
    let other_board = fixtures::board(&**c, "other", &["x"]).await;
    let comment = COMMENT.task(persona, post_target(post), t0());
    let post_on = |b: Uuid| POST.task(persona, Target::Board(b), t0());

    let first = queue.enqueue(&**c, &[comment.clone(), comment.clone(), post_on(board)]).await.unwrap();
    assert_eq!((first.inserted.len(), first.skipped), (2, 1), "a duplicate inside one batch is skipped");
    let second = queue.enqueue(&**c, &[comment.clone(), post_on(board), post_on(other_board)]).await.unwrap();
    assert_eq!((second.inserted.len(), second.skipped), (1, 2), "null targets compare equal too");
    let vote = VOTE.task(persona, post_target(post), t0());
    assert_eq!(queue.enqueue(&**c, &[vote]).await.unwrap().inserted.len(), 1, "another type is another task");

    // Once the comment task is finished, the same comment task may be enqueued again (memory, not the
    // queue, decides whether the persona has already commented).
    let claimed = queue.claim(&**c, 10).await.unwrap();
    for t in &claimed {
        queue.complete(&**c, t, &Outcome::default()).await.unwrap();
    }
    let mut remaining = claimed.len();
    while remaining < 4 {
        let more = queue.claim(&**c, 10).await.unwrap();
        for t in &more {
            queue.complete(&**c, t, &Outcome::default()).await.unwrap();
        }
        remaining += more.len();
    }
    assert_eq!(queue.enqueue(&**c, &[comment]).await.unwrap().inserted.len(), 1);

    // The index holds against raw inserts as well.
    let raw = c
        .query_typed(
            "INSERT INTO persona_tasks (persona_id, task_type, post_id, scheduled_at) VALUES ($1, 'comment', $2, $3)",
            &[(&persona, Type::UUID), (&post, Type::UUID), (&t0(), Type::TIMESTAMPTZ)],
        )
        .await;
    let err = db::DbError::from(raw.unwrap_err());
    assert!(err.is_unique_violation_of("persona_tasks_live_dedupe_key"), "{err}");
}

#[tokio::test]
async fn a_persona_never_has_two_running_tasks() {
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let (persona, board, post) = world(&db).await;
    let c = db.client().await;
    let other = fixtures::persona(&**c, "bob", &["x"]).await;
    queue
        .enqueue(
            &**c,
            &[
                COMMENT.task(persona, post_target(post), t0() - Duration::minutes(3)),
                VOTE.task(persona, post_target(post), t0() - Duration::minutes(2)),
                POST.task(persona, Target::Board(board), t0()),
                VOTE.task(other, post_target(post), t0()),
            ],
        )
        .await
        .unwrap();

    let first = queue.claim(&**c, 10).await.unwrap();
    let by_persona: Vec<Uuid> = first.iter().map(|t| t.persona_id).collect();
    assert_eq!(first.len(), 2, "one task per persona: {by_persona:?}");
    assert!(by_persona.contains(&persona) && by_persona.contains(&other));
    let mine = first.iter().find(|t| t.persona_id == persona).unwrap();
    assert_eq!(mine.task_type, "comment", "the oldest due task of the persona goes first");
    assert!(queue.claim(&**c, 10).await.unwrap().is_empty(), "the persona is busy");

    queue.complete(&**c, mine, &Outcome::default()).await.unwrap();
    let next = queue.claim(&**c, 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].task_type, "vote");

    // Even a raw write cannot make a second RUNNING task for the persona.
    let post_task = c
        .query_typed_one(
            "SELECT id FROM persona_tasks WHERE persona_id = $1 AND task_type = 'post'",
            &[(&persona, Type::UUID)],
        )
        .await
        .unwrap()
        .get::<_, Uuid>(0);
    let raw = c
        .query_typed(
            "UPDATE persona_tasks SET status = 'RUNNING', locked_until = $2, claim_token = gen_random_uuid() WHERE id = $1",
            &[(&post_task, Type::UUID), (&t0(), Type::TIMESTAMPTZ)],
        )
        .await;
    let err = db::DbError::from(raw.unwrap_err());
    assert!(err.is_unique_violation_of("persona_tasks_one_running_per_persona_key"), "{err}");
}

#[tokio::test]
async fn stats_count_by_status_and_type_with_the_oldest_due_age() {
    let db = TestDb::new().await;
    let (queue, clock) = queue_at(t0());
    let (persona, board, post) = world(&db).await;
    let c = db.client().await;
    let other = fixtures::persona(&**c, "bob", &["x"]).await;
    queue
        .enqueue(
            &**c,
            &[
                COMMENT.task(persona, post_target(post), t0() - Duration::minutes(10)),
                POST.task(persona, Target::Board(board), t0() + Duration::hours(1)),
                VOTE.task(other, post_target(post), t0() - Duration::minutes(1)),
            ],
        )
        .await
        .unwrap();
    let claimed = queue.claim(&**c, 1).await.unwrap();
    queue
        .fail(
            &**c,
            &claimed[0],
            &Failure::Permanent("x".into()),
            &Outcome { prompt_tokens: Some(10), completion_tokens: Some(3), ..Outcome::default() },
        )
        .await
        .unwrap();
    clock.advance(Duration::minutes(1));

    let stats = queue.stats(&**c).await.unwrap();

    assert_eq!(stats.by_status["PENDING"], 2);
    assert_eq!(stats.by_status["FAILED"], 1);
    assert_eq!(stats.by_status["RUNNING"], 0);
    assert_eq!(stats.by_status_and_type["FAILED"]["comment"], 1);
    assert_eq!(stats.by_status_and_type["PENDING"]["post"], 1);
    assert_eq!(stats.failed_last_24h, 1);
    assert_eq!((stats.prompt_tokens_last_24h, stats.completion_tokens_last_24h), (10, 3));
    assert!((stats.oldest_due_age_secs - 120.0).abs() < 0.001, "the vote has been due for 2 minutes");
    clock.advance(Duration::hours(25));
    assert_eq!(queue.stats(&**c).await.unwrap().failed_last_24h, 0);
}

/// 8 claimers on separate connections drain 5,000 tasks; each completion commits with an effect row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_claimers_drain_5000_tasks_each_exactly_once() {
    init_tracing();
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let c = db.client().await;
    c.batch_execute("CREATE TABLE test_effects (task_id uuid NOT NULL, claimer int NOT NULL)").await.unwrap();
    let personas = fixtures::personas(&**c, "p", 250).await;
    let board = fixtures::board(&**c, "b", &["x"]).await;
    let posts: Vec<Uuid> = {
        let mut v = Vec::new();
        for i in 0..20 {
            v.push(fixtures::human_post(&**c, board, &format!("post {i}"), t0()).await);
        }
        v
    };
    let mut new = Vec::new();
    for (i, persona) in personas.iter().enumerate() {
        for (j, post) in posts.iter().enumerate() {
            new.push(COMMENT.task(*persona, post_target(*post), t0() - Duration::seconds(((i + j) % 97) as i64)));
        }
    }
    assert_eq!(new.len(), 5000);
    for chunk in new.chunks(1000) {
        assert_eq!(queue.enqueue(&**c, chunk).await.unwrap().inserted.len(), chunk.len());
    }

    let in_flight: Arc<Mutex<HashMap<Uuid, usize>>> = Arc::default();
    let mut claimers = Vec::new();
    for claimer in 0..8 {
        let queue = queue.clone();
        let url = db.url().to_owned();
        let in_flight = in_flight.clone();
        claimers.push(tokio::spawn(async move {
            let mut client = db::connect_one(&url, None).await.unwrap();
            let mut done = 0usize;
            let mut idle_rounds = 0;
            loop {
                let claimed = queue.claim(&client, 10).await.unwrap();
                if claimed.is_empty() {
                    idle_rounds += 1;
                    if idle_rounds > 50 {
                        break;
                    }
                    tokio::task::yield_now().await;
                    continue;
                }
                idle_rounds = 0;
                for task in claimed {
                    {
                        let mut map = in_flight.lock().unwrap();
                        let n = map.entry(task.persona_id).or_default();
                        *n += 1;
                        assert_eq!(*n, 1, "persona {} has two tasks in flight", task.persona_id);
                    }
                    let tx = client.transaction().await.unwrap();
                    tx.query_typed(
                        "INSERT INTO test_effects (task_id, claimer) VALUES ($1, $2)",
                        &[(&task.id, Type::UUID), (&claimer, Type::INT4)],
                    )
                    .await
                    .unwrap();
                    // Release the in-flight mark before the commit makes the persona claimable again.
                    in_flight.lock().unwrap().entry(task.persona_id).and_modify(|n| *n -= 1);
                    queue.complete(&tx, &task, &Outcome::default()).await.unwrap();
                    tx.commit().await.unwrap();
                    done += 1;
                }
            }
            done
        }));
    }
    let mut per_claimer = Vec::new();
    for claimer in claimers {
        per_claimer.push(claimer.await.unwrap());
    }

    assert_eq!(per_claimer.iter().sum::<usize>(), 5000, "per claimer: {per_claimer:?}");
    assert!(per_claimer.iter().filter(|n| **n > 0).count() >= 2, "the work was shared: {per_claimer:?}");
    let row = c
        .query_typed_one(
            "SELECT (SELECT count(*) FROM persona_tasks WHERE status = 'DONE'),
                    (SELECT count(*) FROM persona_tasks WHERE status <> 'DONE'),
                    (SELECT count(*) FROM test_effects),
                    (SELECT count(DISTINCT task_id) FROM test_effects)",
            &[],
        )
        .await
        .unwrap();
    let (done, not_done, effects, distinct): (i64, i64, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!((done, not_done), (5000, 0), "every task DONE, none lost");
    assert_eq!((effects, distinct), (5000, 5000), "every effect committed exactly once");
}

/// Claims on a pool through whatever `DATABASE_URL`/`TEST_POOLER_URL` reach, many statements in flight:
/// under a transaction-mode pooler a named prepared statement would fail here.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_lifecycle_runs_on_pooled_connections_concurrently() {
    let db = TestDb::new().await;
    let (queue, clock) = queue_at(t0());
    let c = db.client().await;
    let personas = fixtures::personas(&**c, "pool", 40).await;
    let board = fixtures::board(&**c, "b", &["x"]).await;
    drop(c);
    let mut handles = Vec::new();
    for persona in personas {
        let pool = db.pool().clone();
        let queue = queue.clone();
        handles.push(tokio::spawn(async move {
            let target = Target::Board(board);
            let c = pool.get().await.unwrap();
            queue.enqueue(&**c, &[POST.task(persona, target, t0())]).await.unwrap();
            queue.stats(&**c).await.unwrap();
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    clock.advance(Duration::seconds(1));
    let mut handles = Vec::new();
    for _ in 0..8 {
        let pool = db.pool().clone();
        let queue = queue.clone();
        handles.push(tokio::spawn(async move {
            let mut finished = 0;
            loop {
                let mut c = pool.get().await.unwrap();
                let claimed = queue.claim(&**c, 3).await.unwrap();
                if claimed.is_empty() {
                    return finished;
                }
                for task in claimed {
                    let tx = db::begin(&mut c).await.unwrap();
                    queue.complete(&tx, &task, &Outcome::default()).await.unwrap();
                    tx.commit().await.unwrap();
                    finished += 1;
                }
            }
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    assert_eq!(total, 40);
    let stats = queue.stats(&**db.client().await).await.unwrap();
    assert_eq!(stats.by_status["DONE"], 40);
}

#[tokio::test]
async fn concurrent_claims_racing_for_one_persona_never_both_win() {
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let c = db.client().await;
    let persona = fixtures::persona(&**c, "solo", &["x"]).await;
    let board = fixtures::board(&**c, "b", &["x"]).await;
    let mut new = Vec::new();
    for i in 0..30 {
        let post = fixtures::human_post(&**c, board, &format!("p{i}"), t0()).await;
        new.push(VOTE.task(persona, post_target(post), t0()));
    }
    queue.enqueue(&**c, &new).await.unwrap();

    for _round in 0..10 {
        let claims: Vec<_> = (0..6)
            .map(|_| {
                let pool = db.pool().clone();
                let queue = queue.clone();
                tokio::spawn(async move {
                    let c = pool.get().await.unwrap();
                    queue.claim(&**c, 5).await.unwrap()
                })
            })
            .collect();
        let mut won = Vec::new();
        for claim in claims {
            won.extend(claim.await.unwrap());
        }
        assert_eq!(won.len(), 1, "exactly one claimer gets the persona's next task");
        queue.complete(&**c, &won[0], &Outcome::default()).await.unwrap();
    }
}

async fn count(c: &impl GenericClient, sql: &str) -> i64 {
    c.query_typed_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn enqueue_reports_what_it_skipped_and_refuses_unknown_personas_clearly() {
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let (_, _, post) = world(&db).await;
    let c = db.client().await;
    let ghost = Uuid::new_v4();
    let err = queue.enqueue(&**c, &[VOTE.task(ghost, post_target(post), t0())]).await.unwrap_err();
    assert!(matches!(err, QueueError::Db(_)), "{err}");
    assert!(!err.is_retryable(), "a foreign-key violation will not heal by retrying");
    assert_eq!(count(&**c, "SELECT count(*) FROM persona_tasks").await, 0);
    assert_eq!(queue.enqueue(&**c, &[]).await.unwrap(), shared::queue::EnqueueReport::default());
}

#[tokio::test]
async fn no_reschedule_reaches_further_than_an_hour() {
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let c = db.client().await;
    let persona = testkit::fixtures::persona(&**c, "ada", &["x"]).await;
    let board = testkit::fixtures::board(&**c, "b", &["x"]).await;
    let target = Target::Board(board);
    queue.enqueue(&**c, &[POST.task(persona, target, t0())]).await.unwrap();
    let task = queue.claim(&**c, 1).await.unwrap().remove(0);

    // A server's RetryInfo or a limiter row saying "ten years".
    let at =
        queue.reschedule(&**c, &task, t0() + Duration::days(3650), "rate limited", &Outcome::default()).await.unwrap();

    assert_eq!(at, t0() + shared::queue::MAX_RESCHEDULE);
    let stored = queue.get(&**c, task.id).await.unwrap();
    assert_eq!((stored.status, stored.scheduled_at, stored.retry_count), (TaskStatus::Pending, at, 0));
}

/// The backoff formula, written once (in the statement that applies it): 30 s doubling, capped.
#[tokio::test]
async fn the_retry_delay_doubles_from_thirty_seconds_and_is_capped() {
    let db = TestDb::new().await;
    let clock = shared::clock::ManualClock::new(t0());
    let queue = Queue::new(clock.clone(), std::time::Duration::from_secs(300), 10).with_retry_policy(RetryPolicy {
        base: Duration::seconds(30),
        cap: Duration::minutes(10),
        jitter: 0.0,
    });
    let c = db.client().await;
    let persona = fixtures::persona(&**c, "ada", &["x"]).await;
    let board = fixtures::board(&**c, "b", &["x"]).await;
    let target = Target::Board(board);
    queue.enqueue(&**c, &[POST.task(persona, target, t0())]).await.unwrap();
    let mut delays = Vec::new();
    for _ in 0..7 {
        let task = queue.claim(&**c, 1).await.unwrap().remove(0);
        let now = shared::clock::Clock::now(&*clock);
        let outcome = queue.fail(&**c, &task, &Failure::Retryable("flaky".into()), &Outcome::default()).await.unwrap();
        let next = outcome.next_attempt_at.unwrap();
        delays.push((next - now).num_seconds());
        clock.set(next);
    }
    assert_eq!(delays, vec![30, 60, 120, 240, 480, 600, 600]);
}

/// What the narrow live tables hold, beside what `persona_tasks` says they should: the live tasks'
/// (id, persona, type, target, scheduled_at), and each running task's (persona, id).
async fn live_tables_and_truth(c: &impl GenericClient) -> [(Vec<String>, Vec<String>); 2] {
    let rows = |sql: &'static str| async move {
        let mut rows: Vec<String> =
            c.query_typed(sql, &[]).await.unwrap().iter().map(|r| r.get::<_, String>(0)).collect();
        rows.sort();
        rows
    };
    [
        (
            rows(
                "SELECT concat_ws('|', task_id, persona_id, task_type, post_id, comment_id, board_id, scheduled_at)
                  FROM persona_task_queue",
            )
            .await,
            rows(
                "SELECT concat_ws('|', id, persona_id, task_type, post_id, comment_id, board_id, scheduled_at)
                  FROM persona_tasks WHERE status IN ('PENDING', 'RUNNING')",
            )
            .await,
        ),
        (
            rows("SELECT concat_ws('|', persona_id, task_id) FROM persona_task_leases WHERE task_id IS NOT NULL").await,
            rows("SELECT concat_ws('|', persona_id, id) FROM persona_tasks WHERE status = 'RUNNING'").await,
        ),
    ]
}

async fn assert_live_tables_in_step(c: &impl GenericClient, after: &str) {
    let [(queue, live), (leases, running)] = live_tables_and_truth(c).await;
    assert_eq!(queue, live, "persona_task_queue after {after}");
    assert_eq!(leases, running, "persona_task_leases after {after}");
}

#[tokio::test]
async fn the_narrow_live_tables_follow_every_write_to_persona_tasks() {
    let db = TestDb::new().await;
    let (queue, clock) = queue_at(t0());
    let (persona, board, post) = world(&db).await;
    let c = db.client().await;
    let bob = fixtures::persona(&**c, "bob", &["x"]).await;
    let doomed = fixtures::human_post(&**c, board, "Doomed", t0() - Duration::hours(2)).await;
    queue
        .enqueue(
            &**c,
            &[
                COMMENT.task(persona, post_target(post), t0()),
                VOTE.task(persona, post_target(post), t0() + Duration::minutes(1)),
                POST.task(persona, Target::Board(board), t0() + Duration::minutes(2)),
                COMMENT.task(bob, post_target(doomed), t0()),
                VOTE.task(bob, post_target(post), t0() + Duration::minutes(3)),
            ],
        )
        .await
        .unwrap();
    assert_live_tables_in_step(&**c, "enqueue").await;

    let claimed = queue.claim(&**c, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_live_tables_in_step(&**c, "a claim").await;
    let ada = claimed.iter().find(|t| t.persona_id == persona).unwrap();
    queue.complete(&**c, ada, &Outcome::default()).await.unwrap();
    assert_live_tables_in_step(&**c, "a completion").await;

    // A running task whose post is deleted goes with it, and its persona is free again.
    c.execute_typed("DELETE FROM posts WHERE id = $1", &[(&doomed, Type::UUID)]).await.unwrap();
    assert_live_tables_in_step(&**c, "a cascaded delete of a running task").await;

    clock.advance(Duration::minutes(5));
    let next = queue.claim(&**c, 10).await.unwrap();
    assert_eq!(next.len(), 2, "both personas are free: {next:?}");
    let ada = next.iter().find(|t| t.persona_id == persona).unwrap().clone();
    let bobs = next.iter().find(|t| t.persona_id == bob).unwrap().clone();
    queue.fail(&**c, &ada, &Failure::Retryable("flaky".into()), &Outcome::default()).await.unwrap();
    assert_live_tables_in_step(&**c, "a retryable failure").await;
    queue
        .reschedule(&**c, &bobs, clock_now(&queue) + Duration::minutes(10), "rate limited", &Outcome::default())
        .await
        .unwrap();
    assert_live_tables_in_step(&**c, "a reschedule").await;
    let cancelled = queue.cancel(&**c, bobs.id, "operator").await.unwrap();
    assert_live_tables_in_step(&**c, "a cancel").await;
    queue.retry_now(&**c, cancelled.id).await.unwrap();
    assert_live_tables_in_step(&**c, "a retry now").await;

    clock.advance(Duration::hours(1));
    let stale = queue.claim(&**c, 10).await.unwrap();
    assert!(!stale.is_empty());
    clock.advance(Duration::hours(1));
    assert_eq!(queue.rescue_expired(&**c).await.unwrap().requeued.len(), stale.len());
    assert_live_tables_in_step(&**c, "a rescue").await;

    // An operator's own SQL: moved, finished, and revived by hand.
    c.batch_execute(
        "UPDATE persona_tasks SET scheduled_at = scheduled_at + interval '1 minute' WHERE status = 'PENDING'",
    )
    .await
    .unwrap();
    assert_live_tables_in_step(&**c, "a raw reschedule").await;
    c.batch_execute(
        "UPDATE persona_tasks SET status = 'SKIPPED', completed_at = scheduled_at
         WHERE id = (SELECT id FROM persona_tasks WHERE status = 'PENDING' ORDER BY scheduled_at, id LIMIT 1)",
    )
    .await
    .unwrap();
    assert_live_tables_in_step(&**c, "a raw finish").await;
    c.batch_execute("TRUNCATE persona_tasks CASCADE").await.unwrap();
    assert_live_tables_in_step(&**c, "a truncate").await;
    assert_eq!(count(&**c, "SELECT count(*) FROM persona_task_queue").await, 0);
}

#[tokio::test]
async fn a_claim_and_a_completion_are_hot_updates_that_touch_no_index_of_persona_tasks() {
    let db = TestDb::new().await;
    let (queue, _clock) = queue_at(t0());
    let c = db.client().await;
    // Few enough that one transaction's new versions fit in the room the fillfactor leaves on the page
    // (within one transaction nothing can be pruned).
    let personas = fixtures::personas(&**c, "hot_", 6).await;
    let board = fixtures::board(&**c, "hot", &["x"]).await;
    let tasks: Vec<NewTask> = personas.iter().map(|p| POST.task(*p, Target::Board(board), t0())).collect();
    queue.enqueue(&**c, &tasks).await.unwrap();

    // The transaction's own counters: every update of persona_tasks, and those that stayed HOT.
    c.batch_execute("BEGIN").await.unwrap();
    let claimed = queue.claim(&**c, 6).await.unwrap();
    assert_eq!(claimed.len(), 6);
    for task in &claimed {
        queue.complete(&**c, task, &Outcome::default()).await.unwrap();
    }
    let row = c
        .query_typed_one(
            "SELECT pg_stat_get_xact_tuples_updated('persona_tasks'::regclass),
                    pg_stat_get_xact_tuples_hot_updated('persona_tasks'::regclass)",
            &[],
        )
        .await
        .unwrap();
    c.batch_execute("COMMIT").await.unwrap();
    let (updated, hot): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(updated, 12, "a claim and a completion per task");
    assert_eq!(hot, updated, "no index of persona_tasks names a column the claim or the completion changes");
}
