//! The model layer through the real clients against the Gemini fake (and a chat-completions mock):
//! every failure class, request bodies as received, the global limit, the offline writer, secrets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Duration as ChronoDuration;
use secrecy::SecretString;
use shared::ai::gemini::GeminiClient;
use shared::ai::offline::OfflineWriter;
use shared::ai::openai_compat::OpenAiClient;
use shared::ai::{Disposition, ImagePrompt, ModelClient, ModelError, Prompt, Provider, RateLimiter};
use shared::clock::ManualClock;
use shared::context::Scene;
use shared::kinds::{COMMENT, IMAGE_POST, Kind, POST, REPLY, VOTE};
use shared::prompt::{self, Budget};
use testkit::gemini_fake::{FAKE_KEY, sample_png};
use testkit::samples;
use testkit::{GeminiFake, Reply, TestDb};

use crate::helpers::t0;

const TEXT_MODEL: &str = "gemini-3.6-flash";
const IMAGE_MODEL: &str = "gemini-3.1-flash-image";

fn gemini(fake: &GeminiFake) -> GeminiClient {
    gemini_with_timeout(fake, Duration::from_secs(5))
}

fn gemini_with_timeout(fake: &GeminiFake, timeout: Duration) -> GeminiClient {
    GeminiClient::new(&fake.uri(), SecretString::from(FAKE_KEY), TEXT_MODEL, IMAGE_MODEL, timeout).unwrap()
}

fn comment_prompt() -> Prompt {
    let persona = samples::marisol();
    let history = samples::marisol_history();
    let post = samples::stir_fry_post_context();
    COMMENT
        .prompt(
            &persona,
            &history,
            &Scene::Post(post),
            None,
            7,
            &Budget::default(),
            shared::disclosure::Disclosure::Honest,
        )
        .expect("a scene the kind looks at")
}

fn image_prompt() -> ImagePrompt {
    ImagePrompt {
        prompt: "A bowl of lentil soup on a wooden table, window light".into(),
        aspect_ratio: "4:3".into(),
        seed: 1,
        portrait: false,
    }
}

async fn failure_of(reply: Reply) -> (ModelError, GeminiFake) {
    let fake = GeminiFake::start().await;
    fake.push(reply.clone()).push(reply);
    let err = gemini(&fake).generate(&comment_prompt()).await.unwrap_err();
    (err, fake)
}

#[tokio::test]
async fn a_json_answer_is_returned_with_its_usage() {
    let fake = GeminiFake::start().await;
    fake.push(Reply::WithUsage {
        reply: Box::new(Reply::Json(serde_json::json!({"body": "Two batches, hot pan."}))),
        prompt: 412,
        candidates: 18,
        thoughts: 96,
        cached: 0,
    });

    let answer = gemini(&fake).generate(&comment_prompt()).await.unwrap();

    assert_eq!(answer.text.trim(), r#"{"body":"Two batches, hot pan."}"#);
    assert_eq!((answer.usage.prompt_tokens, answer.usage.output_tokens, answer.usage.thoughts_tokens), (412, 18, 96));
    assert_eq!(answer.usage.completion_tokens(), 114, "thinking is billed as output");
    let received = fake.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].model, TEXT_MODEL);
    assert!(received[0].key_header_ok);
    assert_eq!(received[0].path_and_query, format!("/v1beta/models/{TEXT_MODEL}:generateContent"), "no key in the URL");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

