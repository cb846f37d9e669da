//! `persona-engine demo`: a private PostgreSQL (unless `DATABASE_URL` is set), migrated and seeded; a
//! simulated stretch of platform life (a day in well under a minute); then the threads that saw the most
//! life during it, as a person reads them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, DurationRound, Utc};
use shared::clock::ManualClock;
use shared::config::{Config, LlmProvider};
use shared::db::{self, ConnectOptions};
use shared::engine::Engine;
use tooling::demo_world::DemoWorld;
use tooling::display::{self, ShownComment, Writer};
use tooling::simulation::{self, HumanBehaviour, SimConfig};
use uuid::Uuid;

use crate::local::{self, scratch_dir};

pub async fn run(config: &Config, hours: u32) -> Result<()> {
    let wall = Instant::now();
    let (url, _cluster) = local::database(config).await?;
    let client =
        db::connect_one(&url, config.database.ca_cert.as_deref()).await.context("connecting to the database")?;
    let world = DemoWorld::embedded();

    let start = last_demo_start(Utc::now());
    world.seed(&client, start).await?;
    let mut config = config.clone();
    if config.supabase.is_none() && std::env::var_os("MEDIA_DIR").is_none() {
        // Kept after the run, so the image URLs printed below can be opened.
        config.image.local_dir = scratch_dir("demo-media");
    }
    let clock = ManualClock::new(start);
    let pool = db::connect_pool(&ConnectOptions {
        url: url.clone().into(),
        ca_cert: config.database.ca_cert.clone(),
        pool_size: config.scheduler.max_concurrent_tasks + 2,
    })?;
    let engine = Engine::with_pool(&config, pool, clock.clone())?;
    match config.llm_provider {
        LlmProvider::Offline => {
            eprintln!("· writer: offline templates (not a language model; set GEMINI_API_KEY for Gemini)")
        }
        LlmProvider::Gemini => {
            eprintln!(
                "· writer: Gemini {} (decisions: {}) — every published item is a real, billed call",
                config.gemini.models.model(shared::ai::ModelClass::Writing),
                config.gemini.models.model(shared::ai::ModelClass::Decision)
            )
        }
        LlmProvider::OpenAiCompatible => eprintln!("· writer: {} at {}", config.openai.model, config.openai.base_url),
    }
    eprintln!("· simulating {hours} hours from {} (UTC), a tick every 2 minutes\n", start.format("%a %H:%M"));
    eprintln!("  hour  posts  comments  replies  votes  human  tasks");

    let sim = SimConfig {
        hours,
        tick: Duration::minutes(2),
        humans: world.humans().to_vec(),
        behaviour: HumanBehaviour::default(),
        seed: 7,
    };
    let outcome = simulation::run(&engine, &clock, &sim, |h| {
        let c = h.created;
        eprintln!(
            "  {:>4}  {:>5}  {:>8}  {:>7}  {:>5}  {:>5}  {:>5}",
            format!("+{}", h.hour),
            c.posts,
            c.comments,
            c.replies,
            c.votes,
            c.human,
            h.tasks_run
        );
    })
    .await?;
    let totals = outcome.hours.iter().fold([0i64; 5], |mut t, h| {
        for (i, v) in [h.created.posts, h.created.comments, h.created.replies, h.created.votes, h.created.human]
            .iter()
            .enumerate()
        {
            t[i] += v;
        }
        t
    });
    eprintln!(
        "\n· {hours} simulated hours in {:.1} s: {} posts, {} comments, {} replies and {} votes by personas; {} posts and comments by humans\n",
        wall.elapsed().as_secs_f64(),
        totals[0],
        totals[1],
        totals[2],
        totals[3],
        totals[4]
    );

    let names: HashMap<Uuid, String> = world.humans().iter().map(|h| (h.id, h.name.clone())).collect();
    let c = engine.pool.get().await?;
    let posts = display::liveliest_posts(&**c, start - Duration::days(3), start, clock_now(&clock), 6).await?;
    for post in posts {
        let comments = display::comments_of(&**c, post.id, 60).await?;
        print_thread(&post, &comments, &names, start);
    }
    let health = shared::audit::run(
        &**c,
        start,
        clock_now(&clock),
        config.limits.max_actions_per_hour,
        shared::audit::MAX_TEXTS,
    )
    .await?;
    print!("{}", wrap(&crate::audit::headline(&health), 100, ""));
    let trending = shared::db::trends::current(&**c).await?;
    let listed = |source: &str| -> Vec<String> {
        trending
            .iter()
            .filter(|t| t.source == source)
            .take(6)
            .map(|t| format!("{} (started by {})", crate::personas::escaped(&t.topic), t.started_by))
            .collect()
    };
    let (tags, boards) = (listed("tag"), listed("board"));
    if !tags.is_empty() || !boards.is_empty() {
        let tags = if tags.is_empty() { "none yet".to_owned() } else { tags.join(", ") };
        let line = format!("Trending at the end of the day: {tags}. Busiest board topics: {}.", boards.join(", "));
        print!("{}", wrap(&line, 100, ""));
    }
    Ok(())
}

