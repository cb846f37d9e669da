//! Every admin route and every error, through the router without a server (`oneshot`).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Duration;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::admin;
use shared::config::AdminKey;
use shared::db::Type;
use shared::engine::Engine;
use testkit::TestDb;
use tooling::demo_world::{DemoWorld, id_for};
use tower::ServiceExt;
use uuid::Uuid;

use crate::helpers::{engine_with, offline_engine, t0};

const KEY: &str = "admin-test-key-0123456789abcdef0123456789";

fn key() -> AdminKey {
    AdminKey::new(SecretString::from(KEY)).unwrap()
}

async fn app() -> (axum::Router, Engine, TestDb) {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    DemoWorld::embedded().seed(&**engine.pool.get().await.unwrap(), t0()).await.unwrap();
    (admin::router(engine.clone(), Some(key())), engine, db)
}

async fn send(router: &axum::Router, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    send_raw(router, method, uri, body.map(|b| b.to_string()), Some(KEY), "application/json").await
}

async fn send_raw(
    router: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<String>,
    key: Option<&str>,
    content_type: &str,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response =
        router.clone().oneshot(request.body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(KEY), "the admin key leaked into a response: {text}");
    assert!(!text.contains("panicked") && !text.contains("src/"), "internals leaked: {text}");
    (status, serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(text.into_owned())))
}

fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str, says: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], code, "{}", answer.1);
    assert!(answer.1["message"].as_str().unwrap_or_default().contains(says), "{} should say {says:?}", answer.1);
}