/// Each class of work goes to its own model with its own thinking, and is priced at that model: a vote
/// (a decision) to the cheap tier thinking as little as it can, a comment to the writing model, a picture
/// to the image model. Cached tokens are recorded as Gemini reports them and billed at the cached rate.
#[tokio::test]
async fn each_class_of_work_goes_to_its_model_with_its_thinking_and_price() {
    use shared::ai::{ModelClass, Models, Thinking};
    let fake = GeminiFake::start().await;
    let models = Models::uniform("gemini-3.6-flash", IMAGE_MODEL)
        .with(ModelClass::Decision, "gemini-3.1-flash-lite")
        .thinking_for(ModelClass::Writing, Thinking::Medium);
    let client = gemini(&fake).with_models(models);
    let usage = |cached| Reply::WithUsage {
        reply: Box::new(Reply::Json(serde_json::json!({"body": "ok", "vote": "up", "reason": "fine"}))),
        prompt: 1_000,
        candidates: 100,
        thoughts: 0,
        cached,
    };
    fake.push(usage(0)).push(usage(400));
    let vote = VOTE
        .prompt(
            &samples::marisol(),
            &samples::marisol_history(),
            &Scene::Post(samples::stir_fry_post_context()),
            None,
            3,
            &Budget::default(),
            shared::disclosure::Disclosure::Honest,
        )
        .unwrap();
    let decided = client.generate(&vote).await.unwrap();
    let written = client.generate(&comment_prompt()).await.unwrap();
    client.generate_image(&image_prompt()).await.unwrap();

    let received = fake.received();
    let models: Vec<&str> = received.iter().map(|r| r.model.as_str()).collect();
    assert_eq!(models, ["gemini-3.1-flash-lite", "gemini-3.6-flash", IMAGE_MODEL]);
    let thinking = |i: usize| received[i].body["generationConfig"]["thinkingConfig"]["thinkingLevel"].clone();
    assert_eq!((thinking(0), thinking(1)), (serde_json::json!("MINIMAL"), serde_json::json!("MEDIUM")));
    // 1,000 in and 100 out: at $0.25/$1.50 a decision, at $1.50/$9.00 writing (400 of its input cached at $0.15).
    assert_eq!(decided.usage.cost_micros, 250 + 150);
    assert_eq!(written.usage.cached_tokens, 400);
    assert_eq!(written.usage.cost_micros, 900 + 60 + 900);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn unknown_extra_fields_in_the_answer_are_ignored() {
    let fake = GeminiFake::start().await;
    fake.push(Reply::WithUnknownFields(Box::new(Reply::Json(serde_json::json!({"body": "fine"})))));
    let answer = gemini(&fake).generate(&comment_prompt()).await.unwrap();
    assert!(answer.text.contains("fine"));
}

#[tokio::test]
async fn a_per_minute_429_reschedules_after_the_servers_retry_delay() {
    let (err, _) = failure_of(Reply::RateLimitedPerMinute { retry_secs: 19 }).await;
    assert!(
        matches!(err, ModelError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(19)),
        "{err}"
    );
    assert_eq!(err.disposition(), Disposition::Reschedule { after: Duration::from_secs(19) });
}

#[tokio::test]
async fn a_bare_429_reschedules_after_a_minute() {
    let (err, _) = failure_of(Reply::Bare429).await;
    assert_eq!(err.disposition(), Disposition::Reschedule { after: Duration::from_secs(60) });
}

#[tokio::test]
async fn a_per_day_quota_429_fails_fast() {
    let (err, fake) = failure_of(Reply::QuotaPerDay).await;
    assert!(
        matches!(&err, ModelError::QuotaExhausted { quota, .. } if quota == "GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
        "{err}"
    );
    assert_eq!(err.disposition(), Disposition::Fail);
    assert_eq!(fake.received().len(), 1, "no retry loop against a daily quota");
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retryable() {
    for status in [408, 500, 502, 503, 504] {
        let (err, _) = failure_of(Reply::Status(status)).await;
        assert!(matches!(err, ModelError::Transient { status: Some(s), .. } if s == status), "{status}: {err}");
        assert_eq!(err.disposition(), Disposition::Retry, "{status}");
    }
    let fake = GeminiFake::start().await;
    fake.push(Reply::Slow(Duration::from_secs(3), Box::new(Reply::Auto)));
    let err = gemini_with_timeout(&fake, Duration::from_millis(300)).generate(&comment_prompt()).await.unwrap_err();
    assert!(matches!(&err, ModelError::Transient { status: None, message } if message.contains("timed out")), "{err}");
    assert_eq!(err.disposition(), Disposition::Retry);
}

#[tokio::test]
async fn a_connection_refused_is_retryable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = GeminiClient::new(
        &format!("http://127.0.0.1:{port}"),
        SecretString::from(FAKE_KEY),
        TEXT_MODEL,
        IMAGE_MODEL,
        Duration::from_secs(2),
    )
    .unwrap();
    let err = client.generate(&comment_prompt()).await.unwrap_err();
    assert!(matches!(err, ModelError::Transient { status: None, .. }), "{err}");
    assert_eq!(err.disposition(), Disposition::Retry);
}

#[tokio::test]
async fn an_empty_candidate_is_asked_again_once() {
    let fake = GeminiFake::start().await;
    fake.push(Reply::EmptyCandidate).push(Reply::Json(serde_json::json!({"body": "second time lucky"})));
    let answer = gemini(&fake).generate(&comment_prompt()).await.unwrap();
    assert!(answer.text.contains("second time lucky"));
    assert_eq!(answer.usage.prompt_tokens, 4589 + 180, "both calls are counted");

    let (err, fake) = failure_of(Reply::EmptyCandidate).await;
    assert!(matches!(err, ModelError::Empty { .. }), "{err}");
    assert_eq!(err.disposition(), Disposition::Retry);
    assert_eq!(fake.received().len(), 2);
}

#[tokio::test]
async fn invalid_arguments_and_bad_keys_fail_permanently() {
    let (err, _) = failure_of(Reply::InvalidArgument("Invalid JSON payload received. Unknown name \"x\"".into())).await;
    assert!(matches!(err, ModelError::Refused { status: 400, .. }), "{err}");
    assert_eq!(err.disposition(), Disposition::Fail);

    let (err, _) = failure_of(Reply::BadKey).await;
    assert!(matches!(err, ModelError::BadApiKey { var: "GEMINI_API_KEY", .. }), "{err}");
    assert_eq!(err.disposition(), Disposition::Fail);

    // A wrong key, as the real API treats it.
    let fake = GeminiFake::start_with_key("another-key").await;
    let err = gemini(&fake).generate(&comment_prompt()).await.unwrap_err();
    assert!(matches!(err, ModelError::BadApiKey { .. }), "{err}");
}

#[tokio::test]
async fn a_retired_model_is_a_configuration_error_naming_it() {
    let fake = GeminiFake::start().await;
    fake.retire(TEXT_MODEL);
    let err = gemini(&fake).generate(&comment_prompt()).await.unwrap_err();
    assert!(
        matches!(&err, ModelError::ModelNotFound { model, var: "GEMINI_MODEL_WRITING", .. } if model == TEXT_MODEL),
        "{err}"
    );
    assert!(err.to_string().contains("set GEMINI_MODEL_WRITING to a current model"), "the writing call's class: {err}");
    assert_eq!(err.disposition(), Disposition::Fail);

    fake.retire(IMAGE_MODEL);
    let err = gemini(&fake).generate_image(&image_prompt()).await.unwrap_err();
    assert!(matches!(&err, ModelError::ModelNotFound { var: "GEMINI_MODEL_IMAGE", .. }), "{err}");
}

#[tokio::test]
async fn safety_blocks_skip_the_task_with_the_reason() {
    let (err, _) = failure_of(Reply::PromptBlocked("SAFETY".into())).await;
    assert!(matches!(&err, ModelError::Blocked { reason } if reason.contains("SAFETY")), "{err}");
    assert_eq!(err.disposition(), Disposition::Skip);
    for reason in ["SAFETY", "PROHIBITED_CONTENT", "RECITATION"] {
        let (err, _) = failure_of(Reply::Finish(reason.into())).await;
        assert!(matches!(&err, ModelError::Blocked { reason: r } if r.contains(reason)), "{reason}: {err}");
        assert_eq!(err.disposition(), Disposition::Skip);
    }
    let fake = GeminiFake::start().await;
    fake.push(Reply::Finish("IMAGE_SAFETY".into()));
    let err = gemini(&fake).generate_image(&image_prompt()).await.unwrap_err();
    assert!(matches!(&err, ModelError::Blocked { reason } if reason.contains("IMAGE_SAFETY")), "{err}");
}

#[tokio::test]
async fn max_tokens_is_retried_once_with_twice_the_budget_and_cut_text_is_never_returned() {
    let fake = GeminiFake::start().await;
    fake.push(Reply::MaxTokens).push(Reply::Json(serde_json::json!({"body": "complete answer"})));
    let answer = gemini(&fake).generate(&comment_prompt()).await.unwrap();
    assert!(answer.text.contains("complete answer"));
    let budgets: Vec<u64> = fake
        .received()
        .iter()
        .map(|r| r.body.pointer("/generationConfig/maxOutputTokens").and_then(|v| v.as_u64()).unwrap())
        .collect();
    assert_eq!(budgets, vec![2048, 4096]);
    assert_eq!(answer.usage.thoughts_tokens, 2040, "the truncated call's thinking is counted");

    let (err, _) = failure_of(Reply::MaxTokens).await;
    assert!(matches!(err, ModelError::Truncated { limit: 4096 }), "{err}");
    assert_eq!(err.disposition(), Disposition::Retry);
}

#[tokio::test]
async fn images_are_found_in_any_part_and_thought_images_skipped() {
    let fake = GeminiFake::start().await;
    let png = sample_png(40, 30);
    fake.push(Reply::Image { png: png.clone(), thought_image_first: true });

    let image = gemini(&fake).generate_image(&image_prompt()).await.unwrap();

    assert_eq!(image.bytes, png, "the real image, not the thought image before it");
    assert_eq!(image.mime_type, "image/png");
    assert_eq!(image.usage.output_tokens, 1291);
    let body = &fake.received()[0].body;
    assert_eq!(fake.received()[0].model, IMAGE_MODEL);
    assert_eq!(body.pointer("/generationConfig/responseModalities"), Some(&serde_json::json!(["TEXT", "IMAGE"])));
    assert_eq!(body.pointer("/generationConfig/imageConfig/aspectRatio"), Some(&serde_json::json!("4:3")));
}

#[tokio::test]
async fn an_image_answer_without_an_image_is_an_error() {
    let fake = GeminiFake::start().await;
    fake.push(Reply::ImageMissing);
    let err = gemini(&fake).generate_image(&image_prompt()).await.unwrap_err();
    assert!(matches!(&err, ModelError::NoImage { finish_reason } if finish_reason == "STOP"), "{err}");
    assert_eq!(err.disposition(), Disposition::Retry);
}

/// The key is only ever in the header: not in URLs, errors, Debug output or logs.
#[tokio::test]
async fn the_api_key_never_appears_in_errors_debug_output_or_logs() {
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = {
        let logs = logs.clone();
        move || LogWriter(logs.clone())
    };
    let subscriber = tracing_subscriber::fmt().with_writer(writer).with_max_level(tracing::Level::TRACE).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fake = GeminiFake::start().await;
    let client = gemini(&fake);
    let mut texts = vec![format!("{client:?}")];
    for reply in [
        Reply::BadKey,
        Reply::QuotaPerDay,
        Reply::Status(503),
        Reply::EmptyCandidate,
        Reply::ModelRetired,
        Reply::PromptBlocked("SAFETY".into()),
    ] {
        fake.push(reply.clone()).push(reply);
        if let Err(e) = client.generate(&comment_prompt()).await {
            texts.push(e.to_string());
            texts.push(format!("{e:?}"));
        }
    }
    let config =
        shared::config::Config::from_lookup(&|k| (k == "GEMINI_API_KEY").then(|| FAKE_KEY.to_owned())).unwrap();
    texts.push(format!("{config:?}"));
    texts.push(String::from_utf8_lossy(&logs.lock().unwrap()).into_owned());

    for text in &texts {
        assert!(!text.contains(FAKE_KEY), "the key leaked into: {text}");
    }
    assert!(fake.received().iter().all(|r| !r.path_and_query.contains(FAKE_KEY)));
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// ---- request bodies, as the fake receives them ---------------------------------------------------

async fn received_body(kind: Kind, scene: Scene, note: Option<&str>) -> serde_json::Value {
    let persona = samples::marisol();
    let history = samples::marisol_history();
    let prompt = kind
        .prompt(&persona, &history, &scene, note, 7, &Budget::default(), shared::disclosure::Disclosure::Honest)
        .expect("a scene the kind looks at");
    let fake = GeminiFake::start().await;
    gemini(&fake).generate(&prompt).await.unwrap();
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    fake.received().remove(0).body
}

#[tokio::test]
async fn request_body_for_a_post() {
    let board = samples::cooking_board();
    insta::assert_json_snapshot!("request_post", received_body(POST, Scene::Board(board.clone()), None).await);
}

#[tokio::test]
async fn request_body_for_an_image_post() {
    let board = samples::cooking_board();
    insta::assert_json_snapshot!(
        "request_image_post",
        received_body(IMAGE_POST, Scene::Board(board.clone()), None).await
    );
}

#[tokio::test]
async fn request_body_for_a_comment() {
    let post = samples::stir_fry_post_context();
    insta::assert_json_snapshot!("request_comment", received_body(COMMENT, Scene::Post(post.clone()), None).await);
}

#[tokio::test]
async fn request_body_for_a_reply() {
    let thread = samples::stir_fry_thread();
    insta::assert_json_snapshot!("request_reply", received_body(REPLY, Scene::Thread(thread.clone()), None).await);
}

#[tokio::test]
async fn request_body_for_a_vote() {
    let post = samples::stir_fry_post_context();
    insta::assert_json_snapshot!(
        "request_vote",
        received_body(VOTE, Scene::Post(post.clone()), Some("be generous today")).await
    );
}

#[tokio::test]
async fn request_body_for_an_image() {
    let fake = GeminiFake::start().await;
    gemini(&fake).generate_image(&image_prompt()).await.unwrap();
    insta::assert_json_snapshot!("request_image", fake.received().remove(0).body);
}

#[test]
fn a_long_thread_is_cut_to_the_budget_deterministically() {
    let persona = samples::marisol();
    let history = samples::marisol_history();
    let mut thread = samples::stir_fry_thread();
    let template = thread.siblings[0].clone();
    thread.siblings = (0..500)
        .map(|i| shared::context::CommentView {
            body: format!("Sibling reply number {i} with some words in it."),
            ..template.clone()
        })
        .collect();
    let scene = Scene::Thread(thread);
    let budget = Budget { total_tokens: 900, ..Budget::default() };

    let first = REPLY
        .prompt(&persona, &history, &scene, None, 1, &budget, shared::disclosure::Disclosure::Honest)
        .expect("a scene the kind looks at");
    let second = REPLY
        .prompt(&persona, &history, &scene, None, 1, &budget, shared::disclosure::Disclosure::Honest)
        .expect("a scene the kind looks at");

    assert_eq!(first.user, second.user, "deterministic");
    assert!(prompt::estimate_tokens(&first.user) < 600, "{} tokens", prompt::estimate_tokens(&first.user));
    assert!(first.user.contains("more replies not shown"), "{}", first.user);
    assert!(first.user.contains("Probably, I throw everything in at once"), "the target is always shown");
    assert!(first.user.contains("Comments by \"you\" are yours"), "the persona is told which words are its own");
    assert!(first.user.contains("<comment author=\"you\">"), "and sees them once, as its own");
}

/// However crowded the post, every text action's request (system and user turns together) stays within
/// the 1,200-token budget, keeps the persona, the task and the style rules, and our own words carry no
/// em-dash (the model copies what it reads).
#[test]
fn every_text_prompt_fits_the_budget_however_crowded_and_our_words_have_no_em_dash() {
    let persona = samples::marisol();
    let mut history = samples::marisol_history();
    history.summary = Some("I keep telling people to cook in two batches. ".repeat(40));
    // An operator's profile can be long too: it is bounded, not the budget.
    let mut wordy = samples::marisol();
    wordy.bio = "Spent twenty years on the line in Valencia. ".repeat(60);
    wordy.voice = "Warm but blunt about technique, short practical sentences. ".repeat(30);
    wordy.modules = (0..40).map(|i| format!("mentions pan number {i} and its exact temperature in detail")).collect();
    wordy.interests = (0..40).map(|i| format!("interest {i}")).collect();
    wordy.voice_bank = (0..8).map(|i| format!("Example {i}: ").repeat(100)).collect();
    let long = |i: usize| format!("Comment {i}: {}", "two batches and a hot carbon steel pan, ".repeat(12));
    let mut board = samples::cooking_board();
    board.recent_titles = (0..60).map(|i| format!("A post title number {i} about weeknight dinners")).collect();
    let mut post = samples::stir_fry_post_context();
    post.post.body = "I cut everything small and it still steams. ".repeat(120);
    let (first, reply) = (post.comments[0].clone(), post.replies[0].clone());
    post.comments = (0..200).map(|i| shared::context::CommentView { body: long(i), ..first.clone() }).collect();
    post.replies = (0..400).map(|i| shared::context::CommentView { body: long(i), ..reply.clone() }).collect();
    post.comment_count = 600;
    let mut thread = samples::stir_fry_thread();
    thread.post.body = post.post.body.clone();
    let ancestor = thread.ancestors[0].clone();
    thread.ancestors = (0..12).map(|i| shared::context::CommentView { body: long(i), ..ancestor.clone() }).collect();
    thread.target.body = long(999);
    let sibling = thread.siblings[0].clone();
    thread.siblings = (0..300).map(|i| shared::context::CommentView { body: long(i), ..sibling.clone() }).collect();
    thread.replies = thread.siblings.clone();

    let budget = Budget::default();
    for (kind, scene) in [
        (POST, Scene::Board(board.clone())),
        (IMAGE_POST, Scene::Board(board)),
        (COMMENT, Scene::Post(post)),
        (REPLY, Scene::Thread(thread)),
    ] {
        for seed in 0..20 {
            let p = kind
                .prompt(&persona, &history, &scene, None, seed, &budget, shared::disclosure::Disclosure::Honest)
                .expect("a scene the kind looks at");
            let tokens = prompt::estimate_tokens(&p.system) + prompt::estimate_tokens(&p.user);
            assert!(tokens <= 1200, "{}: {tokens} tokens\n{}\n{}", kind.name(), p.system, p.user);
            assert!(
                p.system.contains("Marisol Vega") && p.user.contains("Write the way people type"),
                "{}",
                kind.name()
            );
            let ours = format!("{}{}", p.system, p.user);
            assert!(!ours.contains('\u{2014}'), "{}: an em-dash in the prompt\n{ours}", kind.name());
            let long = kind
                .prompt(&wordy, &history, &scene, None, seed, &budget, shared::disclosure::Disclosure::Honest)
                .expect("a scene the kind looks at");
            let tokens = prompt::estimate_tokens(&long.system) + prompt::estimate_tokens(&long.user);
            assert!(tokens <= 1200, "{} with a long profile: {tokens} tokens\n{}", kind.name(), long.system);
            assert!(long.user.contains("Write the way people type"), "the rules are never cut");
        }
    }
}

/// A persona's calls of one class open with the same bytes (its system turn) whatever it looks at and
/// whatever it wrote last, so a provider's prefix cache can serve them; its latest words, the context and
/// the task come after, in the user turn. Decisions get their own, shorter prefix.
#[test]
fn a_personas_prompts_of_one_class_share_a_byte_identical_prefix() {
    use shared::ai::ModelClass;
    let persona = samples::marisol();
    let earlier = samples::marisol_history();
    let mut later = samples::marisol_history();
    later.recent.insert(
        0,
        shared::persona::Written {
            kind: "post",
            text: "Rice cookers are underrated, fight me.".into(),
            downvoted: false,
        },
    );
    let scenes = [
        (POST, Scene::Board(samples::cooking_board())),
        (IMAGE_POST, Scene::Board(samples::cooking_board())),
        (COMMENT, Scene::Post(samples::stir_fry_post_context())),
        (REPLY, Scene::Thread(samples::stir_fry_thread())),
    ];
    let mut systems = std::collections::BTreeSet::new();
    for (kind, scene) in &scenes {
        for (seed, history) in [(1, &earlier), (2, &later)] {
            let p = kind
                .prompt(
                    &persona,
                    history,
                    scene,
                    None,
                    seed,
                    &Budget::default(),
                    shared::disclosure::Disclosure::Honest,
                )
                .expect("a scene the kind looks at");
            assert_eq!(p.class, ModelClass::Writing, "{}", kind.name());
            assert!(!p.system.contains("Rice cookers"), "the latest words are not in the prefix:\n{}", p.system);
            assert!(p.system.contains("Two batches. Always two batches."), "the voice bank is: {}", p.system);
            if seed == 2 && !matches!(scene, Scene::Board(_)) {
                assert!(p.user.contains("Rice cookers"), "they lead the user turn:\n{}", p.user);
            }
            systems.insert(p.system);
        }
    }
    assert_eq!(systems.len(), 1, "one prefix across kinds, scenes and histories: {systems:#?}");
    let vote = VOTE
        .prompt(
            &persona,
            &earlier,
            &Scene::Post(samples::stir_fry_post_context()),
            None,
            3,
            &Budget::default(),
            shared::disclosure::Disclosure::Honest,
        )
        .expect("a vote looks at a post");
    assert_eq!(vote.class, ModelClass::Decision);
    assert!(!systems.contains(&vote.system) && !vote.system.contains("<example"), "{}", vote.system);
}

/// A session is offered to write what it chooses to say only when someone answered the persona and its
/// prompt has room: with a short feed it becomes a writing call (the voice, the style rules, a `text`
/// field); with a crowded one it stays a decision and its feed is not cut to make room.
#[test]
fn a_session_may_write_ahead_only_when_its_feed_leaves_room() {
    use shared::ai::ModelClass;
    use shared::context::{FeedView, SeenPost};
    use shared::db::sessions::FeedPost;
    let persona = samples::marisol();
    let post = samples::stir_fry_post_context();
    let answered = shared::context::SeenNotice {
        notice: shared::db::sessions::Notice {
            comment: post.comments[0].clone(),
            post_id: post.post.id,
            post_title: post.post.title.clone(),
            answers: Some("Two batches.".into()),
        },
        affinity: 0,
    };
    let feed = |posts: usize, words: usize, notices: &[shared::context::SeenNotice]| {
        Scene::Feed(FeedView {
            notices: notices.to_vec(),
            posts: (0..posts)
                .map(|i| SeenPost {
                    feed: FeedPost {
                        post: shared::context::PostView {
                            id: uuid::Uuid::from_u128(i as u128 + 1),
                            body: "a long post about pans and heat ".repeat(words),
                            ..post.post.clone()
                        },
                        score: 3,
                        persona_score: 0,
                        comments: 2,
                        persona_comments: 0,
                        views: 1,
                        shown: post.comments.clone(),
                    },
                    affinity: 0,
                    interest: 2,
                    trending: Vec::new(),
                })
                .collect(),
            boards: Vec::new(),
            actions_left: 4,
            reflection_due: false,
            answer_people: 550,
        })
    };
    let prompt = |scene: &Scene| {
        shared::kinds::BROWSE
            .prompt(
                &persona,
                &samples::marisol_history(),
                scene,
                None,
                5,
                &Budget::default(),
                shared::disclosure::Disclosure::Honest,
            )
            .expect("a session looks at a feed")
    };
    let unanswered = prompt(&feed(2, 1, &[]));
    assert_eq!(unanswered.class, ModelClass::Decision, "nobody answered: nothing likely to write");
    assert!(unanswered.temperature < 1.0, "a decision stays steady");
    let quiet = prompt(&feed(2, 1, std::slice::from_ref(&answered)));
    assert_eq!(quiet.class, ModelClass::Writing, "{}", quiet.user);
    assert_eq!(quiet.temperature, 1.0, "sampled as writing, not as a steady decision");
    assert!(quiet.schema.to_string().contains("\"text\""), "{}", quiet.schema);
    assert!(quiet.user.contains("Write the way people type") && quiet.user.contains("in \"text\""));
    let comment = COMMENT
        .prompt(
            &persona,
            &samples::marisol_history(),
            &Scene::Post(post.clone()),
            None,
            5,
            &Budget::default(),
            shared::disclosure::Disclosure::Honest,
        )
        .unwrap();
    assert_eq!(quiet.system, comment.system, "the same prefix as the persona's other writing");

    let crowded = prompt(&feed(6, 30, std::slice::from_ref(&answered)));
    assert_eq!(crowded.class, ModelClass::Decision);
    assert!(!crowded.schema.to_string().contains("\"text\""), "{}", crowded.schema);
    assert!(!crowded.user.contains("Write the way people type"));
    let tokens = prompt::estimate_tokens(&crowded.system) + prompt::estimate_tokens(&crowded.user);
    assert!(tokens <= 1200, "{tokens}");
}

// ---- the global request limit ---------------------------------------------------------------------

/// 4 worker loops race for slots at each simulated instant; over 6 simulated minutes no 60-second
/// window holds more than the limit, and the limit is used, not starved.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_concurrent_loops_never_exceed_the_limit_in_any_minute() {
    const LIMIT: usize = 10;
    let db = TestDb::new().await;
    let fake = GeminiFake::start().await;
    let clock = ManualClock::new(t0());
    let limiter = RateLimiter::new(db.pool().clone(), clock.clone(), "gemini", LIMIT as u32);
    let client = ModelClient::new(Arc::new(gemini(&fake)), Some(limiter));
    let prompt = comment_prompt();

    let mut per_instant: Vec<(i64, usize)> = Vec::new();
    let mut waits = Vec::new();
    for step in 0..72i64 {
        clock.set(t0() + ChronoDuration::seconds(step * 5));
        let before = fake.received().len();
        let loops: Vec<_> = (0..4)
            .map(|_| {
                let client = client.clone();
                let prompt = prompt.clone();
                tokio::spawn(async move {
                    let mut refused = Vec::new();
                    for _ in 0..3 {
                        match client.generate(&prompt).await {
                            Ok(_) => {}
                            Err(ModelError::RateLimited { retry_after, .. }) => refused.push(retry_after),
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                    refused
                })
            })
            .collect();
        for l in loops {
            waits.extend(l.await.unwrap());
        }
        per_instant.push((step * 5, fake.received().len() - before));
    }

    for (start, _) in &per_instant {
        let in_window: usize = per_instant.iter().filter(|(t, _)| *t > start - 60 && t <= start).map(|(_, n)| n).sum();
        assert!(in_window <= LIMIT, "{in_window} requests in the minute ending at +{start}s");
    }
    let total: usize = per_instant.iter().map(|(_, n)| n).sum();
    assert!(total >= LIMIT * 5, "the limit is used: {total} requests in 6 minutes");
    assert!(!waits.is_empty() && waits.iter().all(|w| *w >= Duration::from_secs(1) && *w <= Duration::from_secs(60)));
}

#[tokio::test]
async fn the_offline_provider_is_not_limited() {
    let db = TestDb::new().await;
    let clock = ManualClock::new(t0());
    let limiter = RateLimiter::new(db.pool().clone(), clock, "gemini", 1);
    let client = ModelClient::new(Arc::new(OfflineWriter), Some(limiter));
    for _ in 0..5 {
        client.generate(&comment_prompt()).await.unwrap();
    }
}

// ---- the offline writer ----------------------------------------------------------------------------

async fn offline_text(persona: &shared::persona::Persona, kind: Kind, scene: Scene, seed: u64) -> String {
    let history = shared::persona::History::default();
    let prompt = kind
        .prompt(persona, &history, &scene, None, seed, &Budget::default(), shared::disclosure::Disclosure::Honest)
        .expect("a scene the kind looks at");
    OfflineWriter.generate(&prompt).await.unwrap().text
}

#[tokio::test]
async fn the_offline_writer_is_deterministic_and_varies_with_persona_and_context() {
    let post = samples::stir_fry_post_context();
    let thread = samples::stir_fry_thread();
    let (marisol, nia) = (samples::marisol(), samples::nia());

    let a = offline_text(&marisol, COMMENT, Scene::Post(post.clone()), 1).await;
    let again = offline_text(&marisol, COMMENT, Scene::Post(post.clone()), 1).await;
    let other_persona = offline_text(&nia, COMMENT, Scene::Post(post.clone()), 1).await;
    let other_context = offline_text(&marisol, REPLY, Scene::Thread(thread.clone()), 1).await;
    let other_seed = offline_text(&marisol, COMMENT, Scene::Post(post.clone()), 2).await;

    assert_eq!(a, again, "same seed, same text");
    assert_ne!(a, other_persona);
    assert_ne!(a, other_context);
    assert_ne!(a, other_seed);
    for text in [&a, &other_persona, &other_context] {
        let draft = COMMENT.parse(text, &marisol).unwrap();
        assert!(draft["body"].as_str().is_some_and(|body| !body.is_empty()), "{draft}");
    }
    let mut replies = Vec::new();
    for seed in 1..=12 {
        replies.push(offline_text(&marisol, REPLY, Scene::Thread(thread.clone()), seed).await);
    }
    assert!(replies.iter().any(|r| r.contains("alex_k")), "now and then a reply names whom it answers: {replies:?}");
    assert!(!a.contains('!'), "Marisol never uses exclamation marks: {a}");
}

#[tokio::test]
async fn the_offline_writer_answers_every_action_in_its_schema_and_paints_a_png() {
    let board = samples::cooking_board();
    let post = samples::stir_fry_post_context();
    let thread = samples::stir_fry_thread();
    let persona = samples::marisol();
    for (task, scene) in [
        (POST, Scene::Board(board.clone())),
        (IMAGE_POST, Scene::Board(board.clone())),
        (COMMENT, Scene::Post(post.clone())),
        (REPLY, Scene::Thread(thread.clone())),
        (VOTE, Scene::Post(post.clone())),
        (VOTE, Scene::Thread(thread.clone())),
    ] {
        let text = offline_text(&persona, task, scene, 3).await;
        task.parse(&text, &persona).unwrap_or_else(|e| panic!("{task}: {e}: {text}"));
    }
    let image = OfflineWriter.generate_image(&image_prompt()).await.unwrap();
    let decoded = image::load_from_memory(&image.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (2048, 1536));
    assert_eq!(OfflineWriter.generate_image(&image_prompt()).await.unwrap().bytes, image.bytes, "deterministic");
}

// ---- the OpenAI-compatible provider ---------------------------------------------------------------

mod openai {
    use super::*;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn client(server: &MockServer) -> OpenAiClient {
        OpenAiClient::new(
            &format!("{}/v1", server.uri()),
            Some(SecretString::from("sk-test-secret")),
            "llama3.2",
            Duration::from_secs(5),
        )
        .unwrap()
    }

    fn completion(content: &str, finish: &str) -> serde_json::Value {
        serde_json::json!({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 300, "completion_tokens": 25, "total_tokens": 325}})
    }

    #[tokio::test]
    async fn a_chat_completion_is_returned_with_usage_and_a_json_schema_request() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(header("authorization", "Bearer sk-test-secret"))
            .respond_with(ResponseTemplate::new(200).set_body_json(completion(r#"{"body":"hot pan"}"#, "stop")))
            .mount(&server)
            .await;

        let answer = client(&server).generate(&comment_prompt()).await.unwrap();

        assert_eq!(answer.text, r#"{"body":"hot pan"}"#);
        assert_eq!((answer.usage.prompt_tokens, answer.usage.output_tokens), (300, 25));
        let request: serde_json::Value = server.received_requests().await.unwrap()[0].body_json().unwrap();
        assert_eq!(request["model"], "llama3.2");
        assert_eq!(request["messages"][0]["role"], "system");
        assert_eq!(request["response_format"]["type"], "json_schema");
        assert_eq!(request["response_format"]["json_schema"]["schema"]["properties"]["body"]["type"], "string");
    }

    #[tokio::test]
    async fn length_is_retried_with_a_larger_budget_and_errors_classify() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(completion(r#"{"body":"cut of"#, "length")))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(completion(r#"{"body":"whole"}"#, "stop")))
            .mount(&server)
            .await;
        let answer = client(&server).generate(&comment_prompt()).await.unwrap();
        assert_eq!(answer.text, r#"{"body":"whole"}"#);
        let budgets: Vec<u64> = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| r.body_json::<serde_json::Value>().unwrap()["max_tokens"].as_u64().unwrap())
            .collect();
        assert_eq!(budgets, vec![2048, 4096]);

        let limited = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "7")
                    .set_body_json(serde_json::json!({"error": {"message": "slow down"}})),
            )
            .mount(&limited)
            .await;
        let err = client(&limited).generate(&comment_prompt()).await.unwrap_err();
        assert_eq!(err.disposition(), Disposition::Reschedule { after: Duration::from_secs(7) });
        assert!(!format!("{err:?}{:?}", client(&limited)).contains("sk-test-secret"));

        let err = client(&limited).generate_image(&image_prompt()).await.unwrap_err();
        assert_eq!(err.disposition(), Disposition::Fail, "{err}");
    }
}

/// Someone fills the limit's row with times ten years ahead (the web app's key could, before RLS).
/// Times later than now are ignored and dropped, so the limit grants again at once, and a full window
/// never asks to wait longer than itself.
#[tokio::test]
async fn the_request_limit_cannot_be_jammed_with_future_times() {
    let db = TestDb::new().await;
    let clock = ManualClock::new(t0());
    let jam: Vec<chrono::DateTime<chrono::Utc>> =
        (0..500).map(|i| t0() + ChronoDuration::days(3650) + ChronoDuration::seconds(i)).collect();
    db.client()
        .await
        .query_typed(
            "INSERT INTO persona_engine_request_limits (name, recent) VALUES ('gemini', $1)",
            &[(&jam, shared::db::Type::TIMESTAMPTZ_ARRAY)],
        )
        .await
        .unwrap();
    let limiter = RateLimiter::new(db.pool().clone(), clock.clone(), "gemini", 2);

    assert_eq!(limiter.acquire().await.unwrap(), Ok(()), "the future times do not count");
    assert_eq!(limiter.acquire().await.unwrap(), Ok(()));
    let wait = limiter.acquire().await.unwrap().unwrap_err();
    assert!(wait <= Duration::from_secs(60), "never asked to wait longer than the window: {wait:?}");
    let kept: i64 = db
        .client()
        .await
        .query_typed_one(
            "SELECT cardinality(recent)::int8 FROM persona_engine_request_limits WHERE name = 'gemini'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 2, "the jam was dropped from the row");
    clock.advance(ChronoDuration::seconds(61));
    assert_eq!(limiter.acquire().await.unwrap(), Ok(()), "and the window frees as usual");
}
