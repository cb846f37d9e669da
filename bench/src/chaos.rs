//! The fault suite. Three scenarios, each ending in checks that fail the run when violated:
//!
//! 1. **Killed workers**: `persona-engine work` processes (talking to the Gemini fake) are started and
//!    killed with SIGKILL at random moments while a queue of comments and votes drains; expired leases are rescued (as the enqueue
//!    schedule does) until nothing is left. Every task must end DONE, FAILED or SKIPPED, every
//!    published row must belong to exactly one DONE task, and nothing may be published twice.
//! 2. **Restarted database**: PostgreSQL is stopped as a crash would stop it and started again while a
//!    worker batch is in flight. The batch must report the failure, and the next runs must finish
//!    every task exactly once.
//! 3. **Injected model errors**: each persona gets a fault class at random (every error the Gemini fake
//!    can answer, permanent or followed by recovery); after the drain each task's final state must be
//!    the one its class calls for, with no panic.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::clock::{self, ManualClock, SharedClock};
use shared::config::Config;
use shared::db::{self, Type};
use shared::engine::Engine;
use shared::kinds::{COMMENT, VOTE};
use shared::queue::{NewTask, Queue, RetryPolicy, Target};
use shared::worker::{self, Budget};
use testkit::gemini_fake::FAKE_KEY;
use testkit::{GeminiFake, Reply, fixtures};
use uuid::Uuid;

use crate::scratch::Scratch;

#[derive(clap::Args)]
pub struct Args {
    /// CI mode: fewer tasks and rounds, same checks.
    #[arg(long)]
    short: bool,
    /// Seed for the random kill moments and fault classes (printed, so a failure can be replayed).
    #[arg(long)]
    seed: Option<u64>,
    /// The `persona-engine` binary to run as workers (default: next to this one).
    #[arg(long, env = "PERSONA_ENGINE_BIN")]
    engine_bin: Option<PathBuf>,
}

pub async fn run(args: Args) -> Result<()> {
    let seed = args.seed.unwrap_or_else(|| rand::rng().random());
    println!("# fault suite, seed {seed}{}", if args.short { ", short mode" } else { "" });
    let engine_bin = match args.engine_bin {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("persona-engine"),
    };
    if !engine_bin.exists() {
        bail!("{} not found: build it (cargo build -p persona-engine-cli) or pass --engine-bin", engine_bin.display());
    }
    // A cluster of our own (the restart scenario stops and starts it), durable as production is: a
    // commit the worker saw acknowledged must survive the crash.
    let mut scratch =
        Scratch::start_private(&[("fsync", "on"), ("synchronous_commit", "on"), ("full_page_writes", "on")])?;
    let (tasks, rounds) = if args.short { (400, 6) } else { (2_000, 20) };
    killed_workers(&scratch, &engine_bin, tasks, rounds, seed).await?;
    restarted_database(&mut scratch, if args.short { 48 } else { 96 }).await?;
    injected_model_errors(&scratch, if args.short { 3 } else { 8 }, seed).await?;
    println!("CHAOS all scenarios passed");
    Ok(())
}