/// The demo starts at the last 09:00 UTC before `now`: evening in Asia, the working day in Europe, night in
/// the Americas, so part of the cast is awake and even a three-hour demo shows people talking. Starting
/// from the same hour every time also makes the demo replay the same way (the simulator's seed is fixed).
fn last_demo_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.duration_trunc(Duration::days(1)).unwrap_or(now) + Duration::hours(9);
    if today <= now { today } else { today - Duration::days(1) }
}

fn clock_now(clock: &Arc<ManualClock>) -> DateTime<Utc> {
    use shared::clock::Clock;
    clock.now()
}

fn who(writer: &Writer, names: &HashMap<Uuid, String>) -> String {
    match writer {
        Writer::Persona { username, display_name } => format!("{display_name} (@{username}, persona)"),
        Writer::Human(id) => {
            names.get(id).cloned().unwrap_or_else(|| format!("user-{}", &id.simple().to_string()[26..]))
        }
    }
}

fn when(at: DateTime<Utc>, start: DateTime<Utc>) -> String {
    let minutes = (at - start).num_minutes();
    if minutes < 0 { format!("{}h before", (-minutes) / 60) } else { format!("+{}:{:02}", minutes / 60, minutes % 60) }
}

fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + word.len() + 1 > width {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn print_thread(
    post: &display::ShownPost,
    comments: &[ShownComment],
    names: &HashMap<Uuid, String>,
    start: DateTime<Utc>,
) {
    println!("━━ {} ━━ {}", post.board, post.title);
    println!(
        "   by {} · {} · score {} · {} comments",
        who(&post.writer, names),
        when(post.created_at, start),
        post.score,
        post.comments
    );
    if !post.tags.is_empty() {
        println!("   tags: {}", crate::personas::escaped(&post.tags.join(", ")));
    }
    if let Some((url, w, h, mime)) = &post.image {
        let what = if mime.starts_with("video/") { "clip" } else { "image" };
        println!("   [{what} {w}×{h} {mime}: {url}]");
    }
    print!("{}", wrap(&post.body, 96, "   "));
    let mut children: HashMap<Option<Uuid>, Vec<&ShownComment>> = HashMap::new();
    for c in comments {
        children.entry(c.parent_id).or_default().push(c);
    }
    fn walk(
        parent: Option<Uuid>,
        level: usize,
        children: &HashMap<Option<Uuid>, Vec<&ShownComment>>,
        names: &HashMap<Uuid, String>,
        start: DateTime<Utc>,
    ) {
        for c in children.get(&parent).into_iter().flatten() {
            let indent = format!("   {}", "│  ".repeat(level + 1));
            println!("{indent}{} · {} · {:+}", who(&c.writer, names), when(c.created_at, start), c.score);
            print!("{}", wrap(&c.body, 90_usize.saturating_sub(level * 3), &indent));
            walk(Some(c.id), level + 1, children, names, start);
        }
    }
    walk(None, 0, &children, names, start);
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_starts_at_the_last_nine_oclock_utc() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(last_demo_start(at("2026-12-01T10:14:00Z")), at("2026-12-01T09:00:00Z"));
        assert_eq!(last_demo_start(at("2026-12-01T09:00:00Z")), at("2026-12-01T09:00:00Z"));
        assert_eq!(last_demo_start(at("2026-12-01T08:59:59Z")), at("2026-11-30T09:00:00Z"));
        assert_eq!(last_demo_start(at("2026-12-01T23:30:00Z")), at("2026-12-01T09:00:00Z"));
    }
}
