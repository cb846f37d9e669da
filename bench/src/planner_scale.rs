//! The planner at scale: a generated platform (by default 1,000 personas, 100 boards, 100,000 posts,
//! 1,000,000 comments, with persona votes, memory and task history to match), then enqueue ticks timed,
//! their statements counted with `pg_stat_statements`, and their plans captured with `auto_explain`
//! (real parameters, real row counts) to show which indexes they use.
//!
//! It runs at several scales so the statement count can be compared across data sizes.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use shared::clock::{Clock, ManualClock};
use shared::config::Config;
use shared::db::{self, ConnectOptions, Type};
use shared::engine::Engine;

use crate::scratch::Scratch;

#[derive(clap::Args)]
pub struct Args {
    /// Data sizes to measure, as fractions of the full platform (1.0 = 1,000 personas … 1,000,000 comments).
    #[arg(long, value_delimiter = ',', default_value = "0.1,1.0")]
    scales: Vec<f64>,
    /// Timed ticks per scale (after one warm-up tick); the median is reported.
    #[arg(long, default_value_t = 5)]
    ticks: usize,
    /// Where to write the captured plans.
    #[arg(long, default_value = "target/bench/planner-plans.txt")]
    plans_out: std::path::PathBuf,
}

/// The generated platform's "now": the clock the planner runs at.
fn world_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).single().unwrap_or_default()
}

struct Sizes {
    personas: i64,
    boards: i64,
    posts: i64,
    comments: i64,
}

impl Sizes {
    fn at(scale: f64) -> Self {
        let of = |full: f64, least: i64| ((full * scale).round() as i64).max(least);
        Self {
            personas: of(1_000.0, 10),
            boards: of(100.0, 5),
            posts: of(100_000.0, 100),
            comments: of(1_000_000.0, 1_000),
        }
    }
}