/// Counts from SQL, by name, for the checks.
async fn counts(c: &tokio_postgres::Client, queries: &[(&'static str, &str)]) -> Result<HashMap<&'static str, i64>> {
    let mut out = HashMap::new();
    for (name, sql) in queries {
        let row = c.query_typed_one(sql, &[]).await.with_context(|| format!("check {name}"))?;
        out.insert(*name, row.get::<_, i64>(0));
    }
    Ok(out)
}

/// The invariants every scenario ends with: nothing left unfinished, every published row owned by one
/// DONE task (same id), no DONE task without its row and memory, nothing published twice.
const INVARIANTS: [(&str, &str); 7] = [
    ("unfinished", "SELECT count(*) FROM persona_tasks WHERE status IN ('PENDING', 'RUNNING')"),
    (
        "orphan_comments",
        "SELECT count(*) FROM comments c WHERE c.persona_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM persona_tasks t WHERE t.result_id = c.id AND t.status = 'DONE')",
    ),
    (
        "orphan_votes",
        "SELECT count(*) FROM votes v WHERE v.persona_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM persona_tasks t WHERE t.result_id = v.id AND t.status = 'DONE')",
    ),
    (
        "done_without_row",
        "SELECT count(*) FROM persona_tasks t WHERE t.status = 'DONE' AND t.result_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM comments c WHERE c.id = t.result_id)
         AND NOT EXISTS (SELECT 1 FROM votes v WHERE v.id = t.result_id)",
    ),
    (
        "done_without_memory",
        "SELECT count(*) FROM persona_tasks t WHERE t.status = 'DONE'
         AND NOT EXISTS (SELECT 1 FROM persona_memory m WHERE m.task_id = t.id)",
    ),
    (
        "duplicate_comments",
        "SELECT count(*) FROM (SELECT persona_id, post_id FROM comments WHERE persona_id IS NOT NULL AND parent_id IS NULL
                               GROUP BY 1, 2 HAVING count(*) > 1) d",
    ),
    (
        "duplicate_votes",
        "SELECT count(*) FROM (SELECT persona_id, coalesce(post_id, comment_id) FROM votes WHERE persona_id IS NOT NULL
                               GROUP BY 1, 2 HAVING count(*) > 1) d",
    ),
];

fn check_invariants(scenario: &str, found: &HashMap<&'static str, i64>) -> Result<()> {
    let broken: Vec<String> = INVARIANTS
        .iter()
        .filter(|(name, _)| found.get(name).copied().unwrap_or(0) != 0)
        .map(|(name, _)| format!("{name}={}", found[name]))
        .collect();
    if !broken.is_empty() {
        bail!("{scenario}: invariants broken: {}", broken.join(" "));
    }
    Ok(())
}

/// A rescuer as the enqueue schedule runs it, with a short backoff so the suite does not wait minutes.
fn rescuer(max_retries: i32) -> Queue {
    Queue::new(clock::system(), Duration::from_secs(60), max_retries).with_retry_policy(RetryPolicy {
        base: chrono::Duration::milliseconds(200),
        cap: chrono::Duration::seconds(1),
        jitter: 0.0,
    })
}

async fn status_counts(c: &tokio_postgres::Client) -> Result<HashMap<String, i64>> {
    let rows = c.query_typed("SELECT status, count(*) FROM persona_tasks GROUP BY status", &[]).await?;
    Ok(rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1))).collect())
}

// ---------------------------------------------------------------------------------------------------
// 1. Killed workers

const WORKER_LEASE_SECONDS: u64 = 2;

