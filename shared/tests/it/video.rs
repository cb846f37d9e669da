//! Video posts end to end, on the Gemini fake speaking Veo's long-running protocol and on the offline
//! provider: a clip is submitted once, polled without any run waiting for it, downloaded, checked and
//! published with its poster exactly once — or the task ends with the reason and nothing is published.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::Duration;
use shared::clock::Clock;
use shared::db::Type;
use shared::db::video::{self, BoardVideo};
use shared::engine::Engine;
use shared::kinds::{RunOutcome, TaskReport, VIDEO_POST};
use shared::media::clip;
use shared::media::storage::{LocalDirStorage, Storage, StorageError, StoredObject};
use shared::queue::{Target, TaskStatus};
use testkit::gemini_fake::{VideoEnd, VideoScript, sample_mp4};
use testkit::{GeminiFake, TestDb, fixtures};
use uuid::Uuid;

use crate::helpers::{claim_new, count, gemini_engine, offline_engine, t0, task};

struct World {
    persona: Uuid,
    board: Uuid,
}

/// A persona and a board opened to video (clips of up to 8 s, either shape).
async fn world(engine: &Engine) -> World {
    let c = engine.pool.get().await.unwrap();
    let persona = fixtures::persona(&**c, "vera_films", &["cooking"]).await;
    let board = fixtures::board(&**c, "home-cooking", &["cooking"]).await;
    let bounds = BoardVideo { max_seconds: 8, aspect_ratios: vec!["16:9".into(), "9:16".into()] };
    video::open_board(&**c, "home-cooking", &bounds, t0()).await.unwrap().expect("the board exists");
    World { persona, board }
}

/// Runs the task until it is no longer waiting, advancing the clock to each look; every report.
async fn run_to_the_end(engine: &Engine, clock: &shared::clock::ManualClock, id: Uuid) -> Vec<TaskReport> {
    let mut reports = Vec::new();
    for _ in 0..40 {
        let claimed = engine.queue.claim_by_id(&**engine.pool.get().await.unwrap(), id).await.unwrap();
        let report = engine.run_task(&claimed).await;
        let waiting = report.outcome == RunOutcome::Waiting;
        if let Some(at) = report.next_attempt_at {
            clock.set(at.max(clock.now()));
        }
        reports.push(report);
        if !waiting {
            break;
        }
    }
    reports
}

/// A video post by a second persona on the world's board, due at `at`.
async fn second_persona_clip(engine: &Engine, w: &World, at: chrono::DateTime<chrono::Utc>) -> Uuid {
    let c = engine.pool.get().await.unwrap();
    let other = fixtures::persona(&**c, "olga_films", &["cooking"]).await;
    engine.queue.enqueue(&**c, &[VIDEO_POST.task(other, Target::Board(w.board), at)]).await.unwrap().inserted[0]
}

async fn enqueue(engine: &Engine, w: &World) -> Uuid {
    let c = engine.pool.get().await.unwrap();
    engine.queue.enqueue(&**c, &[VIDEO_POST.task(w.persona, Target::Board(w.board), t0())]).await.unwrap().inserted[0]
}

