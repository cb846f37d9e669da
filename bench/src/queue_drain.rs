//! The queue's own claim → complete path under the ../shared/bench/queue harness (its candidate
//! contract: `DATABASE_URL`, `N`, `CONCURRENCY` in the environment, `RESULT drain_s=` on stdout).
//!
//! The drain is the production protocol, not a shortcut: each loop claims a batch of due tasks into
//! RUNNING under a lease in one committed statement (at most one task per persona), then completes each
//! task in its own transaction, guarded by the claim token (`Queue::complete`, the statement a worker
//! runs inside the transaction that writes a task's effect rows). Only the work is absent: no-op tasks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use secrecy::SecretString;
use shared::clock;
use shared::db::tasks::Outcome;
use shared::db::{self, ConnectOptions};
use shared::kinds::POST;
use shared::queue::{NewTask, Queue, Target};
use testkit::fixtures;

/// Tasks per persona in the setup: the harness's N tasks spread over N/10 personas and 10 boards, so a
/// claim is never starved by the one-running-task-per-persona rule but still has to honour it.
const TASKS_PER_PERSONA: usize = 10;

fn env_usize(name: &str) -> Result<usize> {
    let raw = std::env::var(name).with_context(|| format!("{name} is not set (the harness sets it)"))?;
    raw.parse().with_context(|| format!("{name}={raw:?} is not a whole number"))
}

fn database_url() -> Result<String> {
    std::env::var("DATABASE_URL").context("DATABASE_URL is not set (the harness sets it)")
}

fn queue() -> Queue {
    Queue::new(clock::system(), Duration::from_secs(300), 3)
}

/// Migrates the database and enqueues N due tasks (untimed by the harness).
pub async fn setup() -> Result<()> {
    let n = env_usize("N")?;
    let mut client = db::connect_one(&database_url()?, None).await?;
    db::migrate::run(&mut client).await?;
    let personas = fixtures::personas(&client, "bench_", n.div_ceil(TASKS_PER_PERSONA)).await;
    let mut boards = Vec::new();
    for b in 0..TASKS_PER_PERSONA {
        boards.push(fixtures::board(&client, &format!("bench-{b}"), &["bench"]).await);
    }
    let due = Utc::now() - chrono::Duration::minutes(1);
    let tasks: Vec<NewTask> = (0..n)
        .map(|i| {
            let board = boards[i / personas.len()];
            POST.task(personas[i % personas.len()], Target::Board(board), due)
        })
        .collect();
    let queue = queue();
    let mut inserted = 0;
    for chunk in tasks.chunks(5_000) {
        inserted += queue.enqueue(&client, chunk).await?.inserted.len();
    }
    if inserted != n {
        bail!("enqueued {inserted} of {n} tasks");
    }
    // What autovacuum does within a minute of a burst like this. Without statistics the planner takes
    // the 20,000 fresh rows for ten and sorts them all at every claim (BENCHMARKS.md shows that case).
    if std::env::var_os("QUEUE_SETUP_NO_ANALYZE").is_none() {
        client.batch_execute("ANALYZE persona_tasks").await?;
    }
    eprintln!("enqueued {n} tasks over {} personas", personas.len());
    Ok(())
}

/// Drains every due task with CONCURRENCY loops of claim(batch) → complete each; prints the drain time.
pub async fn drain(claim_batch: usize) -> Result<()> {
    let n = env_usize("N")?;
    let concurrency = env_usize("CONCURRENCY")?.max(1);
    let pool = db::connect_pool(&ConnectOptions {
        url: SecretString::from(database_url()?),
        ca_cert: None,
        pool_size: concurrency,
    })?;
    // Connect before the clock starts, as the anchors' timings exclude connecting.
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        clients.push(pool.get().await?);
    }
    let queue = Arc::new(queue());
    let completed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut loops = tokio::task::JoinSet::new();
    for client in clients {
        let (queue, completed) = (queue.clone(), completed.clone());
        loops.spawn(async move {
            let mut idle_since: Option<Instant> = None;
            loop {
                let tasks = queue.claim(&**client, claim_batch).await?;
                if tasks.is_empty() {
                    if completed.load(Ordering::Relaxed) >= n {
                        return anyhow::Ok(());
                    }
                    // The rest belong to personas another loop is finishing; a give-up bound keeps
                    // a miscounted setup from spinning forever.
                    let since = *idle_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(10) {
                        return Ok(());
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
                idle_since = None;
                for task in tasks {
                    // A no-op task has no effect rows to share the completion's transaction, so the
                    // completion is its own (implicit) transaction: one statement, one commit.
                    queue.complete(&**client, &task, &Outcome::default()).await?;
                    completed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while let Some(joined) = loops.join_next().await {
        joined??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let done = completed.load(Ordering::Relaxed);
    if done != n {
        bail!("completed {done} of {n} tasks");
    }
    println!("RESULT drain_s={seconds:.3}");
    eprintln!(
        "drained {n} tasks at concurrency {concurrency} (claim batch {claim_batch}): {:.0} tasks/s",
        n as f64 / seconds
    );
    Ok(())
}
