//! `persona-bench`: the evidence behind BENCHMARKS.md, and the fault suite.
//!
//! Every subcommand prints its figures as `KEY value` lines a script can collect. None of them asserts a
//! time: this machine is shared, so BENCHMARKS.md compares ratios taken in one run. The fault suite
//! (`chaos`) does assert — its checks are about correctness, not speed — and exits non-zero on a
//! violation.

mod chaos;
mod db_work;
mod image_pipeline;
mod planner_scale;
mod queue_drain;
mod scratch;
mod worker_efficiency;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "persona-bench", about = "Benchmarks and the fault suite for persona-engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Queue harness setup (../shared/bench/queue contract): migrate, enqueue N no-op tasks. Env: DATABASE_URL, N.
    QueueSetup,
    /// Queue harness drain: claim → complete N tasks with CONCURRENCY loops. Env: DATABASE_URL, N, CONCURRENCY.
    QueueDrain {
        /// Tasks one claim may take.
        #[arg(long, env = "CLAIM_BATCH", default_value_t = 16)]
        claim_batch: usize,
    },
    /// One worker invocation draining B tasks against the Gemini fake at a fixed latency.
    Worker(worker_efficiency::Args),
    /// Generate a large platform and time one planner tick (count its statements, explain its reads).
    Planner(planner_scale::Args),
    /// Decode → resize → encode with the engine's image stack; prints lines in the image harness's format.
    Image(image_pipeline::Args),
    /// The fault suite: killed workers, a restarted database, injected model errors.
    Chaos(chaos::Args),
    /// WAL bytes, commits and statements per no-op task and per published comment.
    DbWork(db_work::Args),
    /// Serve the Gemini fake until killed (for processes under measurement); prints its settings.
    GeminiFake {
        /// Side of the PNG an image request gets (a noisy, photo-sized image).
        #[arg(long, default_value_t = 1024)]
        image_size: u32,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // The image bench measures peak memory of the process: no runtime, no threads it does not need.
    if let Command::Image(args) = &cli.command {
        return image_pipeline::run(args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::QueueSetup => queue_drain::setup().await,
            Command::QueueDrain { claim_batch } => queue_drain::drain(claim_batch).await,
            Command::Worker(args) => worker_efficiency::run(args).await,
            Command::Planner(args) => planner_scale::run(args).await,
            Command::Chaos(args) => chaos::run(args).await,
            Command::DbWork(args) => db_work::run(args).await,
            Command::GeminiFake { image_size } => serve_gemini_fake(image_size).await,
            Command::Image(_) => unreachable!("handled before the runtime starts"),
        }
    })
}

async fn serve_gemini_fake(image_size: u32) -> Result<()> {
    use testkit::{GeminiFake, Reply};
    let fake = GeminiFake::start().await;
    // Image requests (and only they) carry responseModalities.
    let png = testkit::gemini_fake::photo_png(image_size);
    fake.route("responseModalities", Vec::new(), Reply::Image { png, thought_image_first: false });
    println!("GEMINI_BASE_URL={}", fake.uri());
    println!("GEMINI_API_KEY={}", testkit::gemini_fake::FAKE_KEY);
    use std::io::Write;
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}
