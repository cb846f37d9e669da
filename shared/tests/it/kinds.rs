//! Adding a kind is its module plus one registry line. `Shout` — a comment in capitals, defined only
//! here — is added to an engine's registry and nothing else: the queue, the worker, the publish gate,
//! the offline writer and the admin API all take it as they take the built-in kinds.

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::ai::Usage;
use shared::ai::parse::{self, ParseError, limits};
use shared::config::AdminKey;
use shared::context::{BoardView, PostContext};
use shared::db::Type;
use shared::db::content;
use shared::db::memory::MemoryTarget;
use shared::kinds::target::{self, Live};
use shared::kinds::{
    Action, ActionError, Kind, Memory, Prepared, Published, Registry, RunOutcome, Services, Step, Written, content_id,
    post, remember,
};
use shared::persona::Persona;
use shared::prompt::{Ask, text_field};
use shared::queue::{Target, TargetKind, Task, TaskStatus};
use testkit::fixtures::{self, Author};
use testkit::{GeminiFake, Reply, TestDb};
use tower::ServiceExt;
use uuid::Uuid;

use crate::helpers::{count, gemini_engine, offline_engine, t0};

// ---- the whole kind --------------------------------------------------------------------------------

/// Shouts at a post: a top-level comment, in capitals.
struct Shout;

/// What a shout says. Its own type: the pipeline hands `publish` exactly what `parse` made.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Shouted {
    body: String,
}

impl Written for Shouted {
    fn visible_text(&self) -> Option<String> {
        Some(self.body.clone())
    }
}

#[async_trait]
impl Action for Shout {
    type Seen = PostContext;
    type Draft = Shouted;
    type Made = ();

    fn name(&self) -> &'static str {
        "shout"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[TargetKind::Post]
    }

    async fn observe(
        &self,
        _services: &Services<'_>,
        db: &tokio_postgres::Client,
        _task: &Task,
        target: Option<Target>,
        persona: &Persona,
    ) -> Result<Prepared<PostContext>, ActionError> {
        let Live::Post(post) = target::for_task(db, target).await? else {
            return Err(ActionError::Invalid("a shout needs a post".into()));
        };
        let id = post.view.id;
        Ok(Prepared {
            seen: target::post_scene(db, persona.id, post).await?,
            memory: Some(Memory { target: MemoryTarget::Post(id), action: "commented" }),
            reply_spot: None,
        })
    }

    fn ask(&self, _post: &PostContext, _persona: &Persona, _seed: u64) -> Ask {
        Ask::writing(
            "Shout your reaction to this post, in one short sentence.".into(),
            None,
            json!({ "type": "OBJECT", "properties": { "body": text_field("what you shout") }, "required": ["body"] }),
        )
    }

    fn parse(&self, answer: &str, persona: &Persona) -> Result<Shouted, ParseError> {
        let map = parse::json_object(answer)?;
        Ok(Shouted { body: parse::field(&map, "body", limits::COMMENT_BODY, persona)?.to_uppercase() })
    }

    fn write_offline(&self, _persona: &Persona, post: &PostContext, _seed: u64) -> serde_json::Value {
        json!({ "body": format!("that is a real question: {}", post.post.title) })
    }

    async fn render(
        &self,
        _services: &Services<'_>,
        _task: &Task,
        _persona: &Persona,
        _draft: &Shouted,
        _resumed: Option<serde_json::Value>,
        _usage: &mut Usage,
    ) -> Result<Step<()>, ActionError> {
        Ok(Step::Ready(()))
    }

    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &Task,
        persona: &Persona,
        prepared: &Prepared<PostContext>,
        draft: Shouted,
        _made: (),
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        let post = prepared.seen.post.id;
        let id =
            content::insert_comment(tx, content_id(task, "comment"), post, None, persona.id, &draft.body, now).await?;
        remember(tx, task, prepared.memory, now).await?;
        Ok(Published { result_id: Some(id), result_type: Some("comment") })
    }
}

static SHOUTING: Shout = Shout;
const SHOUT: Kind = Kind::new(&SHOUTING);

