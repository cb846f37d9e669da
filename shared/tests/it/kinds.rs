//! Adding a kind is its module plus one registry line. `Shout` — a comment in capitals, defined only
//! here — is added to an engine's registry and nothing else: the queue, the worker, the publish gate,
//! the offline writer and the admin API all take it as they take the built-in kinds.

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::json;
use shared::ai::parse::{self, Draft, ParseError, limits};
use shared::config::AdminKey;
use shared::context::Scene;
use shared::db::Type;
use shared::db::content;
use shared::db::memory::MemoryTarget;
use shared::engine::Engine;
use shared::kinds::target::{self, Live};
use shared::kinds::{Action, ActionError, Content, Kind, Memory, Prepared, Published, Registry, content_id, remember};
use shared::persona::Persona;
use shared::prompt::{Ask, text_field};
use shared::queue::{Target, TargetKind, Task, TaskStatus};
use testkit::TestDb;
use testkit::fixtures::{self, Author};
use tower::ServiceExt;
use uuid::Uuid;

use crate::helpers::{count, offline_engine, t0};

// ---- the whole kind --------------------------------------------------------------------------------

/// Shouts at a post: a top-level comment, in capitals.
struct Shout;

#[async_trait]
impl Action for Shout {
    fn name(&self) -> &'static str {
        "shout"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[TargetKind::Post]
    }

    async fn observe(
        &self,
        db: &tokio_postgres::Client,
        _task: &Task,
        target: Option<Target>,
        _persona: &Persona,
        _engine: &Engine,
    ) -> Result<Prepared, ActionError> {
        let Live::Post(post) = target::for_task(db, target).await? else {
            return Err(ActionError::Invalid("a shout needs a post".into()));
        };
        let id = post.view.id;
        Ok(Prepared {
            scene: Scene::Post(target::post_scene(db, post).await?),
            memory: Some(Memory { target: MemoryTarget::Post(id), action: "commented" }),
            reply_spot: None,
        })
    }

    fn ask(&self, _scene: &Scene, _persona: &Persona, _seed: u64) -> Ask {
        Ask::writing(
            "Shout your reaction to this post, in one short sentence.".into(),
            None,
            json!({ "type": "OBJECT", "properties": { "body": text_field("what you shout") }, "required": ["body"] }),
        )
    }

    fn parse(&self, answer: &str, persona: &Persona) -> Result<Draft, ParseError> {
        let map = parse::json_object(answer)?;
        Ok(Draft::Comment { body: parse::field(&map, "body", limits::COMMENT, persona)?.to_uppercase() })
    }

    fn write_offline(&self, _persona: &Persona, scene: &Scene, _seed: u64) -> serde_json::Value {
        json!({ "body": format!("that is a real question: {}", scene.post().map(|p| p.title.as_str()).unwrap_or("")) })
    }

    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &Task,
        persona: &Persona,
        prepared: &Prepared,
        content: &Content,
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        let (Draft::Comment { body }, Scene::Post(post)) = (&content.draft, &prepared.scene) else {
            return Err(ActionError::Invalid("a shout is a comment".into()));
        };
        let id =
            content::insert_comment(tx, content_id(task, "comment"), post.post.id, None, persona.id, body, now).await?;
        remember(tx, task, prepared, now).await?;
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

    let report = shared::kinds::run_task(&engine, &claimed).await;

    assert_eq!(report.status, TaskStatus::Failed);
    assert_eq!(
        report.reason.as_deref(),
        Some("unknown task type \"shout\" (this build knows comment, post, reply, vote, image_post, browse, reflect)")
    );
    assert!(registry().names().contains(&"shout") && !Registry::standard().names().contains(&"shout"));
}