#[tokio::test]
async fn a_clip_is_asked_for_once_polled_without_waiting_and_published_with_its_poster() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) = gemini_engine(&db, &fake, &[]);
    let w = world(&engine).await;
    fake.push_video(VideoScript::ready_after(2));
    let id = enqueue(&engine, &w).await;

    let reports = run_to_the_end(&engine, &clock, id).await;

    let outcomes: Vec<RunOutcome> = reports.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        vec![RunOutcome::Waiting, RunOutcome::Waiting, RunOutcome::Waiting, RunOutcome::Published],
        "{reports:#?}"
    );
    assert_eq!((fake.video_submissions(), fake.video_polls(), fake.video_downloads()), (1, 3, 1));
    let done = task(&engine, id).await;
    assert_eq!((done.status, done.retry_count), (TaskStatus::Done, 0), "waiting uses no retry");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());

    // The request as Veo takes it: the prompt, the start frame, a length and shape within the bounds.
    let submitted = fake.received().into_iter().find(|r| r.path_and_query.ends_with(":predictLongRunning")).unwrap();
    assert_eq!(submitted.model, "veo-3.1-fast-generate-preview");
    assert!(submitted.key_header_ok);
    let image = &submitted.body["instances"][0]["image"];
    assert!(image["bytesBase64Encoded"].as_str().is_some_and(|b| b.len() > 100));
    assert!(image["mimeType"].as_str().is_some_and(|m| m.starts_with("image/")));
    let seconds = submitted.body["parameters"]["durationSeconds"].as_i64().unwrap();
    assert!([4, 6, 8].contains(&seconds));

    // Published once: the post, its poster then its clip in media, the clip's record; the step is gone.
    let c = engine.pool.get().await.unwrap();
    let media = c
        .query_typed(
            "SELECT m.mime_type, m.width, m.height, m.id FROM media m JOIN posts p ON p.id = m.post_id
             WHERE p.persona_id = $1 ORDER BY m.mime_type",
            &[(&w.persona, Type::UUID)],
        )
        .await
        .unwrap();
    let kinds: Vec<String> = media.iter().map(|r| r.get(0)).collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(kinds[0].starts_with("image/") && kinds[1] == clip::MP4, "{kinds:?}");
    assert_eq!((media[1].get::<_, i32>(1), media[1].get::<_, i32>(2)), (256, 144), "the clip's own frame size");
    let record = c
        .query_typed_one(
            "SELECT duration_ms, cost_micros, clip_media_id, poster_media_id FROM persona_video_clips WHERE task_id = $1",
            &[(&id, Type::UUID)],
        )
        .await
        .unwrap();
    assert_eq!(record.get::<_, i32>(0), 1000, "the sample clip's length, read from its container");
    assert_eq!(record.get::<_, i64>(1), seconds * 150_000, "priced per second at the model's rate");
    assert_eq!((record.get::<_, Uuid>(2), record.get::<_, Uuid>(3)), (media[1].get(3), media[0].get(3)));
    assert_eq!(count(&engine, "SELECT count(*) FROM persona_task_steps").await, 0);
    assert!(done.cost_micros.unwrap_or(0) >= seconds * 150_000, "the ledger has the clip: {:?}", done.cost_micros);

    // Both stored files say what made them, where an independent reader finds it; the clip still reads.
    let stored = |row: &tokio_postgres::Row| {
        let path: String = row.get(4);
        std::fs::read(engine.config.image.local_dir.join(path)).expect("the stored file")
    };
    let media = c
        .query_typed(
            "SELECT m.mime_type, m.width, m.height, m.id, m.storage_path FROM media m JOIN posts p ON p.id = m.post_id
             WHERE p.persona_id = $1 ORDER BY m.mime_type",
            &[(&w.persona, Type::UUID)],
        )
        .await
        .unwrap();
    crate::media::assert_marked(&stored(&media[0]), "jpg", "gemini-3.1-flash-image");
    let clip_file = stored(&media[1]);
    crate::media::assert_marked(&clip_file, "mp4", "veo-3.1-fast-generate-preview");
    assert_eq!(clip::inspect_mp4(&clip_file).unwrap().duration_ms, 1000);
}

#[tokio::test]
async fn an_operation_that_errs_or_is_held_back_ends_the_task_with_the_reason_and_publishes_nothing() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) = gemini_engine(&db, &fake, &[]);
    let w = world(&engine).await;

    fake.push_video(VideoScript { pending: 1, end: VideoEnd::Error { code: 13, message: "Internal error".into() } });
    let id = enqueue(&engine, &w).await;
    let last = run_to_the_end(&engine, &clock, id).await.pop().unwrap();
    assert_eq!(last.status, TaskStatus::Failed, "{last:?}");
    assert!(last.reason.as_deref().unwrap_or("").contains("gave up on the clip: Internal error"), "{last:?}");

    fake.push_video(VideoScript { pending: 0, end: VideoEnd::Blocked("Unsafe content".into()) });
    let id = second_persona_clip(&engine, &w, clock.now()).await;
    let last = run_to_the_end(&engine, &clock, id).await.pop().unwrap();
    assert_eq!(last.status, TaskStatus::Skipped, "{last:?}");
    assert!(last.reason.as_deref().unwrap_or("").contains("safety filters kept the clip back: Unsafe content"));

    assert_eq!(count(&engine, "SELECT count(*) FROM posts").await, 0, "nothing half-published");
    assert_eq!(count(&engine, "SELECT count(*) FROM media").await, 0);
    assert_eq!(
        count(&engine, "SELECT count(*) FROM persona_task_steps").await,
        0,
        "nothing kept for a task that ended"
    );
    assert_eq!(fake.video_submissions(), 2);
}

