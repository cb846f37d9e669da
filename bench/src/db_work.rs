//! What a task costs the platform's database: WAL bytes, commits and statements per task, read around a
//! drain (`pg_current_wal_lsn`, `pg_stat_database.xact_commit`, `pg_stat_statements`), for two kinds of
//! work: a no-op task's life through the queue (claim → complete, as the queue harness drains it) and a
//! published comment (the worker running comment tasks with the offline writer: observe, publish the
//! comment, its memory row and the task's outcome). A checkpoint comes before each measurement and
//! full-page writes are on (as in production and in the queue harness), so both pay for their first
//! touch of every page the same way. `pg_waldump` then says where the bytes went, per record type.

use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::{Duration, Utc};
use shared::clock;
use shared::config::Config;
use shared::db::tasks::Outcome;
use shared::engine::Engine;
use shared::kinds::{COMMENT, POST};
use shared::queue::{NewTask, Target};
use shared::worker::{self, Budget};
use testkit::fixtures;

use crate::scratch::Scratch;

/// `persona-bench db-work` options.
#[derive(clap::Args)]
pub struct Args {
    /// Tasks per measurement.
    #[arg(long, default_value_t = 2_000)]
    pub tasks: usize,
}

/// One measurement's totals.
struct Counters {
    lsn: String,
    wal_bytes: i64,
    commits: i64,
    statements: i64,
}