async fn killed_workers(
    scratch: &Scratch,
    engine_bin: &std::path::Path,
    tasks: usize,
    rounds: usize,
    seed: u64,
) -> Result<()> {
    let url = scratch.fresh_database("chaos_kill").await?;
    let c = db::connect_one(&url, None).await?;
    // Ten tasks per persona: a comment on five posts, a vote on five others.
    let personas = fixtures::personas(&c, "kill_", tasks.div_ceil(10)).await;
    let board = fixtures::board(&c, "chaos", &["chaos"]).await;
    let mut posts = Vec::new();
    for i in 0..10 {
        posts.push(fixtures::human_post(&c, board, &format!("Question number {i} for the board"), Utc::now()).await);
    }
    let due = Utc::now() - chrono::Duration::seconds(1);
    let new: Vec<NewTask> = (0..tasks)
        .map(|i| {
            let persona = personas[i / 10];
            let slot = i % 10;
            let kind = if slot < 5 { COMMENT } else { VOTE };
            kind.task(persona, Target::Post(posts[(slot + i / 10) % 10]), due)
        })
        .collect();
    let rescue = rescuer(10);
    let inserted = rescue.enqueue(&c, &new).await?.inserted.len();
    if inserted != tasks {
        bail!("killed workers: enqueued {inserted} of {tasks}");
    }

    // The model answers in 100 ms, so the drain outlasts the kill rounds and kills land mid-call.
    let fake = GeminiFake::start().await;
    fake.set_default(Reply::Slow(Duration::from_millis(100), Box::new(Reply::Auto)));
    let spawn = |max_tasks: usize| -> Result<tokio::process::Child> {
        Ok(tokio::process::Command::new(engine_bin)
            .args(["work", "--max-tasks", &max_tasks.to_string()])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", &url)
            .env("LLM_PROVIDER", "gemini")
            .env("GEMINI_API_KEY", FAKE_KEY)
            .env("GEMINI_BASE_URL", fake.uri())
            .env("GEMINI_MAX_REQUESTS_PER_MINUTE", "100000")
            .env("MAX_CONCURRENT_TASKS", "4")
            .env("TASK_LEASE_SECONDS", WORKER_LEASE_SECONDS.to_string())
            .env("TASK_TIMEOUT_MS", "1500")
            .env("PERSONA_MAX_ACTIONS_PER_HOUR", "1000")
            // Conversation follow-ups (replies to the comments) come due within the run.
            .env("DELAY_REPLY_MIN", "0")
            .env("DELAY_REPLY_MAX", "500")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?)
    };
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut killed = 0usize;
    // A round's workers take a share of the queue each, so a survivor does not drain it all and leave
    // the later rounds nothing to interrupt; at 4 tasks per 100 ms a share outlasts the kill moment.
    let share = (tasks / rounds / 2).max(8);
    let mut exited_before_kill = 0usize;
    for _ in 0..rounds {
        let mut workers = vec![spawn(share)?, spawn(share)?];
        tokio::time::sleep(Duration::from_millis(rng.random_range(150..700))).await;
        for worker in &mut workers {
            // Each worker dies with probability 3/4; the survivors finish their batch normally.
            if rng.random_bool(0.75) {
                if worker.try_wait()?.is_some() {
                    exited_before_kill += 1;
                } else {
                    worker.start_kill()?;
                    killed += 1;
                }
            }
        }
        for mut worker in workers {
            worker.wait().await?;
        }
        rescue.rescue_expired(&c).await?;
    }
    // The rest: rescue what the killed workers held once their leases end, and drain with workers
    // that are left alone.
    let mut settled = false;
    for _ in 0..60 {
        rescue.rescue_expired(&c).await?;
        let status = spawn(1_000_000)?.wait().await?;
        if !status.success() {
            bail!("killed workers: an unkilled worker exited with {status}");
        }
        let left = counts(&c, &INVARIANTS[..1]).await?["unfinished"];
        if left == 0 {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let found = counts(&c, &INVARIANTS).await?;
    let rescued = c
        .query_typed_one("SELECT count(*) FROM persona_tasks WHERE last_error LIKE 'lease expired%'", &[])
        .await?
        .get::<_, i64>(0);
    let status = status_counts(&c).await?;
    println!(
        "CHAOS killed_workers tasks={tasks} rounds={rounds} processes_killed={killed} exited_before_kill={exited_before_kill} tasks_rescued_after_kill={rescued} done={} failed={} skipped={} unfinished={} orphans={} duplicates={} seconds={:.1}",
        status.get("DONE").unwrap_or(&0),
        status.get("FAILED").unwrap_or(&0),
        status.get("SKIPPED").unwrap_or(&0),
        found["unfinished"],
        found["orphan_comments"] + found["orphan_votes"],
        found["duplicate_comments"] + found["duplicate_votes"],
        started.elapsed().as_secs_f64()
    );
    if !settled {
        bail!("killed workers: tasks still unfinished after the clean-up runs: {status:?}");
    }
    check_invariants("killed workers", &found)?;
    if killed == 0 || rescued == 0 {
        bail!(
            "killed workers: no worker was killed holding a task (killed {killed}, rescued {rescued}); the scenario proved nothing"
        );
    }
    scratch.drop_database("chaos_kill").await
}

// ---------------------------------------------------------------------------------------------------
// 2. Restarted database

fn gemini_engine(url: &str, fake: &GeminiFake, extra: &[(&str, &str)], clock: SharedClock) -> Result<Engine> {
    let media = std::env::temp_dir().join(format!("persona-chaos-media-{}", std::process::id()));
    let mut settings: HashMap<String, String> = [
        ("DATABASE_URL", url.to_owned()),
        ("LLM_PROVIDER", "gemini".into()),
        ("GEMINI_API_KEY", FAKE_KEY.into()),
        ("GEMINI_BASE_URL", fake.uri()),
        ("GEMINI_MAX_REQUESTS_PER_MINUTE", "100000".into()),
        ("MEDIA_DIR", media.display().to_string()),
        ("PERSONA_MAX_ACTIONS_PER_HOUR", "1000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        settings.insert((*k).to_owned(), (*v).to_owned());
    }
    Ok(Engine::from_config(&Config::from_map(&settings)?, clock)?)
}

async fn restarted_database(scratch: &mut Scratch, tasks: usize) -> Result<()> {
    let url = scratch.fresh_database("chaos_restart").await?;
    let fake = GeminiFake::start().await;
    fake.set_default(Reply::Slow(Duration::from_millis(300), Box::new(Reply::Auto)));
    let mut engine = gemini_engine(
        &url,
        &fake,
        &[("MAX_CONCURRENT_TASKS", "8"), ("TASK_LEASE_SECONDS", "3"), ("TASK_TIMEOUT_MS", "2500")],
        clock::system(),
    )?;
    engine.queue = engine.queue.clone().with_retry_policy(RetryPolicy {
        base: chrono::Duration::milliseconds(200),
        cap: chrono::Duration::seconds(1),
        jitter: 0.0,
    });
    {
        let c = db::connect_one(&url, None).await?;
        let personas = fixtures::personas(&c, "restart_", tasks).await;
        // On the personas' own topic ("testing"), so every vote is one the model is asked about: a vote
        // out of a persona's interests is settled without a call and would finish before the restart.
        let board = fixtures::board(&c, "chaos", &["testing"]).await;
        let post = fixtures::human_post(&c, board, "What is everyone reading?", Utc::now()).await;
        let due = Utc::now() - chrono::Duration::seconds(1);
        let new: Vec<NewTask> = personas.iter().map(|p| VOTE.task(*p, Target::Post(post), due)).collect();
        rescuer(10).enqueue(&c, &new).await?;
    }

    let batch = {
        let engine = engine.clone();
        tokio::spawn(async move { worker::drain(&engine, tasks, Budget::Unbounded).await })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    let cluster = scratch.cluster().context("the restart scenario needs the private cluster")?;
    let restart_started = Instant::now();
    tokio::task::block_in_place(|| cluster.restart_after_crash())?;
    let restart_s = restart_started.elapsed().as_secs_f64();
    let interrupted = batch.await?;
    if interrupted.errors.is_empty() && interrupted.failed == 0 {
        bail!("restarted database: the interrupted batch reported no error: {interrupted:?}");
    }
    let first_error = interrupted.errors.first().cloned().unwrap_or_default();

    // The next runs: what the crash left RUNNING is rescued when its lease ends, then drained.
    let c = db::connect_one(&url, None).await?;
    let rescue = rescuer(10);
    let mut runs = 0;
    let mut settled = false;
    for _ in 0..30 {
        rescue.rescue_expired(&c).await?;
        let report = worker::drain(&engine, tasks, Budget::Unbounded).await;
        runs += 1;
        if report.errors.iter().any(|e| e.contains("panicked")) {
            bail!("restarted database: a task panicked: {:?}", report.errors);
        }
        if counts(&c, &INVARIANTS[..1]).await?["unfinished"] == 0 {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let found = counts(&c, &INVARIANTS).await?;
    let status = status_counts(&c).await?;
    let votes: i64 = c.query_typed_one("SELECT count(*) FROM votes", &[]).await?.get(0);
    println!(
        "CHAOS restarted_database tasks={tasks} interrupted_batch_processed={} interrupted_batch_failed={} restart_s={restart_s:.1} later_runs={runs} done={} votes={votes} first_error={first_error:?}",
        interrupted.processed,
        interrupted.failed,
        status.get("DONE").unwrap_or(&0),
    );
    if !settled {
        bail!("restarted database: tasks still unfinished: {status:?}");
    }
    check_invariants("restarted database", &found)?;
    if status.get("DONE").copied().unwrap_or(0) != tasks as i64 || votes != tasks as i64 {
        bail!("restarted database: expected {tasks} DONE tasks and votes, found {status:?} and {votes} votes");
    }
    drop(engine);
    scratch.drop_database("chaos_restart").await
}

// ---------------------------------------------------------------------------------------------------
// 3. Injected model errors

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Published, after `retries` retries.
    Done { retries: i32 },
    /// Failed at once, no retry used.
    FailedAtOnce,
    /// Failed after every retry.
    FailedAfterRetries,
    /// Skipped (the model declined).
    Skipped,
}

struct FaultClass {
    name: &'static str,
    script: fn() -> Vec<Reply>,
    then: fn() -> Reply,
    expect: Expect,
}

fn fault_classes() -> Vec<FaultClass> {
    fn none() -> Vec<Reply> {
        Vec::new()
    }
    fn auto() -> Reply {
        Reply::Auto
    }
    vec![
        FaultClass { name: "ok", script: none, then: auto, expect: Expect::Done { retries: 0 } },
        FaultClass {
            name: "unknown_fields",
            script: none,
            then: || Reply::WithUnknownFields(Box::new(Reply::Auto)),
            expect: Expect::Done { retries: 0 },
        },
        FaultClass {
            name: "503_once",
            script: || vec![Reply::Status(503)],
            then: auto,
            expect: Expect::Done { retries: 1 },
        },
        FaultClass {
            name: "timeout_once",
            script: || vec![Reply::Slow(Duration::from_millis(2500), Box::new(Reply::Auto))],
            then: auto,
            expect: Expect::Done { retries: 1 },
        },
        // One unparseable answer is repaired within the attempt by asking again.
        FaultClass {
            name: "malformed_once",
            script: || vec![Reply::Text("Sure! Here is my answer: up".into())],
            then: auto,
            expect: Expect::Done { retries: 0 },
        },
        FaultClass {
            name: "always_malformed",
            script: none,
            then: || Reply::Text("Sure! Here is my answer: up".into()),
            expect: Expect::FailedAfterRetries,
        },
        FaultClass {
            name: "rate_limited_once",
            script: || vec![Reply::RateLimitedPerMinute { retry_secs: 20 }],
            then: auto,
            expect: Expect::Done { retries: 0 },
        },
        FaultClass {
            name: "bare_429_once",
            script: || vec![Reply::Bare429],
            then: auto,
            expect: Expect::Done { retries: 0 },
        },
        FaultClass {
            name: "always_500",
            script: none,
            then: || Reply::Status(500),
            expect: Expect::FailedAfterRetries,
        },
        FaultClass {
            name: "always_502",
            script: none,
            then: || Reply::Status(502),
            expect: Expect::FailedAfterRetries,
        },
        FaultClass {
            name: "always_504",
            script: none,
            then: || Reply::Status(504),
            expect: Expect::FailedAfterRetries,
        },
        FaultClass {
            name: "always_empty",
            script: none,
            then: || Reply::EmptyCandidate,
            expect: Expect::FailedAfterRetries,
        },
        FaultClass {
            name: "always_max_tokens",
            script: none,
            then: || Reply::MaxTokens,
            expect: Expect::FailedAfterRetries,
        },
        FaultClass { name: "quota_per_day", script: none, then: || Reply::QuotaPerDay, expect: Expect::FailedAtOnce },
        FaultClass { name: "bad_key", script: none, then: || Reply::BadKey, expect: Expect::FailedAtOnce },
        FaultClass { name: "model_retired", script: none, then: || Reply::ModelRetired, expect: Expect::FailedAtOnce },
        FaultClass {
            name: "invalid_argument",
            script: none,
            then: || Reply::InvalidArgument("Request contains an invalid argument.".into()),
            expect: Expect::FailedAtOnce,
        },
        FaultClass {
            name: "prompt_blocked",
            script: none,
            then: || Reply::PromptBlocked("SAFETY".into()),
            expect: Expect::Skipped,
        },
        FaultClass {
            name: "finish_safety",
            script: none,
            then: || Reply::Finish("SAFETY".into()),
            expect: Expect::Skipped,
        },
        FaultClass {
            name: "finish_recitation",
            script: none,
            then: || Reply::Finish("RECITATION".into()),
            expect: Expect::Skipped,
        },
    ]
}

async fn injected_model_errors(scratch: &Scratch, per_class: usize, seed: u64) -> Result<()> {
    let url = scratch.fresh_database("chaos_errors").await?;
    let fake = GeminiFake::start().await;
    let classes = fault_classes();
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let n = classes.len() * per_class;
    // Every class per_class times, shuffled over the personas.
    let mut assignment: Vec<usize> = (0..n).map(|i| i % classes.len()).collect();
    for i in (1..n).rev() {
        assignment.swap(i, rng.random_range(0..=i));
    }
    let c = db::connect_one(&url, None).await?;
    let board = fixtures::board(&c, "chaos", &["chaos"]).await;
    let start = Utc::now();
    let clock = ManualClock::new(start);
    let engine = gemini_engine(
        &url,
        &fake,
        &[("MAX_CONCURRENT_TASKS", "8"), ("GEMINI_TIMEOUT_MS", "1000"), ("TASK_TIMEOUT_MS", "20000")],
        clock.clone(),
    )?;
    let mut expected: HashMap<Uuid, (&'static str, Expect)> = HashMap::new();
    let mut new = Vec::new();
    for (i, class_index) in assignment.iter().enumerate() {
        let class = &classes[*class_index];
        // The marker routes this persona's requests (its username is in every prompt it sends).
        let username = format!("fault{i:04}x");
        fake.route(&username, (class.script)(), (class.then)());
        let persona = fixtures::persona(&c, &username, &["chaos"]).await;
        // A post of its own, so no other persona's name appears in its prompts.
        let post = fixtures::human_post(&c, board, &format!("Thread {i}"), start - chrono::Duration::minutes(5)).await;
        let kind = if i % 2 == 0 { VOTE } else { COMMENT };
        let task = kind.task(persona, Target::Post(post), start);
        let id = engine.queue.enqueue(&c, std::slice::from_ref(&task)).await?.inserted[0];
        expected.insert(id, (class.name, class.expect));
        new.push(id);
    }

    let mut panics = Vec::new();
    let mut drains = 0;
    for _ in 0..12 {
        let report = worker::drain(&engine, n * 4, Budget::Unbounded).await;
        drains += 1;
        panics.extend(report.errors.into_iter().filter(|e| e.contains("panicked")));
        if counts(&c, &INVARIANTS[..1]).await?["unfinished"] == 0 {
            break;
        }
        // Past every backoff and rate-limit delay.
        clock.advance(chrono::Duration::hours(2));
    }
    let rows = c
        .query_typed(
            "SELECT id, status, retry_count, max_retries, coalesce(error_message, skip_reason, '') FROM persona_tasks
             WHERE id = ANY($1)",
            &[(&new, Type::UUID_ARRAY)],
        )
        .await?;
    let mut wrong = Vec::new();
    for row in &rows {
        let id: Uuid = row.get(0);
        let status: String = row.get(1);
        let (retries, max): (i32, i32) = (row.get(2), row.get(3));
        let (class, expect) = expected[&id];
        let ok = match expect {
            Expect::Done { retries: want } => status == "DONE" && retries == want,
            Expect::FailedAtOnce => status == "FAILED" && retries == 0,
            Expect::FailedAfterRetries => status == "FAILED" && retries == max,
            Expect::Skipped => status == "SKIPPED",
        };
        if !ok {
            wrong.push(format!(
                "{class}: expected {expect:?}, got {status} after {retries} retries ({})",
                row.get::<_, String>(4)
            ));
        }
    }
    let found = counts(&c, &INVARIANTS).await?;
    println!(
        "CHAOS injected_model_errors classes={} tasks={n} drains={drains} wrong_final_state={} panics={} fake_violations={}",
        classes.len(),
        wrong.len(),
        panics.len(),
        fake.violations().len()
    );
    if !wrong.is_empty() {
        bail!("injected model errors: {} tasks ended in the wrong state:\n  {}", wrong.len(), wrong.join("\n  "));
    }
    if !panics.is_empty() {
        bail!("injected model errors: panics: {panics:?}");
    }
    if !fake.violations().is_empty() {
        bail!("injected model errors: malformed requests: {:?}", fake.violations());
    }
    check_invariants("injected model errors", &found)?;
    drop(engine);
    scratch.drop_database("chaos_errors").await
}