#[tokio::test]
async fn a_clip_not_ready_in_time_fails_the_task_without_asking_again() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) = gemini_engine(&db, &fake, &[("VIDEO_MAX_WAIT_MS", "300000")]);
    let w = world(&engine).await;
    fake.push_video(VideoScript { pending: 1_000, end: VideoEnd::Blocked("never".into()) });
    let id = enqueue(&engine, &w).await;

    let reports = run_to_the_end(&engine, &clock, id).await;

    let last = reports.last().unwrap();
    assert_eq!(last.status, TaskStatus::Failed, "{last:?}");
    assert!(last.reason.as_deref().unwrap_or("").contains("VIDEO_MAX_WAIT_MS (5 min"), "{last:?}");
    assert!(reports.len() > 3, "it looked several times first: {}", reports.len());
    assert_eq!(fake.video_submissions(), 1, "a slow clip is never asked for again");
    assert_eq!(task(&engine, id).await.retry_count, 0);
}

#[tokio::test]
async fn a_clip_larger_than_allowed_or_not_an_mp4_is_refused_and_not_stored() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) = gemini_engine(&db, &fake, &[("VIDEO_MAX_BYTES", "4096")]);
    let w = world(&engine).await;
    fake.push_video(VideoScript::ready_after(0));
    let id = enqueue(&engine, &w).await;
    let last = run_to_the_end(&engine, &clock, id).await.pop().unwrap();
    assert_eq!(last.status, TaskStatus::Failed, "{last:?}");
    assert!(last.reason.as_deref().unwrap_or("").contains("larger than VIDEO_MAX_BYTES (4096 bytes)"), "{last:?}");

    let (engine, clock) = gemini_engine(&db, &fake, &[]);
    fake.push_video(VideoScript {
        pending: 0,
        end: VideoEnd::Clip { bytes: b"<html>surprise</html>".to_vec(), content_type: "video/mp4".into() },
    });
    let id = second_persona_clip(&engine, &w, clock.now()).await;
    let last = run_to_the_end(&engine, &clock, id).await.pop().unwrap();
    assert_eq!(last.status, TaskStatus::Failed, "{last:?}");
    assert!(last.reason.as_deref().unwrap_or("").contains("not a playable MP4 clip"), "{last:?}");
    assert_eq!(count(&engine, "SELECT count(*) FROM posts").await, 0);
    assert_eq!(count(&engine, "SELECT count(*) FROM media").await, 0);
}

#[tokio::test]
async fn two_workers_looking_at_the_same_clip_publish_it_once() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) = gemini_engine(&db, &fake, &[]);
    let w = world(&engine).await;
    let c = engine.pool.get().await.unwrap();
    // Submitted; then raced: worker one claims it, its lease runs out, worker two claims it too.
    fake.push_video(VideoScript::ready_after(0));
    let other = w.persona;
    let claimed = claim_new(&engine, VIDEO_POST.task(other, Target::Board(w.board), clock.now())).await;
    let submitted = engine.run_task(&claimed).await;
    assert_eq!(submitted.outcome, RunOutcome::Waiting);
    clock.set(submitted.next_attempt_at.unwrap());
    let one = engine.queue.claim_by_id(&**c, claimed.id).await.unwrap();
    clock.advance(Duration::seconds(301));
    engine.queue.rescue_expired(&**c).await.unwrap();
    clock.advance(Duration::seconds(60));
    let two = engine.queue.claim_by_id(&**c, claimed.id).await.unwrap();

    let (a, b) = tokio::join!(engine.run_task(&one), engine.run_task(&two));

    let published = [&a, &b].iter().filter(|r| r.outcome == RunOutcome::Published).count();
    assert_eq!(published, 1, "{a:#?}\n{b:#?}");
    assert!([&a, &b].iter().any(|r| r.outcome == RunOutcome::Abandoned), "the stale claim lets go: {a:#?}\n{b:#?}");
    let posts = c
        .query_typed_one("SELECT count(*) FROM posts WHERE persona_id = $1", &[(&other, Type::UUID)])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(posts, 1);
    assert_eq!(
        count(&engine, &format!("SELECT count(*) FROM persona_video_clips WHERE task_id = '{}'", claimed.id)).await,
        1
    );
    assert_eq!(fake.video_submissions(), 1, "one clip asked for");
}

