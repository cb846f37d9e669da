//! The `persona-engine` binary, run as an operator would: `run-task` for every action type against a
//! seeded database, with the offline provider and against a server speaking Gemini's wire format.

use std::process::Command;

use shared::db::Type;
use testkit::gemini_fake::{FAKE_KEY, sample_png};
use testkit::{GeminiFake, Reply, TestDb};
use tooling::demo_world::{DemoWorld, id_for};
use uuid::Uuid;

async fn seeded() -> TestDb {
    let db = TestDb::new().await;
    DemoWorld::embedded().seed(&**db.client().await, chrono::Utc::now()).await.unwrap();
    db
}

/// One PENDING task of each type for marisol_cooks (due tomorrow: run-task ignores the schedule).
async fn tasks(db: &TestDb) -> Vec<(String, Uuid)> {
    let persona = id_for("persona", "marisol_cooks");
    let (post, comment, board) = (id_for("post", "p1"), id_for("comment", "c1"), id_for("board", "home-cooking"));
    let mut out = Vec::new();
    for (kind, post_id, comment_id, board_id) in [
        ("comment", Some(post), None, None),
        ("reply", None, Some(comment), None),
        ("vote", Some(post), None, None),
        ("post", None, None, Some(board)),
        ("image_post", None, None, Some(board)),
    ] {
        let id: Uuid = db
            .client()
            .await
            .query_typed_one(
                "INSERT INTO persona_tasks (persona_id, task_type, post_id, comment_id, board_id, scheduled_at)
                 VALUES ($1, $2, $3, $4, $5, now() + interval '1 day') RETURNING id",
                &[
                    (&persona, Type::UUID),
                    (&kind, Type::TEXT),
                    (&post_id, Type::UUID),
                    (&comment_id, Type::UUID),
                    (&board_id, Type::UUID),
                ],
            )
            .await
            .unwrap()
            .get(0);
        out.push((kind.to_owned(), id));
    }
    out
}

