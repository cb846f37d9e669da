//! The operator console in a real headless Chromium (Debian's `chromium` and `chromium-driver`, which
//! `scripts/system-deps` installs), driven over WebDriver: it loads, shows live figures from the
//! database, and a retry click changes a task.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::DurationRound;
use fantoccini::{Client, ClientBuilder, Locator};
use secrecy::SecretString;
use shared::db::Type;
use testkit::TestDb;
use tooling::demo_world::{DemoWorld, id_for};
use uuid::Uuid;

use crate::helpers::{engine_with, t0};

const KEY: &str = "console-test-key-0123456789abcdef0123456789";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// ChromeDriver on a free port, killed and reaped when dropped.
struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn driver() -> Driver {
    let port = free_port();
    #[allow(clippy::zombie_processes)] // reaped by `Driver`'s Drop, or by the panic that ends the test
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (Debian's chromium-driver; scripts/system-deps installs it)");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Driver(child, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on port {port}");
}

async fn browser(driver: &Driver) -> Client {
    // The WebDriver client's TLS stack would pick a crypto provider itself; ours is ring (its traffic
    // to the local driver is plain HTTP anyway).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                    "--window-size=1400,1800"]}),
    );
    ClientBuilder::rustls()
        .expect("a TLS setup for the WebDriver client")
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("a headless Chromium session")
}