#[tokio::test]
async fn health_needs_no_key_and_everything_else_does() {
    let (router, _engine, _db) = app().await;
    let health = send_raw(&router, "GET", "/health", None, None, "").await;
    assert_eq!(health.0, StatusCode::OK);
    assert_eq!(health.1["status"], "ok");
    for (method, uri) in [
        ("GET", "/status"),
        ("GET", "/tasks"),
        ("POST", "/drain"),
        ("GET", "/openapi.json"),
        ("GET", "/trends"),
        ("POST", "/trigger/comment"),
    ] {
        assert_error(
            &send_raw(&router, method, uri, None, None, "").await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "bearer",
        );
        assert_error(
            &send_raw(&router, method, uri, None, Some("wrong-key"), "").await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "bearer",
        );
    }

    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let disabled = admin::router(engine, None);
    assert_error(
        &send(&disabled, "GET", "/status", None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "admin_disabled",
        "ADMIN_API_KEY",
    );
}

#[tokio::test]
async fn status_reports_the_queue_and_todays_activity() {
    let (router, engine, _db) = app().await;
    shared::planner::tick(&engine, None).await.unwrap();

    let (status, body) = send(&router, "GET", "/status", None).await;

    assert_eq!(status, StatusCode::OK);
    assert!(body["queue"]["by_status"]["PENDING"].as_i64().unwrap() > 0, "{body}");
    assert_eq!(body["running"], 0);
    assert_eq!(body["provider"], "offline");
    assert_eq!(body["models"]["decision"], "offline", "each class of work and its model: {}", body["models"]);
    assert_eq!(body["models"].as_object().map(|m| m.len()), Some(5));
    assert_eq!(body["personas_today"].as_array().unwrap().len(), 12);
    assert!(body["queue"]["failed_last_24h"].is_i64());
}

#[tokio::test]
async fn status_includes_the_content_health_of_the_last_day() {
    let db = TestDb::new().await;
    let (engine, clock) = offline_engine(&db);
    DemoWorld::embedded().seed(&**engine.pool.get().await.unwrap(), t0()).await.unwrap();
    let router = admin::router(engine.clone(), Some(key()));
    let health = |body: &Value| body["content_health"].clone();

    let before = health(&send(&router, "GET", "/status", None).await.1);
    assert_eq!(before["texts"], 0, "nothing published by a persona yet: {before}");

    // Two hours of planning and work, as the schedules would run them.
    for _ in 0..12 {
        shared::planner::tick(&engine, None).await.unwrap();
        shared::worker::drain(&engine, 50, shared::worker::Budget::Unbounded).await;
        clock.advance(Duration::minutes(10));
    }
    let c = engine.pool.get().await.unwrap();
    let published: i64 = c
        .query_typed_one(
            "SELECT (SELECT count(*) FROM posts WHERE persona_id IS NOT NULL)
                  + (SELECT count(*) FROM comments WHERE persona_id IS NOT NULL)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let (status, body) = send(&router, "GET", "/status", None).await;

    assert_eq!(status, StatusCode::OK);
    let after = health(&body);
    assert!(published > 0, "the personas wrote something");
    assert_eq!(after["texts"].as_i64().unwrap(), published, "every text of the day is measured: {after}");
    assert_eq!(after["em_dash_rate"], 0.0, "{after}");
    assert!(after["distinct_sentence_ratio"].as_f64().unwrap() > 0.5, "{after}");
}

#[tokio::test]
async fn a_trigger_queues_a_task_and_the_selector_picks_the_persona() {
    let (router, engine, _db) = app().await;
    let post = id_for("post", "p1");

    let (status, body) =
        send(&router, "POST", "/trigger/comment", Some(json!({ "post_id": post, "instructions": "be brief" }))).await;

    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["task"]["status"], "PENDING");
    assert_eq!(body["task"]["task_type"], "comment");
    assert_eq!(body["task"]["post_id"], post.to_string());
    assert!(body["report"].is_null());
    // The instructions are recorded where only the engine writes, not in the task's payload.
    assert!(body["task"]["payload"].get("instructions").is_none(), "{body}");
    let task_id = Uuid::parse_str(body["task"]["id"].as_str().unwrap()).unwrap();
    let issued = shared::db::tasks::instructions_for(&**engine.pool.get().await.unwrap(), task_id).await.unwrap();
    let persona = Uuid::parse_str(body["task"]["persona_id"].as_str().unwrap()).unwrap();
    let issued = issued.expect("instructions recorded");
    assert_eq!(issued.text, "be brief");
    // With what they were given for.
    assert_eq!(
        (issued.persona_id, issued.task_type.as_deref(), issued.post_id),
        (Some(persona), Some("comment"), Some(post))
    );

    // The same again for that persona: already queued.
    let again =
        send(&router, "POST", "/trigger/comment", Some(json!({ "post_id": post, "persona_id": persona }))).await;
    assert_error(&again, StatusCode::CONFLICT, "conflict", "already exists");
}

#[tokio::test]
async fn an_operator_can_send_a_persona_browsing_and_is_told_clearly_what_a_session_needs() {
    let (router, engine, _db) = app().await;
    let marisol = id_for("persona", "marisol_cooks");

    let no_persona = send(&router, "POST", "/trigger/browse", Some(json!({}))).await;
    assert_error(&no_persona, StatusCode::BAD_REQUEST, "bad_request", "browse needs persona_id");
    let with_post = send(
        &router,
        "POST",
        "/trigger/browse",
        Some(json!({ "persona_id": marisol, "post_id": id_for("post", "p1") })),
    )
    .await;
    assert_error(&with_post, StatusCode::BAD_REQUEST, "bad_request", "takes no post_id");

    let (status, body) =
        send(&router, "POST", "/trigger/browse?wait=true", Some(json!({ "persona_id": marisol }))).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["task"]["status"], "DONE", "{body}");
    let session = body["task"]["id"].as_str().unwrap().to_owned();
    let c = engine.pool.get().await.unwrap();
    let viewed: i64 = c
        .query_typed_one(
            "SELECT count(*) FROM persona_memory WHERE task_id = $1 AND action_type = 'viewed'",
            &[(&Uuid::parse_str(&session).unwrap(), Type::UUID)],
        )
        .await
        .unwrap()
        .get(0);
    assert!(viewed > 0, "the session looked at the demo world's posts");
    let decided = body["task"]["decisions"].as_array().unwrap().iter().any(|d| d["stage"] == "session");
    assert!(decided, "what it chose is in its decisions: {body}");
}