fn run_task(db: &TestDb, id: Uuid, env: &[(&str, String)]) -> serde_json::Value {
    let media = std::env::temp_dir().join(format!("pe-cli-media-{}", db.name()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_persona-engine"));
    command.args(["run-task", &id.to_string()]).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    // Five actions by one persona in a minute: above the default hourly limit, which run-task respects.
    command
        .env("DATABASE_URL", db.url())
        .env("MEDIA_DIR", &media)
        .env("RUST_LOG", "warn")
        .env("PERSONA_MAX_ACTIONS_PER_HOUR", "10");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "run-task failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

#[tokio::test(flavor = "multi_thread")]
async fn run_task_publishes_every_action_type_with_the_offline_provider() {
    let db = seeded().await;
    for (kind, id) in tasks(&db).await {
        let out = run_task(&db, id, &[]);
        assert_eq!(out["task"]["status"], "DONE", "{kind}: {out}");
        if kind != "vote" || out["task"]["result_id"] != serde_json::Value::Null {
            assert!(out["published"]["id"].is_string(), "{kind} printed what it published: {out}");
        }
        if kind == "image_post" {
            let media = &out["published"]["media"][0];
            assert_eq!(media["mime_type"], "image/jpeg", "{out}");
            assert_eq!(media["width"], 1600, "{out}");
            assert!(media["url"].as_str().unwrap().starts_with("file://"));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn run_task_speaks_to_any_server_with_geminis_wire_format() {
    let db = seeded().await;
    let fake = GeminiFake::start().await;
    fake.set_default(Reply::Auto);
    let env = [
        ("GEMINI_API_KEY", FAKE_KEY.to_owned()),
        ("GEMINI_BASE_URL", fake.uri()),
        ("GEMINI_IMAGE_MODEL", "gemini-3.1-flash-image".to_owned()),
    ];
    let mut done = Vec::new();
    for (kind, id) in tasks(&db).await {
        if kind == "image_post" {
            fake.push(Reply::Auto).push(Reply::Image { png: sample_png(2048, 1536), thought_image_first: false });
        }
        let out = run_task(&db, id, &env);
        assert_eq!(out["task"]["status"], "DONE", "{kind}: {out}");
        assert!(out["task"]["prompt_tokens"].as_i64().unwrap() > 0, "{kind} recorded its tokens: {out}");
        done.push(kind);
    }
    assert_eq!(done, ["comment", "reply", "vote", "post", "image_post"]);
    assert!(fake.received().len() >= 6, "the text calls and the image call went to the server");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn run_task_refuses_a_task_that_is_not_pending_with_a_clear_error() {
    let db = seeded().await;
    let output = Command::new(env!("CARGO_BIN_EXE_persona-engine"))
        .args(["run-task", &Uuid::new_v4().to_string()])
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: task") && stderr.contains("not found"), "{stderr}");
    let output = Command::new(env!("CARGO_BIN_EXE_persona-engine")).args(["run-task", "not-a-uuid"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value 'not-a-uuid'"));
}

/// Runs the binary on `db` with the offline provider; its stdout, or a panic with its stderr.
fn pe(db: &TestDb, args: &[&str]) -> String {
    let media = std::env::temp_dir().join(format!("pe-cli-media-{}", db.name()));
    let output = Command::new(env!("CARGO_BIN_EXE_persona-engine"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.url())
        .env("MEDIA_DIR", &media)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_makes_reviews_and_releases_a_cast_from_the_terminal() {
    let db = seeded().await;
    let made: serde_json::Value = serde_json::from_str(&pe(
        &db,
        &["personas", "create", "--brief", "allotment gardeners", "--count", "2", "--boards", "home-cooking", "--json"],
    ))
    .unwrap();
    let personas = made["personas"].as_array().unwrap();
    assert_eq!(personas.len(), 2);
    let handle = personas[0]["username"].as_str().unwrap().to_owned();
    let id = personas[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(personas[0]["is_active"], false);

    // Review: the profile as a person reads it, and a comment it would write, published nowhere.
    let shown = pe(&db, &["personas", "show", &handle]);
    assert!(shown.contains(&format!("(@{handle})")) && shown.contains("[paused]"), "{shown}");
    assert!(shown.contains("examples:") && shown.contains("looks:") && shown.contains("avatar:"), "{shown}");
    let post = id_for("post", "p1").to_string();
    let preview: serde_json::Value =
        serde_json::from_str(&pe(&db, &["trigger", "comment", "--persona-id", &id, "--post-id", &post, "--dry-run"]))
            .unwrap();
    assert!(preview["text"].as_str().unwrap().len() > 2, "{preview}");
    let published: i64 = db
        .client()
        .await
        .query_typed_one(
            "SELECT count(*) FROM comments WHERE persona_id = $1",
            &[(&Uuid::parse_str(&id).unwrap(), Type::UUID)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(published, 0, "a dry run publishes nothing");

    // Edit, release, and find it in the list as active.
    let edited: serde_json::Value = serde_json::from_str(&pe(
        &db,
        &["personas", "edit", &handle, "--bio", "Grows leeks, argues about slugs.", "--active-hours", "6-21", "--json"],
    ))
    .unwrap();
    assert_eq!(
        (edited["bio"].as_str(), edited["active_hours_start"].as_i64()),
        (Some("Grows leeks, argues about slugs."), Some(6))
    );
    assert!(pe(&db, &["personas", "resume", &handle]).contains("is active"));
    let list = pe(&db, &["personas", "list"]);
    let line = list.lines().find(|l| l.contains(&format!("@{handle} "))).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("active"), "{line}");
    assert!(pe(&db, &["personas", "pause", &id]).contains("is paused"));
}

#[test]
fn the_demo_runs_on_a_fresh_machine_with_nothing_set() {
    let scratch = std::env::temp_dir().join(format!("pe-demo-test-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_persona-engine"))
        .args(["demo", "--hours", "3"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(&scratch)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "demo failed: {stderr}");
    assert!(stderr.contains("starting a private, throwaway PostgreSQL"), "{stderr}");
    assert!(stderr.contains("offline templates (not a language model"), "{stderr}");
    assert!(stderr.contains("+3"), "hour by hour progress: {stderr}");
    assert!(
        stdout.contains("━━ ") && stdout.contains("(@") && stdout.contains("persona)"),
        "threads as a person reads them: {stdout}"
    );
    assert!(stdout.contains("│"), "nested replies are shown: {stdout}");
    assert!(!std::env::temp_dir().join(format!("demo-pg-{pid}")).exists(), "the private PostgreSQL was removed");
    let _ = std::fs::remove_dir_all(&scratch);
}

/// The texts of the threads the demo prints (posts' bodies, comments, replies), each whole: its wrapped
/// lines joined, the thread's rules and the headers left out.
fn printed_texts(stdout: &str) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, texts: &mut Vec<String>| {
        if !current.trim().is_empty() {
            texts.push(std::mem::take(current).trim().to_owned());
        }
        current.clear();
    };
    for line in stdout.lines() {
        if line.starts_with("Content health") {
            break;
        }
        let bare = line.trim_start_matches([' ', '│']);
        let header = line.starts_with("━━")
            || bare.starts_with("by ")
            || bare.starts_with("tags: ")
            || bare.starts_with('[')
            || (bare.contains(" · ") && bare.rsplit(' ').next().is_some_and(|s| s.starts_with(['+', '-'])));
        if header || bare.is_empty() {
            flush(&mut current, &mut texts);
        } else {
            current.push(' ');
            current.push_str(bare);
        }
    }
    flush(&mut current, &mut texts);
    texts
}

/// The demo is the first thing a new user reads: across the threads it prints, no frame of the offline
/// writer is used more than twice.
#[test]
fn the_demos_threads_use_no_sentence_frame_more_than_twice() {
    let scratch = std::env::temp_dir().join(format!("pe-demo-frames-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_persona-engine"))
        .arg("demo")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(&scratch)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "demo failed: {}", String::from_utf8_lossy(&output.stderr));
    let texts = printed_texts(&stdout);
    assert!(texts.len() > 15, "{stdout}");
    let mut frames: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut sentences = 0;
    for text in &texts {
        for sentence in shared::audit::sentences(text) {
            sentences += 1;
            if let Some(frame) = shared::kinds::offline::answer::frame_of(&sentence) {
                *frames.entry(frame).or_default() += 1;
            }
        }
    }
    assert!(frames.values().sum::<usize>() > 20, "the answers are the writer's: {frames:?}");
    let over: Vec<_> = frames.iter().filter(|(_, n)| **n > 2).collect();
    assert!(over.is_empty(), "frames used more than twice in {sentences} sentences: {over:?}\n{stdout}");
    let _ = std::fs::remove_dir_all(&scratch);
}

fn simulate(out: &std::path::Path, seed: &str) -> serde_json::Value {
    simulate_for(out, "4", "14", seed)
}

/// Runs `simulate` on a machine with nothing set and reads its JSON report.
fn simulate_for(out: &std::path::Path, hours: &str, personas: &str, seed: &str) -> serde_json::Value {
    simulate_on(None, out, hours, personas, seed)
}

/// Runs `simulate` with only `DATABASE_URL` set (nothing at all when `None`: a private database) and
/// reads its JSON report.
fn simulate_on(
    database_url: Option<&str>,
    out: &std::path::Path,
    hours: &str,
    personas: &str,
    seed: &str,
) -> serde_json::Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_persona-engine"));
    command
        .args(["simulate", "--hours", hours, "--personas", personas, "--seed", seed, "--out"])
        .arg(out)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(std::env::temp_dir());
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "simulate failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap()
}

#[test]
fn the_simulator_replays_a_seed_exactly_and_writes_its_report_and_charts() {
    let base = std::env::temp_dir().join(format!("pe-sim-test-{}", std::process::id()));
    let (first, again, other) =
        (simulate(&base.join("a"), "11"), simulate(&base.join("b"), "11"), simulate(&base.join("c"), "12"));

    assert_eq!(first, again, "the same seed gives the same report");
    assert_ne!(first["totals"], other["totals"], "another seed gives another day");
    // The report's own invariants.
    assert_eq!(first["personas"], 14);
    assert_eq!(first["per_hour"].as_array().unwrap().len(), 4);
    for kind in ["posts", "comments", "replies", "votes", "human"] {
        let sum: i64 = first["per_hour"].as_array().unwrap().iter().map(|h| h["created"][kind].as_i64().unwrap()).sum();
        assert_eq!(sum, first["totals"][kind].as_i64().unwrap(), "{kind}");
    }
    assert!(first["totals"]["comments"].as_i64().unwrap() > 0 && first["totals"]["votes"].as_i64().unwrap() > 0);
    assert_eq!(first["per_persona"].as_array().unwrap().len(), 14, "every active persona is listed");
    assert_eq!(first["caps"]["over_hourly"], serde_json::json!([]), "no persona over its hourly cap");
    assert_eq!(first["caps"]["over_daily"], serde_json::json!([]));
    assert!(
        first["reciprocity"]["answered"].as_i64().unwrap() <= first["reciprocity"]["human_replies"].as_i64().unwrap()
    );
    let audit = &first["audit"];
    assert!(audit["overall"]["texts"].as_u64().unwrap() > 0, "the audit measured the day's texts: {audit}");
    assert_eq!(audit["overall"]["em_dash_rate"], 0.0, "the offline writer never writes an em-dash");
    assert_eq!(audit["activity"]["personas"].as_u64().unwrap() as usize, 14, "{audit}");
    let markdown = std::fs::read_to_string(base.join("a").join("report.md")).unwrap();
    for section in [
        "## Totals",
        "## Timing (minutes)",
        "## Threads",
        "## Reciprocity",
        "## Activity against the caps",
        "## Content health",
    ] {
        assert!(markdown.contains(section), "{section} in the report");
    }
    for chart in ["actions_per_hour.png", "first_comment_delay.png", "reply_latency.png", "thread_depth.png"] {
        let png = image::open(base.join("a").join(chart)).unwrap_or_else(|e| panic!("{chart}: {e}"));
        assert_eq!((png.width(), png.height()), (900, 420), "{chart}");
        assert!(markdown.contains(chart), "{chart} is embedded in the report");
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// A seeded run replays byte for byte on a database that plans and orders rows its own way. A busy
/// machine changed a simulated week's figures through the database, not the engine's clock: Postgres
/// chose parallel plans, whose workers hand rows back in whatever order they finish, and a float sum
/// (trend velocity) or a tie in a timestamp ordering (rows stamped at the same simulated instant) then
/// came out differently. Here every statement that can run in parallel does, against the private
/// database's run.
#[tokio::test(flavor = "multi_thread")]
async fn a_seeded_run_replays_exactly_when_the_database_runs_every_statement_in_parallel() {
    let db = TestDb::new().await;
    let parallel = [
        "parallel_setup_cost = 0",
        "parallel_tuple_cost = 0",
        "min_parallel_table_scan_size = 0",
        "min_parallel_index_scan_size = 0",
        "max_parallel_workers_per_gather = 4",
    ];
    for setting in parallel {
        db.client().await.batch_execute(&format!("ALTER DATABASE \"{}\" SET {setting}", db.name())).await.unwrap();
    }
    let base = std::env::temp_dir().join(format!("pe-sim-parallel-{}", std::process::id()));
    let private = simulate_for(&base.join("private"), "24", "12", "3");
    let parallel = simulate_on(Some(db.url()), &base.join("parallel"), "24", "12", "3");
    // A new connection, as the simulator's were, sees the database's settings.
    let plans: i64 = db
        .connect()
        .await
        .query_typed_one("SELECT count(*) FROM pg_settings WHERE name = 'parallel_setup_cost' AND setting = '0'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(plans, 1, "the database's own settings were in force");
    assert!(private["totals"]["comments"].as_i64().unwrap() > 0, "a day with something in it");
    assert_eq!(private, parallel, "the same seed gives the same report, whatever the database's plans");
    let _ = std::fs::remove_dir_all(&base);
}

/// A simulated day with 20 personas on the offline writer reads as people: sentences rarely repeat, none
/// more than three times, no machine marks, and people are answered no slower than personas.
#[test]
fn a_simulated_day_of_twenty_personas_reads_as_people() {
    let out = std::env::temp_dir().join(format!("pe-sim-day-{}", std::process::id()));
    let report = simulate_for(&out, "24", "20", "5");
    let audit = &report["audit"];
    let overall = &audit["overall"];

    assert!(overall["texts"].as_u64().unwrap() > 40, "a day's worth of writing: {overall}");
    assert!(overall["distinct_sentence_ratio"].as_f64().unwrap() >= 0.9, "{overall}");
    assert!(overall["most_repeated_sentence"]["count"].as_u64().unwrap_or(1) <= 3, "{overall}");
    for mark in ["em_dash_rate", "stock_phrase_rate", "list_rate", "markdown_rate"] {
        assert_eq!(overall[mark], 0.0, "{mark}: {overall}");
    }
    assert!(overall["question_ending_rate"].as_f64().unwrap() < 0.3, "not every text ends on a question");
    assert_eq!(overall["denies_ai"], 0, "the honest default publishes no denial: {overall}");
    assert!(overall["length"]["cv"].as_f64().unwrap() > 0.4, "lengths vary: {overall}");
    let latency = &audit["reply_latency"];
    let (people, personas) = (&latency["to_people"], &latency["to_personas"]);
    assert!(people["count"].as_u64().unwrap() > 0 && personas["count"].as_u64().unwrap() > 0, "{latency}");
    assert!(
        people["median"].as_f64().unwrap() <= personas["median"].as_f64().unwrap(),
        "people are answered no slower than personas: {latency}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// Two simulated days of 30 personas that choose for themselves read like a community, not a bot farm:
/// uneven activity, rarely at the caps, people answered, authors back in their threads, and sessions
/// that choose nothing.
#[test]
fn two_simulated_days_of_thirty_personas_choose_like_a_community() {
    let out = std::env::temp_dir().join(format!("pe-sim-community-{}", std::process::id()));
    let report = simulate_for(&out, "48", "30", "7");
    let (activity, choosing) = (&report["audit"]["activity"], &report["choosing"]);

    assert!(activity["activity_gini"].as_f64().unwrap() >= 0.35, "uneven, like people: {activity}");
    assert!(activity["at_cap_share"].as_f64().unwrap() <= 0.05, "the caps rarely bind: {activity}");
    // People are answered by the personas' own choice, about as often as on human platforms (22–60 %).
    let answered = &report["reciprocity"];
    assert!((0.35..=0.8).contains(&answered["rate"].as_f64().unwrap()), "{answered}");
    assert!(answered["answers"].as_i64().unwrap() > 0, "{answered}");
    assert_eq!(answered["answers_chosen_in_session"], answered["answers"], "every answer chosen in a session");
    let votes = &report["votes"];
    assert!(votes["down"].as_i64().unwrap() > 0 && votes["on_comments"].as_i64().unwrap() > 0, "{votes}");
    assert_eq!(votes["on_own"], 0, "{votes}");
    assert_eq!(report["audit"]["duplicates"]["cross_persona_near_duplicates"], 0, "{}", report["audit"]);
    assert!(choosing["threads_joined"].as_i64().unwrap() > 0, "{choosing}");
    assert!(choosing["return_rate"].as_f64().unwrap() >= 0.3, "authors come back: {choosing}");
    let (sessions, nothing) = (choosing["sessions"].as_i64().unwrap(), choosing["chose_nothing"].as_i64().unwrap());
    assert!(nothing > 0 && nothing < sessions, "some sessions choose nothing, not all: {choosing}");
    assert!(choosing["relationships"]["all"].as_i64().unwrap() > 0, "{choosing}");
    let conversation = &report["reciprocity"];
    assert!(
        conversation["never_answered_share"].as_f64().unwrap() < 0.8,
        "not silence (Moltbook 93.5 %): {conversation}"
    );
    assert!(report["audit"]["duplicates"]["exact_duplicate_share"].as_f64().unwrap() < 0.02, "{}", report["audit"]);
    let cost = &report["cost"];
    assert!(cost["actions"].as_u64().unwrap() > 50 && cost["usd_per_1000_actions"].as_f64().unwrap() > 0.0, "{cost}");
    for kind in ["post", "comment", "reply", "browse"] {
        let k = &cost["by_kind"][kind];
        // Every published item had its own call, or the text its session wrote ahead.
        let (calls, ahead) = (k["model_calls"].as_i64().unwrap(), k["written_ahead"].as_i64().unwrap());
        assert!(calls + ahead >= k["published"].as_i64().unwrap(), "{kind}: {k}");
        assert!(k["input_tokens"]["max"].as_f64().unwrap() <= 1_200.0, "{kind} within the prompt budget: {k}");
        assert!(k["output_tokens"]["median"].as_f64().unwrap() > 0.0, "{kind}: {k}");
    }
    let ahead = ["comment", "reply"].iter().map(|k| cost["by_kind"][k]["written_ahead"].as_i64().unwrap()).sum::<i64>();
    assert!(ahead > 0, "sessions where someone answered write some of what they choose: {cost}");
    // Every clip published is in the clips' figures, each looked at at least once and published after it
    // was asked for.
    let clips = &report["clips"];
    let published_clips = cost["by_kind"]["video_post"]["published"].as_u64().unwrap_or(0);
    assert_eq!(clips["published"].as_u64(), Some(published_clips), "{clips}");
    if published_clips > 0 {
        assert!(clips["polls"]["p10"].as_f64().unwrap() >= 1.0, "{clips}");
        assert!(clips["minutes"]["p10"].as_f64().unwrap() > 0.0, "{clips}");
        assert!(clips["usd_per_clip"].as_f64().unwrap() > 0.5, "seconds of video at list price: {clips}");
    }
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    for section in ["## Choosing", "## Against the baselines", "Moltbook", "## Cost at list price"] {
        assert!(markdown.contains(section), "{section}: the report sets its figures beside the baselines");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_reports_what_personas_published_as_text_or_json() {
    use testkit::fixtures::{self, Author};
    let db = seeded().await;
    let c = db.client().await;
    let now = chrono::Utc::now();
    let post = id_for("post", "p1");
    let (marisol, nia) = (id_for("persona", "marisol_cooks"), id_for("persona", "null_pointer_nia"));
    let copied = "Cook it in two batches in a carbon steel pan and let the oil shimmer first, it never steams.";
    for (who, body) in [
        (marisol, "Great question! Two batches."),
        (marisol, "A hotter pan \u{2014} that is the whole trick."),
        (marisol, copied),
        (nia, copied),
        (nia, "What happens when it fails, though?"),
    ] {
        fixtures::comment(&**c, post, None, Author::Persona(who), body, now - chrono::Duration::hours(2)).await;
    }
    // Outside the period: not measured.
    fixtures::comment(&**c, post, None, Author::Persona(nia), "Old news.", now - chrono::Duration::days(3)).await;
    let audit = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_persona-engine"))
            .arg("audit")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db.url())
            .output()
            .unwrap()
    };

    let json = audit(&["--since", "1d", "--json"]);
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let overall = &report["overall"];
    assert_eq!(overall["texts"], 5, "the five texts of the last day: {overall}");
    assert_eq!(overall["em_dash_rate"], 0.2);
    assert_eq!(overall["stock_phrase_rate"], 0.2);
    assert_eq!(report["duplicates"]["cross_persona_near_duplicates"], 1, "{report}");
    assert_eq!(report["duplicates"]["exact_duplicate_share"], 0.2, "one of five repeats another: {report}");
    let example = &report["duplicates"]["examples"][0];
    assert_eq!((example["a_text"].as_str(), example["b_text"].as_str()), (Some(copied), Some(copied)));
    let nia_health = report["per_persona"].as_array().unwrap().iter().find(|p| p["username"] == "null_pointer_nia");
    assert_eq!(nia_health.unwrap()["texts"], 2, "per persona: {report}");

    let text = audit(&["--since", "1d"]);
    let text = String::from_utf8_lossy(&text.stdout);
    for key in [
        "em_dash_rate | 20.0 %",
        "stock_phrase_rate | 20.0 %",
        "cross_persona_near_duplicates | 1",
        "exact_duplicate_share | 20.0 %",
        "marisol_cooks",
    ] {
        assert!(text.contains(key), "{key} in\n{text}");
    }

    let bad = audit(&["--since", "7 days"]);
    assert_eq!(bad.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("--since") && stderr.contains("m, h, d or w"), "{stderr}");
}

#[test]
fn work_exits_non_zero_when_it_cannot_reach_the_database() {
    let output = Command::new(env!("CARGO_BIN_EXE_persona-engine"))
        .args(["work", "--max-tasks", "1"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", "postgres://nobody:hunter2-secret@127.0.0.1:9/none")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!output.status.success(), "a scheduler must notice: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no task could be claimed"), "{stderr}");
    assert!(!stderr.contains("hunter2") && !String::from_utf8_lossy(&output.stdout).contains("hunter2"));
}

#[test]
fn a_configuration_out_of_bounds_is_refused_by_name_not_by_a_panic() {
    for (var, value) in [("TASK_LEASE_SECONDS", "8300000000000"), ("DELAY_REPLY_MAX", "18446744073709551615")] {
        let output = Command::new(env!("CARGO_BIN_EXE_persona-engine"))
            .args(["enqueue"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:9/none")
            .env(var, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{var}: {stderr}");
        assert!(stderr.contains(&format!("{var} is invalid")) && !stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_prints_a_checklist_and_fails_when_a_check_fails() {
    let db = seeded().await;
    let run = |extra: &[(&str, &str)], json: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_persona-engine"));
        command.arg("doctor").env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        if json {
            command.arg("--json");
        }
        command.env("DATABASE_URL", db.direct_url()).env("ADMIN_API_KEY", "cli-doctor-key-0123456789abcdef0123");
        for (k, v) in extra {
            command.env(k, v);
        }
        command.output().unwrap()
    };
    let fine = run(&[], false);
    let text = String::from_utf8_lossy(&fine.stdout);
    assert!(fine.status.success(), "{text}{}", String::from_utf8_lossy(&fine.stderr));
    assert!(text.contains("PASS  migrations") && text.contains("PASS  row_level_security"), "{text}");

    db.client().await.batch_execute("ALTER TABLE persona_memory DISABLE ROW LEVEL SECURITY").await.unwrap();
    let broken = run(&[], true);
    assert_eq!(broken.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&broken.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let rls = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "row_level_security").unwrap();
    assert!(rls["detail"].as_str().unwrap().contains("public.persona_memory"), "{rls}");

    // A configuration that cannot be read is a failed check too, not a crash.
    let unreadable = run(&[("ADMIN_API_KEY", "short")], false);
    assert_eq!(unreadable.status.code(), Some(1));
    let text = String::from_utf8_lossy(&unreadable.stdout);
    assert!(text.contains("FAIL  configuration") && text.contains("ADMIN_API_KEY"), "{text}");
    assert!(!text.contains("short"), "the refused key is not repeated: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_opens_a_board_to_video_bounds_it_closes_it_and_a_video_post_runs_from_the_terminal() {
    let db = seeded().await;
    let opened: serde_json::Value =
        serde_json::from_str(&pe(&db, &["boards", "video", "home-cooking", "--max-seconds", "6", "--aspect", "9:16"]))
            .unwrap();
    assert_eq!(opened["video"], serde_json::json!({ "max_seconds": 6, "aspect_ratios": ["9:16"] }));
    let board = opened["board_id"].as_str().unwrap().to_owned();

    // Forced like any kind; the offline provider makes the clip, and the run waits for nothing.
    let persona = id_for("persona", "marisol_cooks").to_string();
    let queued: serde_json::Value = serde_json::from_str(&pe(
        &db,
        &["trigger", "video_post", "--persona-id", &persona, "--board-id", &board, "--wait"],
    ))
    .unwrap();
    assert_eq!(queued["task"]["status"], "PENDING", "submitted, then put back to look again: {queued}");
    let id: Uuid = queued["task"]["id"].as_str().unwrap().parse().unwrap();
    let done = run_task(&db, id, &[]);
    assert_eq!(done["task"]["status"], "DONE", "{done}");
    let media = done["published"]["media"].as_array().unwrap();
    assert_eq!(media.len(), 2, "poster and clip: {done}");
    assert_eq!(media[1]["mime_type"], "video/mp4");
    assert_eq!(
        (media[1]["width"].as_i64(), media[1]["height"].as_i64()),
        (Some(144), Some(256)),
        "upright, as bounded"
    );

    let closed: serde_json::Value =
        serde_json::from_str(&pe(&db, &["boards", "video", "home-cooking", "--off"])).unwrap();
    assert_eq!(closed["was_open"], true);
    let kinds: serde_json::Value = serde_json::from_str(&pe(&db, &["kinds"])).unwrap();
    assert!(kinds.as_array().unwrap().iter().any(|k| k["name"] == "video_post" && k["session_word"] == "post"));
    let refused = Command::new(env!("CARGO_BIN_EXE_persona-engine"))
        .args(["boards", "video", "no-such-board"])
        .env_clear()
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no board has the slug \"no-such-board\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn trends_show_what_the_latest_tick_found_as_a_table_or_json() {
    let db = seeded().await;
    assert!(pe(&db, &["trends"]).contains("Nothing is trending"), "before any tick");
    pe(&db, &["enqueue"]);
    let json: serde_json::Value = serde_json::from_str(&pe(&db, &["trends", "--json"])).unwrap();
    assert_eq!(json["persona_weight"], 0.5);
    let trends = json["trends"].as_array().unwrap();
    assert!(!trends.is_empty(), "people commented on the demo world's posts: {json}");
    let table = pe(&db, &["trends"]);
    assert!(table.contains("velocity") && table.contains("people"), "{table}");
    for t in trends {
        assert!(table.contains(t["topic"].as_str().unwrap()), "{} in\n{table}", t["topic"]);
    }
}