// ---- and its one registry line ---------------------------------------------------------------------

fn registry() -> Registry {
    Registry::standard().with(SHOUT)
}

async fn world(engine: &shared::engine::Engine) -> (Uuid, Uuid, Uuid) {
    let c = engine.pool.get().await.unwrap();
    let persona = fixtures::persona(&**c, "loud_lou", &["cooking"]).await;
    let board = fixtures::board(&**c, "home-cooking", &["cooking"]).await;
    let post = fixtures::human_post(&**c, board, "Why is my rice sticky", t0()).await;
    fixtures::comment(&**c, post, None, Author::Human(Uuid::new_v4()), "Rinse it first.", t0()).await;
    (persona, board, post)
}

#[tokio::test]
async fn a_kind_added_to_the_registry_runs_through_the_queue_and_the_worker() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let engine = engine.with_kinds(registry());
    let (persona, _board, post) = world(&engine).await;
    let c = engine.pool.get().await.unwrap();
    engine.queue.enqueue(&**c, &[SHOUT.task(persona, Target::Post(post), t0())]).await.unwrap();

    let batch = shared::worker::drain(&engine, 5, shared::worker::Budget::Unbounded).await;

    assert_eq!((batch.processed, batch.succeeded), (1, 1), "{batch:?}");
    let body: String = c
        .query_typed_one("SELECT body FROM comments WHERE persona_id = $1", &[(&persona, Type::UUID)])
        .await
        .unwrap()
        .get(0);
    assert_eq!(body, "THAT IS A REAL QUESTION: WHY IS MY RICE STICKY");
    assert_eq!(
        count(&engine, "SELECT count(*) FROM persona_tasks WHERE task_type = 'shout' AND status = 'DONE'").await,
        1
    );
}

#[tokio::test]
async fn the_admin_api_triggers_it_and_checks_its_target_like_any_kind() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let engine = engine.with_kinds(registry());
    let (persona, board, post) = world(&engine).await;
    let key = "kinds-test-admin-key-0123456789abcdef";
    let router = shared::admin::router(engine.clone(), Some(AdminKey::new(SecretString::from(key)).unwrap()));
    let send = |uri: &str, body: serde_json::Value| {
        Request::builder()
            .method("POST")
            .uri(uri)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };

    let response = router
        .clone()
        .oneshot(send("/trigger/shout?wait=true", json!({ "post_id": post, "persona_id": persona })))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value =
        serde_json::from_slice(&axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap()).unwrap();
    assert_eq!(body["task"]["status"], "DONE", "{body}");
    assert_eq!(body["task"]["task_type"], "shout");

    let refused = router.clone().oneshot(send("/trigger/shout", json!({ "board_id": board }))).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value =
        serde_json::from_slice(&axum::body::to_bytes(refused.into_body(), usize::MAX).await.unwrap()).unwrap();
    assert_eq!(body["message"], "shout needs post_id");
}

#[tokio::test]
async fn an_engine_without_it_fails_its_tasks_naming_the_kinds_it_knows() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let (persona, _board, post) = world(&engine).await;
    let claimed = crate::helpers::claim_new(&engine, SHOUT.task(persona, Target::Post(post), t0())).await;

    let report = engine.run_task(&claimed).await;

    assert_eq!(report.status, TaskStatus::Failed);
    assert_eq!(
        report.reason.as_deref(),
        Some(
            "unknown task type \"shout\" (this build knows comment, post, reply, vote, image_post, video_post, browse, reflect, tag_posts)"
        )
    );
    assert!(registry().names().contains(&"shout") && !Registry::standard().names().contains(&"shout"));
}

// ---- a kind whose step outlives one invocation -----------------------------------------------------

/// Posts a "painting" that a slow provider takes two more visits to finish: each run before that says
/// to come back, leaving how far it got. Nothing here waits; the queue brings the task back.
struct Painting;

/// What it posts, and what the painter is asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Canvas {
    title: String,
    body: String,
}

