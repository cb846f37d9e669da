//! `persona-engine`: the local runner. Wiring and presentation only; the engine lives in `shared`.

mod audit;
mod charts;
mod demo;
mod local;
mod personas;
mod simulate;
mod trends;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use shared::clock;
use shared::config::Config;
use shared::db::tasks::Issuer;
use shared::db::{self, ConnectOptions};
use shared::engine::Engine;
use shared::operator::{self, TriggerRequest};
use shared::worker::Budget;
use tooling::demo_world::DemoWorld;
use tooling::local_postgres::LocalPostgres;

#[derive(Parser)]
#[command(name = "persona-engine", version, about = "AI personas that post, comment, reply and vote like people")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A simulated day of platform life on a private database, then the threads as a person reads them.
    Demo {
        /// Simulated hours.
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=168))]
        hours: u32,
    },
    /// Platform life on a simulated clock, then a realism report (Markdown, JSON, PNG charts).
    Simulate {
        /// Simulated hours.
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=336))]
        hours: u32,
        /// Active personas (the demo world's twelve, paused or topped up with generated ones).
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=5000))]
        personas: u64,
        /// Seeds every random choice: the same seed gives the same report.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where the report goes (default target/simulation).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Apply database migrations (a no-op when up to date). Prints JSON.
    Migrate {
        /// List what migrate would change on this database (pending migrations, and each table, column,
        /// index, constraint, policy and grant added or removed) without changing it.
        #[arg(long)]
        plan: bool,
    },
    /// Insert the demo world: a dozen personas, boards, human posts and comments. Prints JSON.
    Seed,
    /// One planning tick: rescue expired leases, then enqueue. Prints JSON.
    Enqueue,
    /// One worker batch (at most MAX_TASKS_PER_TICK tasks). Prints JSON.
    Work {
        /// At most this many tasks.
        #[arg(long)]
        max_tasks: Option<usize>,
    },
    /// The standalone service: the scheduler every SCHEDULER_INTERVAL_MS and the admin API on ADMIN_PORT.
    Serve,
    /// Run one PENDING task now, whatever its scheduled time; print its final state and what it published.
    RunTask {
        /// The task's id.
        task_id: uuid::Uuid,
    },
    /// Check the deployment this configuration names: database, TLS, pooler, migrations, schema, RLS and
    /// grants, storage, the Gemini key and models, the admin key. Exit status 1 when a check fails.
    Doctor {
        /// Print JSON instead of a checklist.
        #[arg(long)]
        json: bool,
    },
    /// Force a task now, as `POST /trigger/{kind}` does: the selector picks the persona unless one is named.
    Trigger {
        /// A kind of work (`persona-engine kinds` lists them, with the target each takes).
        kind: String,
        /// Who acts.
        #[arg(long)]
        persona_id: Option<uuid::Uuid>,
        /// The post (comment; vote on a post).
        #[arg(long)]
        post_id: Option<uuid::Uuid>,
        /// The comment (reply; vote on a comment).
        #[arg(long)]
        comment_id: Option<uuid::Uuid>,
        /// The board (a post of any kind).
        #[arg(long)]
        board_id: Option<uuid::Uuid>,
        /// Extra instructions for the persona (at most 500 characters).
        #[arg(long)]
        instructions: Option<String>,
        /// Run it now and print what it published.
        #[arg(long, conflicts_with = "dry_run")]
        wait: bool,
        /// Generate what the persona would publish and print it: nothing is enqueued or published (a
        /// paused persona may be previewed).
        #[arg(long)]
        dry_run: bool,
    },
    /// Make, review, edit, pause and resume personas.
    Personas {
        #[command(subcommand)]
        command: personas::Command,
    },
    /// The health of what personas published: lengths, the marks of machine text, repeated wording,
    /// near-duplicates within and across personas, how activity spreads, time at the hourly cap, and
    /// how fast people are answered. Works on any database, whatever wrote the texts.
    Audit {
        /// How far back: a number then m, h, d or w.
        #[arg(long, default_value = "7d", value_parser = audit::parse_period)]
        since: chrono::Duration,
        /// Print JSON instead of a report.
        #[arg(long)]
        json: bool,
    },
    /// What is trending: topic, velocity, posts, and people's engagement beside personas', as the
    /// planner's latest tick computed it.
    Trends {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The kinds of work this build runs, with the target each takes and how a session chooses it.
    /// Prints JSON.
    Kinds,
    /// Which boards take video posts, and within what bounds.
    Boards {
        #[command(subcommand)]
        command: BoardsCommand,
    },
    /// Task queue commands.
    Tasks {
        #[command(subcommand)]
        command: TasksCommand,
    },
    /// A private PostgreSQL for development and tests (data in a directory of your choice).
    DevPostgres {
        #[command(subcommand)]
        command: DevPostgresCommand,
    },
}