#[tokio::test]
async fn the_selector_passes_over_personas_that_already_have_the_task_queued() {
    let (router, _engine, _db) = app().await;
    let post = id_for("post", "p1");

    // Triggering again and again without naming a persona picks someone new each time, until no one
    // is left; it never answers "already exists" for a choice the operator did not make.
    let mut picked: Vec<String> = Vec::new();
    loop {
        let (status, body) = send(&router, "POST", "/trigger/vote", Some(json!({ "post_id": post }))).await;
        if status == StatusCode::CONFLICT {
            assert!(body["message"].as_str().unwrap_or_default().contains("no persona is available"), "{body}");
            break;
        }
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let persona = body["task"]["persona_id"].as_str().unwrap().to_owned();
        assert!(!picked.contains(&persona), "{persona} was picked a second time: {body}");
        picked.push(persona);
        assert!(picked.len() <= 12, "more picks than personas");
    }
    assert!(picked.len() >= 2, "only {} persona(s) could be picked", picked.len());
}

#[tokio::test]
async fn a_trigger_with_wait_runs_now_and_returns_what_was_published() {
    let (router, _engine, _db) = app().await;
    let marisol = id_for("persona", "marisol_cooks");
    for (kind, body) in [
        ("comment", json!({ "post_id": id_for("post", "p1"), "persona_id": marisol })),
        ("reply", json!({ "comment_id": id_for("comment", "c3"), "persona_id": marisol })),
        ("vote", json!({ "comment_id": id_for("comment", "c4"), "persona_id": marisol })),
        ("post", json!({ "board_id": id_for("board", "home-cooking"), "persona_id": marisol })),
    ] {
        let (status, answer) = send(&router, "POST", &format!("/trigger/{kind}?wait=true"), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{kind}: {answer}");
        assert_eq!(answer["task"]["status"], "DONE", "{kind}: {answer}");
        assert_eq!(answer["report"]["outcome"], "published", "{kind}: {answer}");
        if answer["task"]["result_id"].is_string() {
            assert_eq!(answer["published"]["id"], answer["task"]["result_id"], "{kind}");
        }
    }
}

#[tokio::test]
async fn trigger_errors_are_clear_4xx() {
    let (router, engine, _db) = app().await;
    let post = id_for("post", "p1");
    // (uri, body, content type, status, error code, what the message says)
    type Case<'a> = (&'a str, Option<String>, &'a str, StatusCode, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            "/trigger/dance",
            Some(json!({}).to_string()),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "unknown action \"dance\"",
        ),
        (
            "/trigger/comment",
            Some(json!({}).to_string()),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "comment needs post_id",
        ),
        (
            "/trigger/reply",
            Some(json!({ "post_id": post }).to_string()),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "reply needs comment_id",
        ),
        (
            "/trigger/post",
            Some(json!({ "post_id": post, "board_id": id_for("board", "bookclub") }).to_string()),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "post does not take post_id",
        ),
        (
            "/trigger/comment",
            Some(json!({ "post_id": post, "mood": "angry" }).to_string()),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "unknown field `mood`",
        ),
        (
            "/trigger/comment",
            Some(json!({ "post_id": "not-a-uuid" }).to_string()),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "post_id",
        ),
        (
            "/trigger/comment",
            Some("{not json".into()),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "not valid JSON",
        ),
        (
            "/trigger/comment",
            Some(json!({ "post_id": post }).to_string()),
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "application/json",
        ),
        (
            "/trigger/comment",
            Some(format!("{{\"instructions\": \"{}\"}}", "x".repeat(20_000))),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "larger than",
        ),
        (
            "/trigger/comment",
            Some(json!({ "post_id": post, "instructions": "be\u{0}brief" }).to_string()),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "instructions contains a NUL character",
        ),
        (
            "/trigger/comment",
            Some(json!({ "post_id": post, "deep": { "list": ["ok", "n\u{0}l"] } }).to_string()),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "deep.list[1] contains a NUL character",
        ),
        (
            "/trigger/comment",
            Some(json!({ "post_id": post, "instructions": "y".repeat(501) }).to_string()),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "at most 500",
        ),
        (
            "/trigger/comment",
            Some(json!({ "post_id": Uuid::nil() }).to_string()),
            "application/json",
            StatusCode::NOT_FOUND,
            "not_found",
            "post 00000000",
        ),
        (
            "/trigger/comment",
            Some(json!({ "post_id": post, "persona_id": Uuid::nil() }).to_string()),
            "application/json",
            StatusCode::NOT_FOUND,
            "not_found",
            "persona",
        ),
        (
            "/trigger/comment?wait=maybe",
            Some(json!({ "post_id": post }).to_string()),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "invalid query",
        ),
        (
            "/trigger/comment?later=true",
            Some(json!({ "post_id": post }).to_string()),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "unknown field `later`",
        ),
    ];
    for (uri, body, content_type, status, code, says) in cases {
        let answer = send_raw(&router, "POST", uri, body, Some(KEY), content_type).await;
        assert_error(&answer, status, code, says);
    }
    let c = engine.pool.get().await.unwrap();
    c.query_typed("UPDATE posts SET locked = true WHERE id = $1", &[(&post, Type::UUID)]).await.unwrap();
    assert_error(
        &send(&router, "POST", "/trigger/comment", Some(json!({ "post_id": post }))).await,
        StatusCode::CONFLICT,
        "conflict",
        "locked",
    );
    let nia = id_for("persona", "null_pointer_nia");
    c.query_typed("UPDATE personas SET is_active = false WHERE id = $1", &[(&nia, Type::UUID)]).await.unwrap();
    let paused = send(
        &router,
        "POST",
        "/trigger/post",
        Some(json!({ "board_id": id_for("board", "homelab"), "persona_id": nia })),
    )
    .await;
    assert_error(&paused, StatusCode::CONFLICT, "conflict", "paused");
}