impl Written for Canvas {
    fn visible_text(&self) -> Option<String> {
        Some(format!("{}\n\n{}", self.title, self.body))
    }
}

/// Runs before the painting is done.
const PAINTING_VISITS: u64 = 2;

#[async_trait]
impl Action for Painting {
    type Seen = BoardView;
    type Draft = Canvas;
    type Made = u64;

    fn name(&self) -> &'static str {
        "painting"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[TargetKind::Board]
    }

    fn is_post(&self) -> bool {
        true
    }

    async fn observe(
        &self,
        _services: &Services<'_>,
        db: &tokio_postgres::Client,
        task: &Task,
        target: Option<Target>,
        _persona: &Persona,
    ) -> Result<Prepared<BoardView>, ActionError> {
        post::observe_board(db, task, target).await
    }

    fn ask(&self, _board: &BoardView, _persona: &Persona, _seed: u64) -> Ask {
        Ask::writing(
            "Post a painting you are making for the board above: a title and a line about it.".into(),
            None,
            json!({ "type": "OBJECT", "properties": { "title": text_field("title"), "body": text_field("body") },
                    "required": ["title", "body"] }),
        )
    }

    fn parse(&self, answer: &str, persona: &Persona) -> Result<Canvas, ParseError> {
        let map = parse::json_object(answer)?;
        Ok(Canvas {
            title: parse::field(&map, "title", limits::TITLE, persona)?,
            body: parse::field(&map, "body", limits::POST_BODY, persona)?,
        })
    }

    fn write_offline(&self, _persona: &Persona, board: &BoardView, _seed: u64) -> serde_json::Value {
        json!({ "title": format!("Paint for {}", board.slug), "body": "Layer one of three is drying now." })
    }

    async fn render(
        &self,
        services: &Services<'_>,
        _task: &Task,
        _persona: &Persona,
        _draft: &Canvas,
        resumed: Option<serde_json::Value>,
        _usage: &mut Usage,
    ) -> Result<Step<u64>, ActionError> {
        let visits = resumed.and_then(|state| state["visits"].as_u64()).unwrap_or(0);
        if visits < PAINTING_VISITS {
            return Ok(Step::Wait {
                until: services.clock.now() + Duration::seconds(30),
                state: json!({ "visits": visits + 1 }),
                reason: format!("the paint is still wet ({} of {PAINTING_VISITS})", visits + 1),
            });
        }
        Ok(Step::Ready(visits))
    }

    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &Task,
        persona: &Persona,
        prepared: &Prepared<BoardView>,
        draft: Canvas,
        visits: u64,
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        let body = format!("{} (finished after {visits} visits)", draft.body);
        let id = content::insert_post(tx, post::post_id(task), prepared.seen.id, persona.id, &draft.title, &body, now)
            .await?;
        remember(tx, task, prepared.memory, now).await?;
        Ok(Published { result_id: Some(id), result_type: Some("post") })
    }
}

static PAINTER: Painting = Painting;
const PAINTING: Kind = Kind::new(&PAINTER);