pub async fn run(args: Args) -> Result<()> {
    if std::env::var_os("DATABASE_URL").is_some() {
        eprintln!(
            "· the planner benchmark ignores DATABASE_URL: it needs a cluster with pg_stat_statements and auto_explain loaded"
        );
    }
    let mut scratch = Scratch::start_private(&[
        ("shared_preload_libraries", "'pg_stat_statements,auto_explain'"),
        ("pg_stat_statements.track", "top"),
    ])?;
    let log_path = scratch.cluster().map(|c| c.root().join("postgres.log")).context("a private cluster")?;
    if let Some(dir) = args.plans_out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut plans_file = String::new();
    println!(
        "# planner at scale: one enqueue tick, median of {} after a warm-up; statements per tick from pg_stat_statements",
        args.ticks
    );
    for &scale in &args.scales {
        let sizes = Sizes::at(scale);
        let name = format!("bench_planner_{}", (scale * 1000.0) as i64);
        let url = scratch.fresh_database(&name).await?;
        let generated = Instant::now();
        generate(&url, &sizes).await?;
        let generate_s = generated.elapsed().as_secs_f64();

        let (engine, clock) = planner_engine(&url)?;
        let stats = db::connect_one(&url, None).await?;
        stats.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await?;

        let warm = Instant::now();
        let first = shared::planner::tick(&engine, None).await?;
        let first_ms = warm.elapsed().as_secs_f64() * 1e3;
        let mut times = Vec::new();
        let mut statements = Vec::new();
        let mut enqueued = first.enqueued;
        for _ in 0..args.ticks {
            clock.advance(chrono::Duration::minutes(2));
            stats.batch_execute("SELECT pg_stat_statements_reset()").await?;
            let started = Instant::now();
            let report = shared::planner::tick(&engine, None).await?;
            times.push(started.elapsed().as_secs_f64() * 1e3);
            enqueued += report.enqueued;
            statements.push(statement_count(&stats).await?);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        // The trends statement alone, warm (a tick runs it when the last refresh is ten minutes old),
        // each in a transaction rolled back.
        let mut refreshes = Vec::new();
        {
            let mut client = db::connect_one(&url, None).await?;
            for _ in 0..args.ticks {
                let tx = client.transaction().await?;
                let started = Instant::now();
                shared::db::trends::refresh(&tx, clock.now(), 0.5).await?;
                refreshes.push(started.elapsed().as_secs_f64() * 1e3);
                tx.rollback().await?;
            }
        }
        refreshes.sort_by(f64::total_cmp);
        let refresh_ms = refreshes[refreshes.len() / 2];
        let counts: Vec<String> = statements.iter().map(|c| c.to_string()).collect();

        // The plans of one more tick, on fresh connections that load the auto_explain settings.
        drop(engine);
        stats
            .batch_execute(&format!(
                "ALTER DATABASE {name} SET auto_explain.log_min_duration = 0;
                 ALTER DATABASE {name} SET auto_explain.log_analyze = on;
                 ALTER DATABASE {name} SET auto_explain.log_buffers = on;"
            ))
            .await?;
        let log_start = std::fs::metadata(&log_path)?.len();
        let (engine, explain_clock) = planner_engine(&url)?;
        // Late enough that this tick recomputes trends too, so their statement's plan is captured.
        explain_clock.set(clock.now() + chrono::Duration::minutes(shared::db::trends::REFRESH_EVERY_MINUTES));
        shared::planner::tick(&engine, None).await?;
        drop(engine);
        let plans = auto_explain_plans(&log_path, log_start)?;
        let full_scans: Vec<String> = plans.iter().flat_map(|p| p.big_table_seq_scans()).collect();
        println!(
            "PLANNER scale={scale} personas={} boards={} posts={} comments={} generate_s={generate_s:.1} first_tick_ms={first_ms:.1} median_tick_ms={median:.1} min_ms={:.1} max_ms={:.1} trends_refresh_ms={refresh_ms:.1} statements_per_tick={} explained={} seq_scans_of_large_tables={}",
            sizes.personas,
            sizes.boards,
            sizes.posts,
            sizes.comments,
            times[0],
            times[times.len() - 1],
            counts.join("/"),
            plans.len(),
            if full_scans.is_empty() { "none".to_owned() } else { full_scans.join(",") },
        );
        println!("# enqueued over the measured ticks at scale {scale}: {enqueued}");
        plans_file.push_str(&format!("######## scale {scale}\n"));
        for plan in &plans {
            plans_file.push_str(&plan.text);
            plans_file.push('\n');
        }
        scratch.drop_database(&name).await?;
    }
    std::fs::write(&args.plans_out, plans_file)?;
    println!("# plans: {}", args.plans_out.display());
    Ok(())
}

fn planner_engine(url: &str) -> Result<(Engine, Arc<ManualClock>)> {
    let clock = ManualClock::new(world_now());
    let settings = [("DATABASE_URL", url)].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    let config = Config::from_map(&settings)?;
    let pool =
        db::connect_pool(&ConnectOptions { url: SecretString::from(url.to_owned()), ca_cert: None, pool_size: 4 })?;
    let engine = Engine::assemble(&config, pool, clock.clone(), Arc::new(shared::ai::offline::OfflineWriter));
    Ok((engine, clock))
}

/// Statements the last tick ran (pg_stat_statements' calls in this database, its own queries excluded).
async fn statement_count(stats: &tokio_postgres::Client) -> Result<i64> {
    let row = stats
        .query_typed_one(
            "SELECT coalesce(sum(calls), 0)::int8 FROM pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND query NOT ILIKE '%pg_stat_statements%'",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

struct Plan {
    text: String,
}

const LARGE_TABLES: [&str; 6] = ["posts", "comments", "votes", "persona_memory", "persona_tasks", "media"];

impl Plan {
    fn big_table_seq_scans(&self) -> Vec<String> {
        LARGE_TABLES
            .iter()
            .filter(|t| {
                self.text.lines().any(|l| {
                    l.contains(&format!("Seq Scan on {t} ")) || l.trim_end().ends_with(&format!("Seq Scan on {t}"))
                })
            })
            .map(|t| t.to_string())
            .collect()
    }
}

/// The auto_explain entries written to the server log after byte `from`.
fn auto_explain_plans(log: &std::path::Path, from: u64) -> Result<Vec<Plan>> {
    let mut file = std::fs::File::open(log).with_context(|| format!("opening {}", log.display()))?;
    file.seek(SeekFrom::Start(from))?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let mut plans = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let starts_entry = line.len() > 4 && line.as_bytes()[..4].iter().all(u8::is_ascii_digit);
        if starts_entry {
            if let Some(done) = current.take() {
                plans.push(Plan { text: done });
            }
            if line.contains("plan:") {
                current = Some(format!("{line}\n"));
            }
        } else if let Some(plan) = current.as_mut() {
            plan.push_str(line);
            plan.push('\n');
        }
    }
    if let Some(done) = current {
        plans.push(Plan { text: done });
    }
    if plans.is_empty() {
        bail!("no auto_explain output in {}", log.display());
    }
    Ok(plans)
}

/// Fills the database in set-based statements. Ids are derived from row numbers so rows can reference
/// each other without lookups; times are spread over the 90 days before [`world_now`].
async fn generate(url: &str, s: &Sizes) -> Result<()> {
    let c = db::connect_one(url, None).await?;
    let now = world_now();
    let step = |sql: &str| {
        let c = &c;
        let sql = sql.to_owned();
        async move {
            c.query_typed(
                &sql,
                &[
                    (&now, Type::TIMESTAMPTZ),
                    (&s.personas, Type::INT8),
                    (&s.boards, Type::INT8),
                    (&s.posts, Type::INT8),
                    (&s.comments, Type::INT8),
                ],
            )
            .await
            .with_context(|| format!("generator step failed: {}", sql.lines().next().unwrap_or_default()))
        }
    };
    c.batch_execute(
        "CREATE OR REPLACE FUNCTION pg_temp.gen_id(prefix text, n bigint) RETURNS uuid
             LANGUAGE sql IMMUTABLE AS $$ SELECT (prefix || '000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid $$",
    )
    .await?;
    // Every step gets the same typed parameters: $1 now, $2 personas, $3 boards, $4 posts, $5 comments.
    step(
        "INSERT INTO personas (id, username, display_name, bio, created_at)
         SELECT pg_temp.gen_id('a0', n), 'gen_persona_' || n, 'Persona ' || n, 'Writes about things.',
                $1 - interval '200 days'
         FROM generate_series(1, $2) n",
    )
    .await?;
    step(
        "INSERT INTO persona_private (persona_id, voice, traits, interests, timezone, active_hours_start, active_hours_end)
         SELECT pg_temp.gen_id('a0', n), 'plain',
                ARRAY['curious'], ARRAY[(ARRAY['cooking','cycling','gardening','books','music','travel','coding','film'])[1 + n % 8],
                                        (ARRAY['coffee','running','history','games','photography'])[1 + n % 5]],
                (ARRAY['UTC','Europe/Madrid','America/New_York','Asia/Tokyo','Australia/Sydney'])[1 + n % 5],
                (6 + n % 4)::int2, (21 + n % 4)::int2
         FROM generate_series(1, $2) n",
    )
    .await?;
    step(
        "INSERT INTO boards (id, slug, name, topics, created_at)
         SELECT pg_temp.gen_id('b0', n), 'gen-board-' || n, 'Board ' || n,
                ARRAY[(ARRAY['cooking','cycling','gardening','books','music','travel','coding','film'])[1 + n % 8],
                      (ARRAY['coffee','running','history','games','photography'])[1 + n % 5]],
                $1 - interval '300 days'
         FROM generate_series(1, $3) n",
    )
    .await?;
    // One post in five by a persona; the rest by a few thousand humans. Uniform over 90 days.
    step(
        "INSERT INTO posts (id, board_id, author_id, persona_id, title, body, status, created_at)
         SELECT pg_temp.gen_id('c0', n), pg_temp.gen_id('b0', 1 + n % $3),
                CASE WHEN n % 5 = 0 THEN NULL ELSE pg_temp.gen_id('e0', 1 + n % 5000) END,
                CASE WHEN n % 5 = 0 THEN pg_temp.gen_id('a0', 1 + n % $2) END,
                'Generated post ' || n, repeat('Some words about the topic. ', 8), 'PUBLISHED',
                $1 - interval '90 days' * ((n * 7919) % $4)::float8 / $4
         FROM generate_series(1, $4) n",
    )
    .await?;
    // Six in ten comments are top level, within two days of their post; three in ten by personas.
    step(
        "INSERT INTO comments (id, post_id, parent_id, depth, body, author_id, persona_id, created_at)
         SELECT pg_temp.gen_id('d0', n), p.id, NULL, 0, 'A generated comment ' || n,
                CASE WHEN n % 10 < 3 THEN NULL ELSE pg_temp.gen_id('e0', 1 + n % 5000) END,
                CASE WHEN n % 10 < 3 THEN pg_temp.gen_id('a0', 1 + n % $2) END,
                least($1, p.created_at + interval '48 hours' * ((n * 31) % 1000) / 1000.0)
         FROM generate_series(1, ($5 * 6) / 10) n
         JOIN posts p ON p.id = pg_temp.gen_id('c0', 1 + (n * 104729) % $4)",
    )
    .await?;
    // The other four in ten answer a top-level comment, minutes to hours later; mostly humans.
    step(
        "INSERT INTO comments (id, post_id, parent_id, depth, body, author_id, persona_id, created_at)
         SELECT pg_temp.gen_id('d0', n), parent.post_id, parent.id, 1, 'A generated reply ' || n,
                CASE WHEN n % 10 < 2 THEN NULL ELSE pg_temp.gen_id('e0', 1 + n % 5000) END,
                CASE WHEN n % 10 < 2 THEN pg_temp.gen_id('a0', 1 + n % $2) END,
                least($1, parent.created_at + interval '6 hours' * ((n * 17) % 1000) / 1000.0)
         FROM generate_series(($5 * 6) / 10 + 1, $5) n
         JOIN comments parent ON parent.id = pg_temp.gen_id('d0', 1 + (n * 7907) % (($5 * 6) / 10))",
    )
    .await?;
    // What personas remember: every comment they wrote and a vote on one post in ten.
    step(
        "INSERT INTO persona_memory (persona_id, post_id, action_type, created_at)
         SELECT DISTINCT ON (c.persona_id, c.post_id) c.persona_id, c.post_id, 'commented', c.created_at
         FROM comments c WHERE c.persona_id IS NOT NULL AND c.parent_id IS NULL
         ON CONFLICT DO NOTHING",
    )
    .await?;
    step(
        "INSERT INTO persona_memory (persona_id, comment_id, action_type, created_at)
         SELECT c.persona_id, c.parent_id, 'replied', c.created_at
         FROM comments c WHERE c.persona_id IS NOT NULL AND c.parent_id IS NOT NULL
         ON CONFLICT DO NOTHING",
    )
    .await?;
    step(
        "WITH v AS (
             SELECT pg_temp.gen_id('a0', 1 + (n * 13) % $2) AS persona_id, p.id AS post_id,
                    least($1, p.created_at + interval '1 day' * ((n * 7) % 100) / 100.0) AS at
             FROM generate_series(1, $4) n JOIN posts p ON p.id = pg_temp.gen_id('c0', n)
             WHERE p.persona_id IS DISTINCT FROM pg_temp.gen_id('a0', 1 + (n * 13) % $2)
         ), voted AS (
             INSERT INTO votes (post_id, persona_id, value, created_at)
             SELECT post_id, persona_id, 1, at FROM v ON CONFLICT DO NOTHING RETURNING persona_id, post_id, created_at
         )
         INSERT INTO persona_memory (persona_id, post_id, action_type, created_at)
         SELECT persona_id, post_id, 'voted', created_at FROM voted ON CONFLICT DO NOTHING",
    )
    .await?;
    // Three tags a post from a vocabulary of 400, and people's upvotes on posts (two tries a post): what
    // the trends statement of every tick reads over the last 48 hours.
    step(
        "INSERT INTO post_tags (post_id, tag)
         SELECT pg_temp.gen_id('c0', n), 'topic ' || ((n * 7 + j * 131) % 400)
         FROM generate_series(1, $4) n CROSS JOIN generate_series(1, 3) j
         ON CONFLICT DO NOTHING",
    )
    .await?;
    step(
        "INSERT INTO votes (post_id, user_id, value, created_at)
         SELECT p.id, pg_temp.gen_id('e0', 1 + (n * j * 7) % 5000), 1,
                least($1, p.created_at + interval '1 day' * ((n * j) % 100) / 100.0)
         FROM generate_series(1, $4) n CROSS JOIN generate_series(1, 2) j
         JOIN posts p ON p.id = pg_temp.gen_id('c0', n)
         ON CONFLICT DO NOTHING",
    )
    .await?;
    // A finished task behind every remembered action (the queue's history the planner must not scan).
    step(
        "INSERT INTO persona_tasks (persona_id, task_type, post_id, comment_id, status, scheduled_at, started_at,
                                    completed_at, created_at, result_type)
         SELECT m.persona_id, CASE m.action_type WHEN 'voted' THEN 'vote' WHEN 'replied' THEN 'reply' ELSE 'comment' END,
                m.post_id, m.comment_id, 'DONE', m.created_at - interval '5 minutes', m.created_at, m.created_at,
                m.created_at - interval '10 minutes', CASE m.action_type WHEN 'voted' THEN 'vote' ELSE 'comment' END
         FROM persona_memory m",
    )
    .await?;
    c.batch_execute("VACUUM ANALYZE").await?;
    Ok(())
}
