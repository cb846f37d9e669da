//! Worker efficiency: one worker invocation with `MAX_CONCURRENT_TASKS` = C draining B tasks whose
//! model call takes a fixed time at the Gemini fake. Efficiency = wall ÷ (ceil(B/C) × latency): 1.00
//! means the worker added nothing to the model's time; the target is ≤ 1.10.
//!
//! Each task is a vote by a different persona (one structured model call, its memory row and vote in
//! one transaction), so B tasks are B calls and no persona rule serialises them.
//!
//! Two invocations per measurement: the first on a fresh engine (a cold container: its connection
//! pool fills during the batch), the second on the same engine (a warm container, as most scheduled
//! invocations are).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chrono::Utc;
use shared::clock;
use shared::config::Config;
use shared::engine::Engine;
use shared::kinds::VOTE;
use shared::queue::{NewTask, Target};
use shared::worker::{self, Budget};
use testkit::gemini_fake::FAKE_KEY;
use testkit::{GeminiFake, Reply, fixtures};

use crate::scratch::Scratch;

#[derive(clap::Args)]
pub struct Args {
    /// Values of MAX_CONCURRENT_TASKS to measure.
    #[arg(long, value_delimiter = ',', default_value = "3,8,32")]
    concurrency: Vec<usize>,
    /// Tasks per invocation (B).
    #[arg(long, default_value_t = 96)]
    tasks: usize,
    /// The fake's time per model call.
    #[arg(long, default_value_t = 500)]
    latency_ms: u64,
    /// Invocations per C; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Posts the votes are spread over (1: every persona votes on one hot post).
    #[arg(long, default_value_t = 1)]
    posts: usize,
}

pub async fn run(args: Args) -> Result<()> {
    let scratch = Scratch::start(&[])?;
    let fake = GeminiFake::start().await;
    let latency = Duration::from_millis(args.latency_ms);
    fake.set_default(Reply::Slow(latency, Box::new(Reply::Auto)));
    println!(
        "# worker efficiency: B={} tasks, model latency {} ms, median of {}",
        args.tasks, args.latency_ms, args.repeat
    );
    for &c in &args.concurrency {
        let ideal = latency * args.tasks.div_ceil(c) as u32;
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for round in 0..args.repeat {
            let name = format!("bench_worker_{}_{c}_{round}", std::process::id());
            let url = scratch.fresh_database(&name).await?;
            let engine = engine(&url, &fake, c)?;
            for (invocation, ratios) in [&mut cold, &mut warm].into_iter().enumerate() {
                enqueue_votes(&engine, args.tasks, args.posts, &format!("i{invocation}_")).await?;
                let started = Instant::now();
                let report = worker::drain(&engine, args.tasks, Budget::Unbounded).await;
                let wall = started.elapsed();
                if report.succeeded != args.tasks {
                    bail!("C={c}: {} of {} tasks succeeded: {:?}", report.succeeded, args.tasks, report.errors);
                }
                ratios.push(wall.as_secs_f64() / ideal.as_secs_f64());
            }
            drop(engine);
            scratch.drop_database(&name).await?;
        }
        for (label, ratios) in [("cold", &mut cold), ("warm", &mut warm)] {
            ratios.sort_by(f64::total_cmp);
            let ratio = ratios[ratios.len() / 2];
            println!(
                "WORKER concurrency={c} invocation={label} tasks={} ideal_s={:.3} wall_s={:.3} ratio={ratio:.3} min={:.3} max={:.3}",
                args.tasks,
                ideal.as_secs_f64(),
                ratio * ideal.as_secs_f64(),
                ratios[0],
                ratios[ratios.len() - 1]
            );
        }
    }
    if !fake.violations().is_empty() {
        bail!("the fake saw malformed requests: {:?}", fake.violations());
    }
    Ok(())
}

fn engine(url: &str, fake: &GeminiFake, concurrency: usize) -> Result<Engine> {
    let media = std::env::temp_dir().join(format!("persona-bench-media-{}", std::process::id()));
    let settings: HashMap<String, String> = [
        ("DATABASE_URL", url.to_owned()),
        ("DATABASE_POOL_SIZE", (concurrency + 4).to_string()),
        ("LLM_PROVIDER", "gemini".into()),
        ("GEMINI_API_KEY", FAKE_KEY.into()),
        ("GEMINI_BASE_URL", fake.uri()),
        ("GEMINI_MAX_REQUESTS_PER_MINUTE", "100000".into()),
        ("MAX_CONCURRENT_TASKS", concurrency.to_string()),
        ("MEDIA_DIR", media.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let config = Config::from_map(&settings)?;
    Ok(Engine::from_config(&config, clock::system())?)
}

async fn enqueue_votes(engine: &Engine, n: usize, posts: usize, prefix: &str) -> Result<()> {
    let c = engine.pool.get().await?;
    let personas = fixtures::personas(&**c, &format!("{prefix}voter_"), n).await;
    // On the voters' own topic ("testing"), so each vote asks the model: votes out of a persona's
    // interests are settled without a call, and this measures a worker waiting on the model.
    let board = fixtures::board(&**c, &format!("{prefix}bench"), &["testing"]).await;
    let mut post_ids = Vec::new();
    for i in 0..posts.max(1) {
        post_ids.push(
            fixtures::human_post(&**c, board, &format!("Which knife do you use every day? ({i})"), Utc::now()).await,
        );
    }
    let due = Utc::now() - chrono::Duration::seconds(5);
    let tasks: Vec<NewTask> = personas
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let post = post_ids[i % post_ids.len()];
            VOTE.task(*p, Target::Post(post), due)
        })
        .collect();
    let inserted = engine.queue.enqueue(&**c, &tasks).await?.inserted.len();
    if inserted != n {
        bail!("enqueued {inserted} of {n} tasks");
    }
    Ok(())
}