#[tokio::test]
async fn a_step_that_outlives_an_invocation_waits_without_a_retry_and_resumes_with_the_draft_it_kept() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) = gemini_engine(&db, &fake, &[]);
    let engine = engine.with_kinds(Registry::standard().with(PAINTING));
    fake.push(Reply::Json(json!({ "title": "Harbour at dusk", "body": "Layer one of three is drying now." })));
    let c = engine.pool.get().await.unwrap();
    let persona = fixtures::persona(&**c, "paula_paints", &["art"]).await;
    let board = fixtures::board(&**c, "art", &["art"]).await;
    let id =
        engine.queue.enqueue(&**c, &[PAINTING.task(persona, Target::Board(board), t0())]).await.unwrap().inserted[0];

    let mut outcomes = Vec::new();
    for _ in 0..PAINTING_VISITS {
        let batch = shared::worker::drain(&engine, 5, shared::worker::Budget::Unbounded).await;
        assert_eq!((batch.processed, batch.waiting), (1, 1), "{batch:?}");
        let task = crate::helpers::task(&engine, id).await;
        outcomes.push((task.status, task.retry_count));
        assert_eq!(count(&engine, "SELECT count(*) FROM posts").await, 0, "nothing is half-published");
        // Not due again until the step said.
        let early = shared::worker::drain(&engine, 5, shared::worker::Budget::Unbounded).await;
        assert_eq!(early.processed, 0);
        clock.advance(Duration::seconds(31));
    }
    assert_eq!(outcomes, vec![(TaskStatus::Pending, 0); PAINTING_VISITS as usize], "waiting uses no retry");
    let kept: serde_json::Value = c
        .query_typed_one("SELECT draft FROM persona_task_steps WHERE task_id = $1", &[(&id, Type::UUID)])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept["title"], "Harbour at dusk", "the draft is kept while the step waits");

    let batch = shared::worker::drain(&engine, 5, shared::worker::Budget::Unbounded).await;
    assert_eq!((batch.processed, batch.succeeded), (1, 1), "{batch:?}");
    let (title, body): (String, String) = {
        let row = c.query_typed_one("SELECT title, body FROM posts", &[]).await.unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(title, "Harbour at dusk");
    assert_eq!(body, "Layer one of three is drying now. (finished after 2 visits)");
    assert_eq!(fake.received().len(), 1, "the model wrote the draft once; the visits after it never ask again");
    assert_eq!(crate::helpers::task(&engine, id).await.status, TaskStatus::Done);
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_task_steps").await, 0, "what was kept is gone with it");
}

#[tokio::test]
async fn a_waiting_task_reports_when_it_comes_back() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let engine = engine.with_kinds(Registry::standard().with(PAINTING));
    let c = engine.pool.get().await.unwrap();
    let persona = fixtures::persona(&**c, "paula_paints", &["art"]).await;
    let board = fixtures::board(&**c, "art", &["art"]).await;
    let claimed = crate::helpers::claim_new(&engine, PAINTING.task(persona, Target::Board(board), t0())).await;

    let report = engine.run_task(&claimed).await;

    assert_eq!((report.outcome, report.status), (RunOutcome::Waiting, TaskStatus::Pending), "{report:?}");
    assert_eq!(report.next_attempt_at, Some(t0() + Duration::seconds(30)));
    let task = crate::helpers::task(&engine, claimed.id).await;
    let waiting = crate::helpers::stage(&task.decisions, "render");
    assert_eq!(waiting["verdict"], "waiting");
    assert_eq!(waiting["reason"], "the paint is still wet (1 of 2)");
}

#[tokio::test]
async fn a_kept_draft_that_no_longer_reads_fails_the_task_by_name_and_is_dropped() {
    let db = TestDb::new().await;
    let (engine, clock) = offline_engine(&db);
    let engine = engine.with_kinds(Registry::standard().with(PAINTING));
    let c = engine.pool.get().await.unwrap();
    let persona = fixtures::persona(&**c, "paula_paints", &["art"]).await;
    let board = fixtures::board(&**c, "art", &["art"]).await;
    let claimed = crate::helpers::claim_new(&engine, PAINTING.task(persona, Target::Board(board), t0())).await;
    let waiting = engine.run_task(&claimed).await;
    assert_eq!(waiting.outcome, RunOutcome::Waiting);
    // What was kept is changed under the task (a newer build's shape, a hand edit).
    c.query_typed("UPDATE persona_task_steps SET draft = '{\"colour\": 7}'", &[]).await.unwrap();
    clock.advance(Duration::seconds(31));

    let again = engine.queue.claim_by_id(&**c, claimed.id).await.unwrap();
    let report = engine.run_task(&again).await;

    assert_eq!(report.status, TaskStatus::Failed, "{report:?}");
    assert!(
        report.reason.as_deref().unwrap_or("").contains("the draft kept for this task is unreadable"),
        "{report:?}"
    );
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_task_steps").await, 0, "nothing kept for an ended task");
    assert_eq!(count(&engine, "SELECT count(*) FROM posts").await, 0);
}