/// Storage that never finishes storing the first clip (the process dies there).
#[derive(Debug)]
struct DiesStoringTheClip {
    inner: LocalDirStorage,
    armed: AtomicBool,
}

#[async_trait]
impl Storage for DiesStoringTheClip {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<StoredObject, StorageError> {
        if key.ends_with(".mp4") && self.armed.swap(false, Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.put(key, bytes, content_type).await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.inner.delete(key).await
    }
}

#[tokio::test]
async fn a_crash_between_download_and_publish_resumes_without_asking_for_the_clip_again() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) = gemini_engine(&db, &fake, &[]);
    let dir = std::env::temp_dir().join(format!("pe-video-crash-{}", db.name()));
    let engine = engine
        .with_storage(Arc::new(DiesStoringTheClip { inner: LocalDirStorage::new(&dir), armed: AtomicBool::new(true) }));
    let w = world(&engine).await;
    fake.push_video(VideoScript::ready_after(0));
    let id = enqueue(&engine, &w).await;
    let c = engine.pool.get().await.unwrap();
    let submitted = engine.run_task(&engine.queue.claim_by_id(&**c, id).await.unwrap()).await;
    assert_eq!(submitted.outcome, RunOutcome::Waiting);
    clock.set(submitted.next_attempt_at.unwrap());

    // The run downloads the clip and dies storing it: nothing after that point happens.
    let claimed = engine.queue.claim_by_id(&**c, id).await.unwrap();
    let died = tokio::time::timeout(std::time::Duration::from_secs(2), engine.run_task(&claimed)).await;
    assert!(died.is_err(), "the run was stopped mid-way");
    assert_eq!(fake.video_downloads(), 1);
    assert_eq!(count(&engine, "SELECT count(*) FROM posts").await, 0);

    // Its lease runs out; the task is rescued and resumes from the operation it kept.
    clock.advance(Duration::seconds(301));
    engine.queue.rescue_expired(&**c).await.unwrap();
    let rescued = task(&engine, id).await;
    clock.set(rescued.scheduled_at.max(clock.now()));
    let last = run_to_the_end(&engine, &clock, id).await.pop().unwrap();

    assert_eq!(last.outcome, RunOutcome::Published, "{last:?}");
    assert_eq!(fake.video_submissions(), 1, "the clip was paid for once");
    assert_eq!(fake.video_downloads(), 2, "and fetched again");
    assert_eq!(count(&engine, "SELECT count(*) FROM posts").await, 1);
    assert_eq!(count(&engine, "SELECT count(*) FROM media").await, 2);
    let stored = std::fs::read(dir.join(format!("personas/{}/{}.mp4", w.persona, id))).unwrap();
    let provider = sample_mp4(4);
    assert_eq!(stored[..provider.len()], provider[..], "the stored clip is the provider's, its mark appended");
    assert!(shared::media::provenance::read_xmp(&stored[provider.len()..]).is_some());
}

#[tokio::test]
async fn the_offline_provider_posts_a_clip_a_browser_can_play() {
    let db = TestDb::new().await;
    let (engine, clock) = offline_engine(&db);
    let w = world(&engine).await;
    let id = enqueue(&engine, &w).await;

    let last = run_to_the_end(&engine, &clock, id).await.pop().unwrap();

    assert_eq!(last.outcome, RunOutcome::Published, "{last:?}");
    let c = engine.pool.get().await.unwrap();
    let path: String = c
        .query_typed_one("SELECT storage_path FROM media WHERE mime_type = $1", &[(&clip::MP4, Type::TEXT)])
        .await
        .unwrap()
        .get(0);
    let dir = std::env::temp_dir().join(format!("pe-media-{}", db.name()));
    let info = clip::inspect_mp4(&std::fs::read(dir.join(&path)).unwrap()).unwrap();
    assert!([256, 144].contains(&info.width) && info.duration_ms >= 4000, "{info:?}");
}