#[derive(Subcommand)]
enum TasksCommand {
    /// Counts by status and type, oldest due age, failures and tokens in the last 24 h, and spend today
    /// and over seven days by persona and kind, with the budgets. Prints JSON.
    Stats,
}

#[derive(Subcommand)]
enum BoardsCommand {
    /// Open a board to video posts (or change its bounds); `--off` closes it. Prints JSON.
    Video {
        /// The board's slug.
        slug: String,
        /// The longest clip, in seconds (the models make 4, 6 or 8).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(i16).range(4..=8))]
        max_seconds: i16,
        /// The frame shapes it takes: 16:9, 9:16 or both.
        #[arg(long, value_delimiter = ',', default_value = "16:9,9:16", value_parser = ["16:9", "9:16"])]
        aspect: Vec<String>,
        /// Close the board to new video posts instead.
        #[arg(long, conflicts_with_all = ["max_seconds", "aspect"])]
        off: bool,
    },
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
    let cli = Cli::parse();
    // The demo and the simulator print their own progress; the engine's log would drown it.
    let quiet = matches!(cli.command, Command::Demo { .. } | Command::Simulate { .. });
    shared::telemetry::init_cli(if quiet { "warn" } else { "info" });
    match run(cli).await {
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
        .ok_or_else(|| anyhow!("DATABASE_URL is not set (see docs/configuration.md)"))
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn run(cli: Cli) -> Result<()> {
    let config = match &cli.command {
        Command::DevPostgres { command: DevPostgresCommand::Start { dir } } => {
            let cluster = LocalPostgres::start_fresh(dir, false)?;
            println!("DATABASE_URL={}", cluster.url("postgres"));
            cluster.detach();
            return Ok(());
        }
        Command::DevPostgres { command: DevPostgresCommand::Stop { dir } } => {
            LocalPostgres::stop_at(dir)?;
            return Ok(());
        }
        Command::Doctor { json } => return doctor(*json).await,
        _ => Config::from_env()?,
    };
    match cli.command {
        Command::Demo { hours } => return demo::run(&config, hours).await,
        Command::Simulate { hours, personas, seed, out } => {
            let args = simulate::Args {
                hours,
                personas: personas as usize,
                seed,
                out: out.unwrap_or_else(simulate::default_out),
            };
            return simulate::run(&config, args).await;
        }
        _ => {}
    }

    let url = database_url(&config)?;
    match cli.command {
        Command::Migrate { plan } => {
            let mut client = db::connect_one(&url, config.database.ca_cert.as_deref())
                .await
                .context("connecting to DATABASE_URL")?;
            if plan {
                return print_json(&db::migrate::plan(&mut client).await?);
            }
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
            let engine = Engine::from_config(&config, clock::system())?;
            let client = engine.pool.get().await.context("connecting to DATABASE_URL")?;
            let mut stats = serde_json::to_value(engine.queue.stats(&**client).await?)?;
            let spend = shared::spend::report(&**client, &config.budget, clock::system().now()).await?;
            stats["spend"] = serde_json::to_value(spend)?;
            print_json(&stats)
        }
        Command::Enqueue => {
            let engine = Engine::from_config(&config, clock::system())?;
            print_json(&shared::planner::tick(&engine, None).await?)
        }
        Command::Work { max_tasks } => {
            let engine = Engine::from_config(&config, clock::system())?;
            let max = max_tasks.unwrap_or(config.scheduler.max_tasks_per_tick);
            let report = shared::worker::drain(&engine, max, Budget::Unbounded).await;
            print_json(&report)?;
            if report.could_not_work() {
                return Err(anyhow!("no task could be claimed: {}", report.errors.join("; ")));
            }
            Ok(())
        }
        Command::Serve => serve(&config).await,
        Command::Audit { since, json } => audit::run(&config, &url, since, json).await,
        Command::Trends { json } => trends::run(&config, &url, json).await,
        Command::Trigger { kind, persona_id, post_id, comment_id, board_id, instructions, wait, dry_run } => {
            let engine = Engine::from_config(&config, clock::system())?;
            let kind = engine
                .kinds
                .get(&kind)
                .ok_or_else(|| anyhow!("unknown action {kind:?}: expected {}", engine.kinds.names().join(", ")))?;
            let request = TriggerRequest { persona_id, post_id, comment_id, board_id, instructions };
            if dry_run {
                return print_json(&operator::dry_run(&engine, kind, &request).await?);
            }
            let task = operator::trigger(&engine, kind, &request, Issuer::Cli).await?;
            if wait { print_json(&operator::run_now(&engine, task.id).await?) } else { print_json(&task) }
        }
        Command::Personas { command } => {
            let engine = Engine::from_config(&config, clock::system())?;
            personas::run(&engine, command).await
        }
        Command::Kinds => {
            let kinds: Vec<serde_json::Value> = shared::kinds::Registry::standard()
                .all()
                .iter()
                .map(|k| {
                    serde_json::json!({
                        "name": k.name(), "targets": k.target_fields(), "is_post": k.is_post(),
                        "session_word": k.verb().map(|v| v.word),
                    })
                })
                .collect();
            print_json(&kinds)
        }
        Command::Boards { command: BoardsCommand::Video { slug, max_seconds, aspect, off } } => {
            let engine = Engine::from_config(&config, clock::system())?;
            let client = engine.pool.get().await.context("connecting to DATABASE_URL")?;
            if off {
                let was_open = shared::db::video::close_board(&**client, &slug).await?;
                return print_json(&serde_json::json!({ "board": slug, "video": false, "was_open": was_open }));
            }
            let bounds = shared::db::video::BoardVideo { max_seconds, aspect_ratios: aspect };
            match shared::db::video::open_board(&**client, &slug, &bounds, clock::system().now()).await? {
                Some(id) => print_json(&serde_json::json!({ "board": slug, "board_id": id, "video": bounds })),
                None => anyhow::bail!("no board has the slug {slug:?}"),
            }
        }
        Command::RunTask { task_id } => {
            let engine = Engine::from_config(&config, clock::system())?;
            print_json(&operator::run_now(&engine, task_id).await?)
        }
        Command::DevPostgres { .. } | Command::Demo { .. } | Command::Simulate { .. } | Command::Doctor { .. } => {
            unreachable!("handled above")
        }
    }
}

/// Checks the deployment; fails (exit status 1) when a check failed.
async fn doctor(json: bool) -> Result<()> {
    let report = match Config::from_env() {
        Ok(config) => shared::doctor::run(&config, None).await,
        Err(e) => shared::doctor::DoctorReport::unreadable_configuration(&e),
    };
    if json {
        print_json(&report)?;
    } else {
        print!("{}", report.render());
    }
    if !report.ok {
        return Err(anyhow!("{} check(s) failed", report.count(shared::doctor::Level::Fail)));
    }
    Ok(())
}

/// The scheduler loop and the admin API in one process, until SIGINT or SIGTERM.
async fn serve(config: &Config) -> Result<()> {
    let engine = Engine::from_config(config, clock::system())?;
    drop(engine.pool.get().await.context("connecting to DATABASE_URL")?);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = config.scheduler.enabled.then(|| {
        tracing::info!(interval_ms = config.scheduler.interval.as_millis() as u64, "scheduler started");
        tokio::spawn(shared::runner::run_scheduler(engine.clone(), config.scheduler.interval, stop_rx.clone()))
    });
    if config.admin.api_key.is_none() {
        tracing::warn!("ADMIN_API_KEY is not set: the admin API answers /health only");
    }
    let address = (config.admin.host.as_str(), config.admin.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding the admin API to {}:{}", address.0, address.1))?;
    tracing::info!(address = %listener.local_addr()?, "admin API listening");
    let router = shared::admin::router(engine, config.admin.api_key.clone());
    let mut stop = stop_rx.clone();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = stop.changed().await;
    });
    let server = tokio::spawn(async move { server.await });

    shutdown_signal().await;
    tracing::info!("shutting down: finishing the batch in progress");
    let _ = stop_tx.send(true);
    if let Some(scheduler) = scheduler {
        let _ = scheduler.await;
    }
    server.await??;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