/// The text of the first element matching `css`, read in one script call (the page re-renders after every
/// action, so a handle found first could be stale by the time it is read); waits for it to exist.
async fn text(client: &Client, css: &str) -> String {
    for _ in 0..100 {
        let found = client
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                vec![css.into()],
            )
            .await
            .unwrap();
        if let Some(text) = found.as_str() {
            return text.trim().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no element {css}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_shows_live_figures_and_a_retry_click_changes_a_task() {
    let db = TestDb::new().await;
    let (engine, clock) =
        engine_with(&db, std::sync::Arc::new(shared::ai::offline::OfflineWriter), &[("DAILY_BUDGET_USD", "0.05")]);
    DemoWorld::embedded().seed(&**engine.pool.get().await.unwrap(), t0()).await.unwrap();
    // A task due 33 days ago and still waiting, and spend on two of the last seven days (one over the
    // budget), for the figures and charts in words and pictures.
    let marisol = id_for("persona", "marisol_cooks");
    {
        let c = engine.pool.get().await.unwrap();
        let long_ago = t0() - chrono::Duration::days(33) - chrono::Duration::hours(2);
        c.query_typed(
            "INSERT INTO persona_tasks (persona_id, task_type, board_id, status, scheduled_at)
             VALUES ($1, 'post', $2, 'PENDING', $3)",
            &[(&marisol, Type::UUID), (&id_for("board", "photo-walk"), Type::UUID), (&long_ago, Type::TIMESTAMPTZ)],
        )
        .await
        .unwrap();
        let today = t0().date_naive();
        shared::db::spend::record(&**c, today - chrono::Duration::days(1), marisol, "comment", 30_000, 40)
            .await
            .unwrap();
        shared::db::spend::record(&**c, today - chrono::Duration::days(3), marisol, "image_post", 60_000, 2)
            .await
            .unwrap();
    }
    // A task that failed, as the console should show it.
    let failed: Uuid = {
        let c = engine.pool.get().await.unwrap();
        let persona = id_for("persona", "marisol_cooks");
        let post = id_for("post", "p1");
        c.query_typed_one(
            "INSERT INTO persona_tasks (persona_id, task_type, post_id, status, scheduled_at, completed_at,
                                        error_message, decisions)
             VALUES ($1, 'comment', $2, 'FAILED', $3, $3, 'the model API key was rejected',
                     '[{\"stage\": \"outcome\", \"verdict\": \"failed\"}]')
             RETURNING id",
            &[(&persona, Type::UUID), (&post, Type::UUID), (&t0(), Type::TIMESTAMPTZ)],
        )
        .await
        .unwrap()
        .get(0)
    };
    // A clip on a board that takes video, published as the worker would.
    let clip_task = {
        let c = engine.pool.get().await.unwrap();
        let task = shared::kinds::VIDEO_POST.task(
            id_for("persona", "marisol_cooks"),
            shared::queue::Target::Board(id_for("board", "photo-walk")),
            t0(),
        );
        engine.queue.enqueue(&**c, &[task]).await.unwrap().inserted[0]
    };
    for _ in 0..5 {
        let claimed = engine.queue.claim_by_id(&**engine.pool.get().await.unwrap(), clip_task).await.unwrap();
        if engine.run_task(&claimed).await.outcome == shared::kinds::RunOutcome::Published {
            break;
        }
    }
    let router =
        shared::admin::router(engine.clone(), Some(shared::config::AdminKey::new(SecretString::from(KEY)).unwrap()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    // Served with a strict policy: only its own script, style and API.
    let page = reqwest::get(format!("{app}/console")).await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.contains("script-src 'self'") && policy.contains("default-src 'none'"), "{policy}");
    assert!(!page.text().await.unwrap().contains("<script>"), "no inline script");

    let driver = driver().await;
    let client = browser(&driver).await;
    client.goto(&format!("{app}/console")).await.unwrap();
    client.wait().for_element(Locator::Css("#key")).await.unwrap().send_keys(KEY).await.unwrap();
    client.find(Locator::Css("#login button[type=submit]")).await.unwrap().click().await.unwrap();
    client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css("body[data-loaded='yes']")).await.unwrap();

    // Live figures, from the database.
    assert_eq!(text(&client, "[data-figure='FAILED'] dd").await, "1");
    let personas: i64 = db.client().await.query_typed_one("SELECT count(*) FROM personas", &[]).await.unwrap().get(0);
    let rows =
        client.execute("return document.querySelectorAll('#persona-table tbody tr').length;", vec![]).await.unwrap();
    assert_eq!(rows.as_i64(), Some(personas), "every persona's day");
    let title: String = db
        .client()
        .await
        .query_typed_one("SELECT title FROM posts WHERE id = $1", &[(&id_for("post", "p1"), Type::UUID)])
        .await
        .unwrap()
        .get(0);
    let threads = text(&client, "#thread-list").await;
    assert!(threads.contains(&title), "the threads as readers see them: {threads}");
    assert!(threads.contains("person"), "authors are marked: {threads}");
    let failures = text(&client, "#failed-tasks").await;
    assert!(failures.contains("the model API key was rejected"), "{failures}");

    // The trigger form offers the engine's kinds, from its registry, each with the targets it takes.
    let offered = client
        .execute("return Array.from(document.querySelectorAll('#trigger-kind option')).map(o => o.value);", vec![])
        .await
        .unwrap();
    assert_eq!(offered, serde_json::json!(engine.kinds.names()));
    let targets_of = |kind: &'static str| {
        let client = client.clone();
        async move {
            let script = format!(
                "const s = document.getElementById('trigger-kind'); s.value = '{kind}'; \
                 s.dispatchEvent(new Event('change')); \
                 return Array.from(document.querySelectorAll('#trigger-field option')).map(o => o.value);"
            );
            client.execute(&script, vec![]).await.unwrap()
        }
    };
    for kind in engine.kinds.all() {
        let expected: Vec<&str> = if kind.target_fields().is_empty() { vec![""] } else { kind.target_fields() };
        assert_eq!(targets_of(kind.name()).await, serde_json::json!(expected), "{kind}");
    }

    // The clip plays in the thread, with its poster.
    let mut clip = serde_json::Value::Null;
    for _ in 0..100 {
        clip = client
            .execute(
                "const v = document.querySelector('#thread-list video.clip'); \
                 return v ? { ready: v.readyState, width: v.videoWidth, poster: v.poster, error: v.error ? v.error.code : null } : null;",
                vec![],
            )
            .await
            .unwrap();
        if clip["ready"].as_i64().unwrap_or(0) >= 1 || !clip["error"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(clip["error"].is_null() && clip["ready"].as_i64().unwrap_or(0) >= 1, "{clip}");
    assert!(clip["width"].as_i64().unwrap_or(0) > 0, "{clip}");
    assert!(clip["poster"].as_str().is_some_and(|p| p.contains("/console/media/") && p.contains(".poster.")), "{clip}");
    let poster = reqwest::get(clip["poster"].as_str().unwrap()).await.unwrap();
    assert_eq!(poster.status(), 200);
    assert!(poster.headers()["content-type"].to_str().unwrap().starts_with("image/"));
    let escape = reqwest::get(format!("{app}/console/media/..%2F..%2Fetc%2Fpasswd.png")).await.unwrap();
    assert_eq!(escape.status(), 404, "nothing outside MEDIA_DIR");

    // Durations in words, not seconds.
    assert_eq!(text(&client, "[data-figure='oldest_due'] dd").await, "33 days");
    let page = text(&client, "#app").await;
    let in_seconds = regex::Regex::new(r"\b\d{3,} s\b").unwrap();
    assert!(!in_seconds.is_match(&page), "no raw seconds: {page}");
    // Usernames, not ids, wherever a task's persona is shown.
    let shown: Vec<String> = serde_json::from_value(
        client
            .execute(
                "return Array.from(document.querySelectorAll('#failed-tasks td.persona, #pending-tasks td.persona')).map(td => td.textContent);",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(!shown.is_empty() && shown.iter().all(|name| name == "@marisol_cooks"), "{shown:?}");
    assert!(!page.contains(&marisol.to_string()[..8]), "no persona id on the page");
    // A persona that has done nothing today: "—", not "never" or a zero time.
    let last_actions: Vec<String> = serde_json::from_value(
        client
            .execute("return Array.from(document.querySelectorAll('#persona-table tbody tr td:nth-child(6)')).map(td => td.textContent);", vec![])
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(last_actions.iter().any(|a| a == "\u{2014}"), "{last_actions:?}");

    // Actions per hour over three days, personas beside people, as the database counts them.
    let hours = client
        .execute(
            "const s = document.querySelector('#activity-chart svg'); return s ? Number(s.dataset.hours) : null;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(hours.as_i64(), Some(72));
    let this_hour = t0().duration_trunc(chrono::Duration::hours(1)).unwrap();
    let (from, until) = (this_hour - chrono::Duration::hours(71), this_hour + chrono::Duration::hours(1));
    let counted: (i64, i64) = {
        let row = db
            .client()
            .await
            .query_typed_one(
                "SELECT count(*) FILTER (WHERE by_persona), count(*) FILTER (WHERE NOT by_persona) FROM (
                     SELECT persona_id IS NOT NULL AS by_persona FROM posts WHERE created_at >= $1 AND created_at < $2
                     UNION ALL SELECT persona_id IS NOT NULL FROM comments
                     WHERE created_at >= $1 AND created_at < $2 AND deleted_at IS NULL
                     UNION ALL SELECT persona_id IS NOT NULL FROM votes WHERE created_at >= $1 AND created_at < $2) a",
                &[(&from, Type::TIMESTAMPTZ), (&until, Type::TIMESTAMPTZ)],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert!(counted.0 > 0 && counted.1 > 0, "the demo world has both in the window: {counted:?}");
    let legend = text(&client, "#activity-chart figcaption").await;
    assert!(
        legend.contains(&format!("personas: {}", counted.0)) && legend.contains(&format!("people: {}", counted.1)),
        "{legend}"
    );
    let series = client
        .execute("return Array.from(document.querySelectorAll('#activity-chart polyline')).map(p => [p.dataset.series, p.points.length]);", vec![])
        .await
        .unwrap();
    assert_eq!(series, serde_json::json!([["people", 72], ["personas", 72]]));
    // Spend per day against the budget: seven days, the one over it marked, the budget's line.
    let spend = client
        .execute(
            "return { days: document.querySelectorAll('#spend-chart [data-day]').length, \
                      over: Array.from(document.querySelectorAll('#spend-chart rect.over')).map(r => r.parentNode.dataset.day), \
                      budget: document.querySelector('#spend-chart [data-budget]')?.dataset.budget };",
            vec![],
        )
        .await
        .unwrap();
    let over_day = (t0().date_naive() - chrono::Duration::days(3)).to_string();
    assert_eq!(spend, serde_json::json!({"days": 7, "over": [over_day], "budget": "50000"}));
    // Under the strict policy the charts still drew: the page reported no violation.
    let violations = client.execute("return window.cspViolations || 0;", vec![]).await.unwrap();
    assert_eq!(violations.as_i64(), Some(0));

    // The test keeps a picture of the console as it looks (docs/console.png is a copy).
    let screenshot = client.screenshot().await.unwrap();
    assert!(screenshot.starts_with(b"\x89PNG") && screenshot.len() > 20_000, "a real picture");
    std::fs::write(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console.png"), &screenshot).unwrap();
    if let Ok(path) = std::env::var("CONSOLE_SCREENSHOT") {
        std::fs::write(path, &screenshot).unwrap();
    }

    // A retry click makes the task due again.
    client.find(Locator::Css(&format!("button[data-retry='{failed}']"))).await.unwrap().click().await.unwrap();
    let mut status = String::new();
    for _ in 0..100 {
        status = db
            .client()
            .await
            .query_typed_one("SELECT status FROM persona_tasks WHERE id = $1", &[(&failed, Type::UUID)])
            .await
            .unwrap()
            .get(0);
        if status == "PENDING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "PENDING", "the click retried the task");
    for _ in 0..100 {
        if text(&client, "[data-figure='FAILED'] dd").await == "0" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text(&client, "[data-figure='FAILED'] dd").await, "0", "the page shows it");
    // And the audit trail shows the click: the call, a fingerprint of the key (not the key), the outcome.
    let mut trail = String::new();
    for _ in 0..100 {
        trail = text(&client, "#audit-trail").await;
        if trail.contains("/retry") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(trail.contains(&format!("POST /tasks/{failed}/retry")) && trail.contains("ok"), "{trail}");
    assert!(!trail.contains(KEY), "the key itself is never shown");

    // Ten days on, nothing has happened yet in the charts' windows: "—" rather than empty axes or zeros.
    clock.advance(chrono::Duration::days(10));
    client.find(Locator::Css("#refresh")).await.unwrap().click().await.unwrap();
    for css in ["[data-empty='activity']", "[data-empty='spend']"] {
        assert!(text(&client, css).await.starts_with('\u{2014}'), "{css}");
    }
    assert_eq!(text(&client, "[data-figure='median_words'] dd").await, "\u{2014}", "no texts in the last day");
    assert_eq!(text(&client, "[data-figure='answer_people'] dd").await, "\u{2014}");

    // A wrong key is refused and asked for again.
    client
        .execute("sessionStorage.setItem('persona-engine-admin-key', 'not-the-key'); location.reload();", vec![])
        .await
        .unwrap();
    let mut refused = String::new();
    for _ in 0..100 {
        refused = text(&client, "#login-error").await;
        if !refused.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused.contains("refused"), "{refused}");
    let shown = client.execute("return document.getElementById('app').hidden;", vec![]).await.unwrap();
    assert_eq!(shown.as_bool(), Some(true), "nothing is shown without a working key");
    client.close().await.unwrap();
}

/// The offline provider's clips are real: Chromium loads one, reads its frame size and length, and
/// decodes a frame.
#[tokio::test(flavor = "multi_thread")]
async fn an_offline_clip_plays_in_chromium() {
    use shared::media::clip::{self, Frame};
    let frames: Vec<Frame> = (0..8u32)
        .map(|i| Frame {
            width: 256,
            height: 144,
            rgb: (0..256 * 144u32).flat_map(|p| [(p % 256) as u8, (i * 30) as u8, (p / 256) as u8]).collect(),
        })
        .collect();
    let bytes = clip::mp4(&frames, 250).unwrap();
    let page = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async {
                axum::response::Html("<video id=v src=/clip.mp4 muted preload=auto></video>")
            }),
        )
        .route(
            "/clip.mp4",
            axum::routing::get(move || {
                let bytes = bytes.clone();
                async move { ([("content-type", clip::MP4)], bytes) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, page).await });

    let driver = driver().await;
    let client = browser(&driver).await;
    client.goto(&app).await.unwrap();
    let mut seen = serde_json::Value::Null;
    for _ in 0..100 {
        seen = client
            .execute(
                "const v = document.getElementById('v'); \
                 return { ready: v.readyState, width: v.videoWidth, height: v.videoHeight, \
                          duration: v.duration, error: v.error ? v.error.message || String(v.error.code) : null };",
                vec![],
            )
            .await
            .unwrap();
        if seen["ready"].as_i64().unwrap_or(0) >= 2 || !seen["error"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen["error"].is_null(), "{seen}");
    assert!(seen["ready"].as_i64().unwrap_or(0) >= 2, "a frame decoded: {seen}");
    assert_eq!((seen["width"].as_i64(), seen["height"].as_i64()), (Some(256), Some(144)), "{seen}");
    assert!((seen["duration"].as_f64().unwrap_or(0.0) - 2.0).abs() < 0.01, "{seen}");
    client.close().await.unwrap();
}