#[tokio::test]
async fn clips_go_only_where_boards_take_them_within_the_weekly_limit_and_the_budget() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, clock) = gemini_engine(&db, &fake, &[]);
    let w = world(&engine).await;
    let c = engine.pool.get().await.unwrap();

    // A board nobody opened to video.
    let plain = fixtures::board(&**c, "gardening", &["cooking"]).await;
    let claimed = claim_new(&engine, VIDEO_POST.task(w.persona, Target::Board(plain), clock.now())).await;
    let report = engine.run_task(&claimed).await;
    assert_eq!(report.status, TaskStatus::Skipped);
    assert!(report.reason.as_deref().unwrap_or("").contains("takes no video"), "{report:?}");

    // One clip a week.
    fake.push_video(VideoScript::ready_after(0));
    let id = enqueue(&engine, &w).await;
    assert_eq!(run_to_the_end(&engine, &clock, id).await.pop().unwrap().outcome, RunOutcome::Published);
    clock.advance(Duration::days(2));
    let again = claim_new(&engine, VIDEO_POST.task(w.persona, Target::Board(w.board), clock.now())).await;
    let report = engine.run_task(&again).await;
    assert_eq!(report.status, TaskStatus::Skipped);
    assert!(report.reason.as_deref().unwrap_or("").contains("VIDEO_MAX_PER_PERSONA_PER_WEEK is 1"), "{report:?}");

    // A clip waits for a day whose budget has room for its price (at least $0.60), before it is asked.
    let (engine, _clock) = gemini_engine(&db, &fake, &[("PERSONA_DAILY_BUDGET_USD", "0.50")]);
    let other = fixtures::persona(&**c, "olga_films", &["cooking"]).await;
    let claimed = claim_new(&engine, VIDEO_POST.task(other, Target::Board(w.board), t0())).await;
    let report = engine.run_task(&claimed).await;
    assert_eq!(report.outcome, RunOutcome::Rescheduled, "{report:?}");
    assert!(report.reason.as_deref().unwrap_or("").contains("more needed"), "{report:?}");
    assert_eq!(fake.video_submissions(), 1, "only the first persona's clip was asked for");
}

#[tokio::test]
async fn a_dry_run_writes_the_caption_and_prompts_without_asking_for_a_clip() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let (engine, _clock) = gemini_engine(&db, &fake, &[]);
    let w = world(&engine).await;
    let request: shared::operator::TriggerRequest =
        serde_json::from_value(serde_json::json!({ "persona_id": w.persona, "board_id": w.board })).unwrap();

    let preview = shared::operator::dry_run(&engine, VIDEO_POST, &request).await.unwrap();

    assert_eq!(preview.draft["kind"], "video_post");
    for field in ["title", "body", "frame_prompt", "video_prompt"] {
        assert!(preview.draft[field].as_str().is_some_and(|t| !t.is_empty()), "{field}: {}", preview.draft);
    }
    assert_eq!(fake.video_submissions(), 0);
    assert!(fake.received().iter().all(|r| !r.path_and_query.contains("predictLongRunning")));
}

#[tokio::test]
async fn with_a_signing_certificate_the_stored_clip_and_poster_carry_content_credentials() {
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let identity = testkit::signing::identity();
    let (engine, clock) = gemini_engine(
        &db,
        &fake,
        &[("C2PA_SIGNING_CERT", &identity.certificates), ("C2PA_SIGNING_KEY", &identity.key)],
    );
    let w = world(&engine).await;
    fake.push_video(VideoScript::ready_after(0));
    let id = enqueue(&engine, &w).await;
    let last = run_to_the_end(&engine, &clock, id).await.pop().unwrap();
    assert_eq!(last.outcome, RunOutcome::Published, "{last:?}");

    let c = engine.pool.get().await.unwrap();
    let media = c
        .query_typed(
            "SELECT m.mime_type, m.storage_path, m.bytes FROM media m JOIN posts p ON p.id = m.post_id
             WHERE p.persona_id = $1 ORDER BY m.mime_type",
            &[(&w.persona, Type::UUID)],
        )
        .await
        .unwrap();
    for row in &media {
        let (mime, path): (String, String) = (row.get(0), row.get(1));
        let stored = std::fs::read(engine.config.image.local_dir.join(&path)).unwrap();
        assert_eq!(stored.len() as i32, row.get::<_, i32>(2), "the media row counts the signed file");
        let model = if mime == clip::MP4 { "veo-3.1-fast-generate-preview" } else { "gemini-3.1-flash-image" };
        testkit::signing::assert_credentials(&stored, &mime, model);
    }
    assert_eq!(media.len(), 2);
}