#[tokio::test]
async fn image_posts_need_a_provider_that_makes_images() {
    let db = TestDb::new().await;
    let client = shared::ai::openai_compat::OpenAiClient::new(
        "http://127.0.0.1:9/v1",
        None,
        "m",
        std::time::Duration::from_secs(1),
    )
    .unwrap();
    let (engine, _clock) = engine_with(&db, Arc::new(client), &[]);
    DemoWorld::embedded().seed(&**engine.pool.get().await.unwrap(), t0()).await.unwrap();
    let router = admin::router(engine, Some(key()));
    let answer =
        send(&router, "POST", "/trigger/image_post", Some(json!({ "board_id": id_for("board", "photo-walk") }))).await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", "LLM_PROVIDER=gemini");
}

#[tokio::test]
async fn tasks_are_listed_filtered_and_paginated() {
    let (router, engine, _db) = app().await;
    shared::planner::tick(&engine, None).await.unwrap();
    let total: i64 = engine
        .pool
        .get()
        .await
        .unwrap()
        .query_typed_one("SELECT count(*) FROM persona_tasks", &[])
        .await
        .unwrap()
        .get(0);
    assert!(total > 5);

    let (status, first) = send(&router, "GET", "/tasks?limit=3", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["tasks"].as_array().unwrap().len(), 3);
    let mut seen: Vec<String> =
        first["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect();
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let (_, page) = send(&router, "GET", &format!("/tasks?limit=3&cursor={c}"), None).await;
        seen.extend(page["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (total as usize, total as usize), "every task once across pages");

    let (_, votes) = send(&router, "GET", "/tasks?type=vote&status=PENDING", None).await;
    assert!(votes["tasks"].as_array().unwrap().iter().all(|t| t["task_type"] == "vote" && t["status"] == "PENDING"));
    let marisol = id_for("persona", "marisol_cooks");
    let (_, hers) = send(&router, "GET", &format!("/tasks?persona_id={marisol}"), None).await;
    assert!(hers["tasks"].as_array().unwrap().iter().all(|t| t["persona_id"] == marisol.to_string()));

    for (uri, says) in [
        ("/tasks?status=LOST", "status must be"),
        ("/tasks?type=dance", "unknown action"),
        ("/tasks?limit=0", "limit must be between 1 and 200"),
        ("/tasks?limit=lots", "invalid query"),
        ("/tasks?cursor=yesterday", "invalid cursor"),
        ("/tasks?persona_id=nope", "invalid query"),
        ("/tasks?sort=asc", "unknown field `sort`"),
    ] {
        assert_error(&send(&router, "GET", uri, None).await, StatusCode::BAD_REQUEST, "bad_request", says);
    }
}

#[tokio::test]
async fn a_task_is_shown_retried_and_cancelled() {
    let (router, engine, _db) = app().await;
    let (_, queued) = send(&router, "POST", "/trigger/vote", Some(json!({ "post_id": id_for("post", "p2") }))).await;
    let id = queued["task"]["id"].as_str().unwrap().to_owned();

    let (status, task) = send(&router, "GET", &format!("/tasks/{id}"), None).await;
    assert_eq!((status, task["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    assert_error(
        &send(&router, "GET", &format!("/tasks/{}", Uuid::nil()), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "not found",
    );
    assert_error(
        &send(&router, "GET", "/tasks/42", None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "invalid path",
    );

    let (status, cancelled) = send(&router, "POST", &format!("/tasks/{id}/cancel"), None).await;
    assert_eq!((status, cancelled["status"].as_str()), (StatusCode::OK, Some("SKIPPED")));
    assert_eq!(cancelled["skip_reason"], "cancelled by an operator");
    assert_error(
        &send(&router, "POST", &format!("/tasks/{id}/cancel"), None).await,
        StatusCode::CONFLICT,
        "conflict",
        "is SKIPPED",
    );

    let (status, retried) = send(&router, "POST", &format!("/tasks/{id}/retry"), None).await;
    assert_eq!((status, retried["status"].as_str()), (StatusCode::OK, Some("PENDING")));
    assert_eq!(
        retried["scheduled_at"].as_str().unwrap(),
        engine.clock.now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    assert_error(
        &send(&router, "POST", &format!("/tasks/{}/retry", Uuid::nil()), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "not found",
    );

    let (_, drained) = send(&router, "POST", "/drain", None).await;
    assert_eq!(drained["succeeded"], 1, "{drained}");
    assert_error(
        &send(&router, "POST", &format!("/tasks/{id}/retry"), None).await,
        StatusCode::CONFLICT,
        "conflict",
        "is DONE",
    );
}

#[tokio::test]
async fn personas_are_paused_and_resumed() {
    let (router, _engine, _db) = app().await;
    let nia = id_for("persona", "null_pointer_nia");
    let (status, paused) = send(&router, "POST", &format!("/personas/{nia}/pause"), None).await;
    assert_eq!((status, paused["is_active"].as_bool()), (StatusCode::OK, Some(false)));
    assert_eq!(paused["username"], "null_pointer_nia");
    let (_, resumed) = send(&router, "POST", &format!("/personas/{nia}/resume"), None).await;
    assert_eq!(resumed["is_active"], true);
    assert_error(
        &send(&router, "POST", &format!("/personas/{}/pause", Uuid::nil()), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "persona",
    );
}

#[tokio::test]
async fn personas_are_made_from_a_brief_reviewed_with_a_dry_run_edited_and_listed() {
    let (router, engine, db) = app().await;
    let (status, made) = send(
        &router,
        "POST",
        "/personas",
        Some(json!({"brief": "night-shift nurses who bake", "count": 2, "boards": ["home-cooking"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let personas = made["personas"].as_array().unwrap();
    assert_eq!(personas.len(), 2);
    let new = &personas[0];
    assert_eq!(new["is_active"], false, "made paused for review");
    assert!(new["avatar_url"].as_str().unwrap().ends_with("avatar.jpg"));
    assert!(new["voice_bank"].as_array().unwrap().len() >= 3);
    let id = new["id"].as_str().unwrap().to_owned();

    // Reviewed before it goes live: a comment it would write on a chosen post, nothing published.
    let post = id_for("post", "p1");
    let comments_before = count(&db, "SELECT count(*) FROM comments").await;
    let (status, preview) =
        send(&router, "POST", "/trigger/comment?dry_run=true", Some(json!({"persona_id": id, "post_id": post}))).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["task_type"], "comment");
    assert!(preview["text"].as_str().unwrap().len() > 2, "{preview}");
    assert_eq!(preview["draft"]["kind"], "comment");
    assert_eq!(count(&db, "SELECT count(*) FROM comments").await, comments_before, "nothing published");
    assert_eq!(count(&db, "SELECT count(*) FROM persona_tasks").await, 0, "nothing enqueued");
    assert_error(
        &send(
            &router,
            "POST",
            "/trigger/comment?dry_run=true&wait=true",
            Some(json!({"persona_id": id, "post_id": post})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "exclude each other",
    );
    assert_error(
        &send(
            &router,
            "POST",
            "/trigger/comment?dry_run=true",
            Some(json!({"persona_id": id, "post_id": post, "instructions": "be nice"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "no instructions",
    );
    // Paused, it cannot be sent to work for real yet.
    assert_error(
        &send(&router, "POST", "/trigger/comment", Some(json!({"persona_id": id, "post_id": post}))).await,
        StatusCode::CONFLICT,
        "conflict",
        "paused",
    );

    let (status, detail) = send(&router, "GET", &format!("/personas/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["persona"]["id"], id.as_str());
    assert!(detail["persona"]["character_reference"].as_str().unwrap().split_whitespace().count() >= 100);
    assert_eq!(detail["recent"], json!([]));

    let (status, edited) = send(
        &router,
        "PATCH",
        &format!("/personas/{id}"),
        Some(json!({"bio": "Bakes after nights.", "is_active": true})),
    )
    .await;
    assert_eq!(
        (status, edited["bio"].as_str(), edited["is_active"].as_bool()),
        (StatusCode::OK, Some("Bakes after nights."), Some(true))
    );
    // The edit is in the audit trail with each changed field's old and new value; a refused key is too,
    // by fingerprint only.
    send_raw(&router, "POST", &format!("/personas/{id}/pause"), None, Some("not-the-key-at-all-0123456789abcdef"), "")
        .await;
    let (status, trail) = send(&router, "GET", &format!("/audit?persona_id={id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    let entries = trail["entries"].as_array().unwrap();
    let edit = entries.iter().find(|e| e["method"] == "PATCH").expect("the edit is kept");
    assert_eq!(edit["outcome"], "ok");
    assert_eq!(edit["changes"]["bio"]["new"], "Bakes after nights.");
    assert!(
        edit["changes"]["bio"]["old"].is_string() && edit["changes"]["bio"]["old"] != "Bakes after nights.",
        "{edit}"
    );
    assert!(edit["changes"].get("username").is_none(), "only what changed: {edit}");
    assert_eq!(edit["key_fingerprint"].as_str().map(str::len), Some(12));
    let refused = entries.iter().find(|e| e["status"] == 401).expect("the refused key is kept");
    assert_eq!(refused["outcome"], "refused: wrong key");
    assert_ne!(refused["key_fingerprint"], edit["key_fingerprint"]);
    assert!(!trail.to_string().contains("not-the-key-at-all"), "never the key itself: {trail}");
    assert_error(
        &send(&router, "GET", "/audit?cursor=nonsense", None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "cursor",
    );
    // Text a profile page would not show as written is refused by name.
    for (field, value) in [("display_name", "Mari\u{202E}gnp.exe"), ("bio", "bell\u{7}"), ("username", "ma\u{200B}ri")]
    {
        assert_error(
            &send(&router, "PATCH", &format!("/personas/{id}"), Some(json!({ field: value }))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
            field,
        );
    }
    assert_error(
        &send(&router, "PATCH", &format!("/personas/{id}"), Some(json!({"username": "marisol_cooks"}))).await,
        StatusCode::CONFLICT,
        "conflict",
        "taken",
    );
    assert_error(
        &send(&router, "PATCH", &format!("/personas/{id}"), Some(json!({"voice_bank": ["Great question!"]}))).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "voice_bank",
    );
    assert_error(
        &send(&router, "PATCH", &format!("/personas/{id}"), Some(json!({"mood": "grumpy"}))).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "mood",
    );
    assert_error(
        &send(&router, "PATCH", &format!("/personas/{}", Uuid::nil()), Some(json!({"bio": "x"}))).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "persona",
    );

    // Listed in handle order, a page at a time.
    let (_, first) = send(&router, "GET", "/personas?limit=5", None).await;
    let names: Vec<&str> =
        first["personas"].as_array().unwrap().iter().map(|p| p["username"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 5);
    assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    let after = first["next_after"].as_str().unwrap();
    let (_, rest) = send(&router, "GET", &format!("/personas?limit=500&after={after}"), None).await;
    let total = 5 + rest["personas"].as_array().unwrap().len();
    assert_eq!(total as i64, count(&db, "SELECT count(*) FROM personas").await);
    assert!(rest["next_after"].is_null());
    assert_error(
        &send(&router, "GET", "/personas?limit=0", None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "limit",
    );
    let _ = engine;
}

#[tokio::test]
async fn a_brief_the_studio_cannot_use_is_a_clear_4xx() {
    let (router, _engine, db) = app().await;
    let before = count(&db, "SELECT count(*) FROM personas").await;
    for (body, status, code, says) in [
        (json!({"brief": ""}), StatusCode::BAD_REQUEST, "bad_request", "brief is empty"),
        (json!({"brief": "!!! ???"}), StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", "no words"),
        (json!({"brief": "bakers", "count": 4}), StatusCode::BAD_REQUEST, "bad_request", "between 1 and 3"),
        (json!({"brief": "bakers", "count": 0}), StatusCode::BAD_REQUEST, "bad_request", "between 1 and 3"),
        (json!({"brief": "bakers", "boards": ["nowhere"]}), StatusCode::BAD_REQUEST, "bad_request", "nowhere"),
        (json!({"brief": "bakers", "colour": "red"}), StatusCode::BAD_REQUEST, "bad_request", "colour"),
        (json!({"count": 1}), StatusCode::BAD_REQUEST, "bad_request", "brief"),
    ] {
        assert_error(&send(&router, "POST", "/personas", Some(body)).await, status, code, says);
    }
    assert_eq!(count(&db, "SELECT count(*) FROM personas").await, before);
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_typed_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn drain_runs_one_batch_and_checks_its_bounds() {
    let (router, engine, _db) = app().await;
    shared::planner::tick(&engine, None).await.unwrap();
    engine.pool.get().await.unwrap().batch_execute("UPDATE persona_tasks SET scheduled_at = created_at").await.unwrap();

    let (status, report) = send(&router, "POST", "/drain?max_tasks=4", None).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["processed"], 4, "{report}");
    assert_error(
        &send(&router, "POST", "/drain?max_tasks=0", None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "max_tasks",
    );
    assert_error(
        &send(&router, "POST", "/drain?max_tasks=1000", None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "max_tasks",
    );
    let _ = Duration::zero();
}

#[tokio::test]
async fn drain_answers_503_when_no_task_can_be_claimed() {
    let db = TestDb::new().await;
    let (engine, _clock) = offline_engine(&db);
    let unreachable = shared::db::connect_pool(&shared::db::ConnectOptions {
        url: "postgres://nobody@127.0.0.1:9/none".to_owned().into(),
        ca_cert: None,
        pool_size: 1,
    })
    .unwrap();
    let router = admin::router(Engine { pool: unreachable, ..engine }, Some(key()));
    assert_error(
        &send(&router, "POST", "/drain", None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "database",
    );
}

#[tokio::test]
async fn doctor_reports_on_the_deployment_as_json() {
    let (router, _engine, _db) = app().await;
    let (status, report) = send(&router, "GET", "/doctor", None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let checks = report["checks"].as_array().unwrap();
    let migrations = checks.iter().find(|c| c["name"] == "migrations").unwrap();
    assert_eq!(migrations["level"], "pass", "{report}");
    let rls = checks.iter().find(|c| c["name"] == "row_level_security").unwrap();
    assert_eq!(rls["level"], "pass", "{report}");
    assert!(report["ok"].is_boolean());
}

#[tokio::test]
async fn trends_show_each_topic_with_peoples_engagement_beside_personas() {
    let (router, engine, _db) = app().await;
    let (status, before) = send(&router, "GET", "/trends", None).await;
    assert_eq!((status, before["trends"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{before}");
    shared::planner::tick(&engine, None).await.unwrap();
    let (status, body) = send(&router, "GET", "/trends", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["persona_weight"], 0.5);
    let trends = body["trends"].as_array().unwrap();
    assert!(!trends.is_empty(), "the demo world's people engage with its boards: {body}");
    for source in ["tag", "board"] {
        let ranks: Vec<i64> =
            trends.iter().filter(|t| t["source"] == source).map(|t| t["rank"].as_i64().unwrap()).collect();
        assert_eq!(ranks, (1..=ranks.len() as i64).collect::<Vec<_>>(), "{source}: tags first, each ranked: {body}");
    }
    for t in trends {
        assert!(t["topic"].is_string() && t["velocity"].as_f64().unwrap() > 0.0, "{t}");
        assert!(t["people_upvotes"].as_i64().unwrap() + t["people_comments"].as_i64().unwrap() > 0, "{t}");
        for field in ["posts", "persona_upvotes", "persona_comments", "since", "started_by", "window_start", "boards"] {
            assert!(!t[field].is_null(), "{field} in {t}");
        }
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let (router, _engine, _db) = app().await;
    let (status, doc) = send(&router, "GET", "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths: Vec<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    for path in [
        "/health",
        "/status",
        "/trigger/{kind}",
        "/tasks",
        "/tasks/{id}",
        "/tasks/{id}/retry",
        "/tasks/{id}/cancel",
        "/personas",
        "/personas/{id}",
        "/threads",
        "/trends",
        "/console",
        "/personas/{id}/pause",
        "/personas/{id}/resume",
        "/drain",
        "/doctor",
        "/openapi.json",
    ] {
        assert!(paths.contains(&path), "{path} missing from {paths:?}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let (router, _engine, _db) = app().await;
    assert_error(&send(&router, "GET", "/nope", None).await, StatusCode::NOT_FOUND, "not_found", "/nope");
    assert_error(
        &send(&router, "DELETE", "/tasks", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "not allowed",
    );
}

#[derive(Clone)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A refused key and every call that changes something leave an audit line; the key never does.
#[tokio::test]
async fn refused_keys_and_state_changing_calls_are_logged_without_the_key() {
    let logs = Logs(Default::default());
    let writer = {
        let logs = logs.clone();
        move || logs.clone()
    };
    let subscriber = tracing_subscriber::fmt().with_writer(writer).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (router, _engine, _db) = app().await;
    let wrong = "wrong-key-0123456789abcdef0123456789abcdef";
    send_raw(&router, "GET", "/status", None, Some(wrong), "application/json").await;
    send_raw(&router, "GET", "/status", None, None, "application/json").await;
    let nia = id_for("persona", "null_pointer_nia");
    send(&router, "POST", &format!("/personas/{nia}/pause"), None).await;
    send(&router, "GET", "/tasks", None).await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("admin authentication failed").count(), 2, "{text}");
    assert!(text.contains("wrong key") && text.contains("no bearer key"), "{text}");
    let calls: Vec<&str> = text.lines().filter(|l| l.contains("admin call")).collect();
    assert_eq!(calls.len(), 1, "only the call that changed something: {text}");
    assert!(calls[0].contains(&format!("/personas/{nia}/pause")) && calls[0].contains("status=200"), "{}", calls[0]);
    assert!(!text.contains(KEY) && !text.contains(wrong), "no key in the log");
}
