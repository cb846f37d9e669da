//! `persona-engine`: the local runner. Wiring only; the engine lives in the `shared` crate.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use shared::actions;
use shared::clock;
use shared::config::Config;
use shared::db::{self, ConnectOptions, local::LocalPostgres};
use shared::demo_world::DemoWorld;
use shared::engine::Engine;
use shared::queue::Queue;

#[derive(Parser)]
#[command(name = "persona-engine", version, about = "AI personas that post, comment, reply and vote like people")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply database migrations (a no-op when up to date). Prints JSON.
    Migrate,
    /// Insert the demo world: a dozen personas, boards, human posts and comments. Prints JSON.
    Seed,
    /// Task queue commands.
    Tasks {
        #[command(subcommand)]
        command: TasksCommand,
    },
    /// Run one PENDING task now, whatever its scheduled time, and print its final state and what it
    /// published as JSON.
    RunTask {
        /// The task's id.
        task_id: uuid::Uuid,
    },
    /// Run a simulated day of platform life on a private database (not yet: arrives with the functions issue).
    Demo,
    /// A private PostgreSQL for development and tests (data in a directory of your choice).
    DevPostgres {
        #[command(subcommand)]
        command: DevPostgresCommand,
    },
}

#[derive(Subcommand)]
enum TasksCommand {
    /// Counts by status and type, oldest due age, failures and tokens in the last 24 h. Prints JSON.
    Stats,
}

#[derive(Subcommand)]
enum DevPostgresCommand {
    /// Create a fresh cluster in DIR and start it; prints `DATABASE_URL=...`.
    Start {
        /// Where the cluster lives (emptied first).
        #[arg(long)]
        dir: PathBuf,
    },
    /// Stop the cluster in DIR.
    Stop {
        /// Where the cluster lives.
        #[arg(long)]
        dir: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    shared::telemetry::init_cli();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn database_url(config: &Config) -> Result<String> {
    config
        .database
        .url
        .as_ref()
        .map(|u| u.expose_secret().to_owned())
        .ok_or_else(|| anyhow!("DATABASE_URL is not set (see README: Configuration)"))
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::DevPostgres { command: DevPostgresCommand::Start { dir } } => {
            let cluster = LocalPostgres::start_fresh(&dir, false)?;
            println!("DATABASE_URL={}", cluster.url("postgres"));
            cluster.detach();
            return Ok(());
        }
        Command::DevPostgres { command: DevPostgresCommand::Stop { dir } } => {
            LocalPostgres::stop_at(&dir)?;
            return Ok(());
        }
        Command::Demo => {
            eprintln!("not yet: `demo` arrives with the planner, worker and local runner (issue 5)");
            std::process::exit(2);
        }
        _ => {}
    }

    let config = Config::from_env()?;
    let url = database_url(&config)?;
    match cli.command {
        Command::Migrate => {
            let mut client = db::connect_one(&url, config.database.ca_cert.as_deref())
                .await
                .context("connecting to DATABASE_URL")?;
            let applied = db::migrate::run(&mut client).await?;
            print_json(&serde_json::json!({ "applied": applied, "up_to_date": applied.is_empty() }))
        }
        Command::Seed => {
            let pool = db::connect_pool(&ConnectOptions {
                url: url.into(),
                ca_cert: config.database.ca_cert.clone(),
                pool_size: 1,
            })?;
            let client = pool.get().await.context("connecting to DATABASE_URL")?;
            let report = DemoWorld::embedded().seed(&**client, clock::system().now()).await?;
            print_json(&report)
        }
        Command::Tasks { command: TasksCommand::Stats } => {
            let pool = db::connect_pool(&ConnectOptions {
                url: url.into(),
                ca_cert: config.database.ca_cert.clone(),
                pool_size: 1,
            })?;
            let client = pool.get().await.context("connecting to DATABASE_URL")?;
            let queue = Queue::new(clock::system(), config.queue.lease, config.queue.max_retries);
            print_json(&queue.stats(&**client).await?)
        }
        Command::RunTask { task_id } => {
            let engine = Engine::from_config(&config, clock::system())?;
            let client = engine.pool.get().await.context("connecting to DATABASE_URL")?;
            let task = engine.queue.claim_by_id(&**client, task_id).await?;
            drop(client);
            let report = actions::run_task(&engine, &task).await;
            let client = engine.pool.get().await.context("connecting to DATABASE_URL")?;
            let task = engine.queue.get(&**client, task_id).await?;
            let published = match (&task.result_type, task.result_id) {
                (Some(kind), Some(id)) => db::content::published(&**client, kind, id).await?,
                _ => None,
            };
            print_json(&serde_json::json!({ "task": task, "report": report, "published": published }))
        }
        Command::DevPostgres { .. } | Command::Demo => unreachable!("handled above"),
    }
}