/// The counters now. Statistics are flushed first, so the commits of every backend are in.
async fn counters(c: &tokio_postgres::Client) -> Result<Counters> {
    c.batch_execute("SELECT pg_stat_force_next_flush()").await?;
    let row = c
        .query_one(
            "SELECT pg_current_wal_lsn()::text, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::int8,
                    (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
                    (SELECT coalesce(sum(calls), 0)::int8 FROM pg_stat_statements s
                     JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database()
                       AND s.query NOT LIKE '%pg_stat%' AND s.query NOT LIKE '%pg_current_wal_lsn%')",
            &[],
        )
        .await?;
    Ok(Counters { lsn: row.get(0), wal_bytes: row.get(1), commits: row.get(2), statements: row.get(3) })
}

fn report(what: &str, tasks: usize, before: &Counters, after: &Counters) {
    // Transactions include read-only ones (each statement outside a transaction is one).
    let per = |a: i64, b: i64| (b - a) as f64 / tasks as f64;
    println!(
        "DBWORK {what} tasks={tasks} wal_bytes_per_task={:.0} transactions_per_task={:.2} statements_per_task={:.2}",
        per(before.wal_bytes, after.wal_bytes),
        per(before.commits, after.commits),
        per(before.statements, after.statements),
    );
}

/// Where the WAL between `before` and `after` went: `pg_waldump --stats=record` on the private cluster,
/// per task, for every record type that cost at least a byte a task.
fn wal_breakdown(scratch: &mut Scratch, what: &str, tasks: usize, before: &Counters, after: &Counters) {
    let Some(cluster) = scratch.cluster() else { return };
    let output = std::process::Command::new(cluster.bin_dir().join("pg_waldump"))
        .arg("--stats=record")
        .arg("-p")
        .arg(cluster.root().join("data/pg_wal"))
        .args(["-s", &before.lsn, "-e", &after.lsn])
        .output();
    let stdout = match output {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => return eprintln!("pg_waldump failed: {}", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => return eprintln!("pg_waldump could not run: {e}"),
    };
    let per = |n: u64| n as f64 / tasks as f64;
    for line in stdout.lines() {
        // "Heap/HOT_UPDATE  40071 ( 22.59)  5099520 ( 37.79)  2880024 ( 43.81)  7979544 ( 39.76)": the
        // name, then the counts among the percentages.
        let mut words = line.split_whitespace();
        let Some(name) = words.next().filter(|n| n.contains('/') || *n == "Total") else { continue };
        let numbers: Vec<u64> = words.filter_map(|w| w.parse().ok()).collect();
        if let [records, record_bytes, fpi_bytes, combined] = numbers[..]
            && per(combined) >= 1.0
        {
            println!(
                "WAL {what} {name} records_per_task={:.2} record_bytes_per_task={:.0} full_page_image_bytes_per_task={:.0}",
                per(records),
                per(record_bytes),
                per(fpi_bytes)
            );
        }
    }
}

/// Closes the engine's connections: a backend's statistics (its commits) reach `pg_stat_database` when
/// it exits, not at each commit.
async fn settle(engine: Engine) {
    engine.pool.close();
    drop(engine);
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
}

/// Both measurements on a private cluster with `pg_stat_statements` loaded.
pub async fn run(args: Args) -> Result<()> {
    let mut scratch = Scratch::start_private(&[
        ("shared_preload_libraries", "pg_stat_statements"),
        ("pg_stat_statements.track", "all"),
        ("full_page_writes", "on"),
    ])?;
    noop_tasks(&mut scratch, args.tasks).await?;
    published_comments(&mut scratch, args.tasks).await?;
    Ok(())
}

fn engine(url: &str) -> Result<Engine> {
    let media = std::env::temp_dir().join(format!("persona-bench-dbwork-{}", std::process::id()));
    let settings: HashMap<String, String> = [
        ("DATABASE_URL", url.to_owned()),
        ("LLM_PROVIDER", "offline".into()),
        ("MEDIA_DIR", media.display().to_string()),
        ("PERSONA_MAX_ACTIONS_PER_HOUR", "10000".into()),
        ("MAX_CONCURRENT_TASKS", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Ok(Engine::from_config(&Config::from_map(&settings)?, clock::system())?)
}

/// A fresh database named `name` with `pg_stat_statements`, and an engine on it.
async fn fresh(scratch: &Scratch, name: &str) -> Result<(String, Engine)> {
    let url = scratch.fresh_database(name).await?;
    let engine = engine(&url)?;
    engine.pool.get().await?.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await?;
    Ok((url, engine))
}

/// Enqueues `tasks` and brings the database to where a measurement starts (statistics as autovacuum
/// would have them, a checkpoint); returns the connection that reads the counters, and the counters.
async fn start(engine: &Engine, url: &str, tasks: &[NewTask]) -> Result<(tokio_postgres::Client, Counters)> {
    let c = engine.pool.get().await?;
    for chunk in tasks.chunks(5_000) {
        engine.queue.enqueue(&**c, chunk).await?;
    }
    c.batch_execute("ANALYZE; CHECKPOINT").await?;
    let (counter, connection) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.context("a counters connection")?;
    tokio::spawn(connection);
    let before = counters(&counter).await?;
    Ok((counter, before))
}

/// No-op tasks through claim (batches of 16) → complete, one connection.
async fn noop_tasks(scratch: &mut Scratch, n: usize) -> Result<()> {
    let (url, engine) = fresh(scratch, "bench_db_noop").await?;
    let tasks: Vec<NewTask> = {
        let c = engine.pool.get().await?;
        let personas = fixtures::personas(&**c, "noop_", n.div_ceil(10)).await;
        let mut boards = Vec::new();
        for b in 0..10 {
            boards.push(fixtures::board(&**c, &format!("noop-{b}"), &["bench"]).await);
        }
        let due = Utc::now() - Duration::minutes(1);
        (0..n)
            .map(|i| POST.task(personas[i % personas.len()], Target::Board(boards[i / personas.len()]), due))
            .collect()
    };
    let (counter, before) = start(&engine, &url, &tasks).await?;
    let c = engine.pool.get().await?;
    let mut done = 0;
    while done < n {
        let claimed = engine.queue.claim(&**c, 16).await?;
        if claimed.is_empty() {
            break;
        }
        for task in claimed {
            engine.queue.complete(&**c, &task, &Outcome::default()).await?;
            done += 1;
        }
    }
    drop(c);
    settle(engine).await;
    let after = counters(&counter).await?;
    report("noop_task", done, &before, &after);
    wal_breakdown(scratch, "noop_task", done, &before, &after);
    scratch.drop_database("bench_db_noop").await
}

/// Comment tasks on people's posts, run by the worker with the offline writer: each publishes a comment.
async fn published_comments(scratch: &mut Scratch, n: usize) -> Result<()> {
    let (url, engine) = fresh(scratch, "bench_db_comment").await?;
    let tasks: Vec<NewTask> = {
        let c = engine.pool.get().await?;
        let personas = fixtures::personas(&**c, "talker_", n.div_ceil(20)).await;
        let board = fixtures::board(&**c, "talk", &["cooking"]).await;
        let mut posts = Vec::new();
        for i in 0..20 {
            posts.push(fixtures::human_post(&**c, board, &format!("A question about pans {i}"), Utc::now()).await);
        }
        let due = Utc::now() - Duration::minutes(1);
        (0..n).map(|i| COMMENT.task(personas[i / posts.len()], Target::Post(posts[i % posts.len()]), due)).collect()
    };
    let (counter, before) = start(&engine, &url, &tasks).await?;
    let ran = worker::drain(&engine, tasks.len(), Budget::Unbounded).await;
    settle(engine).await;
    let after = counters(&counter).await?;
    let published: i64 =
        counter.query_one("SELECT count(*) FROM persona_tasks WHERE status = 'DONE'", &[]).await?.get(0);
    eprintln!("ran {} tasks, {published} published a comment", ran.processed);
    let published = usize::try_from(published.max(1)).unwrap_or(1);
    report("published_comment", published, &before, &after);
    wal_breakdown(scratch, "published_comment", published, &before, &after);
    scratch.drop_database("bench_db_comment").await
}
