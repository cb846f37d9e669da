//! `persona-engine simulate`: the planner and the worker on a simulated clock (offline writer unless a
//! provider is configured), simulated people who post and answer personas, and a report — Markdown,
//! JSON and PNG charts — to tune realism by looking.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{Duration, TimeZone, Utc};
use shared::clock::ManualClock;
use shared::config::Config;
use shared::db::{self, ConnectOptions, Type};
use shared::engine::Engine;
use tooling::demo_world::{DemoWorld, synthetic_personas};
use tooling::simulation::report::{SimReport, Summary, measure};
use tooling::simulation::{self, HumanBehaviour, SimConfig};

use crate::{charts, local};

/// What to simulate and where the report goes.
pub struct Args {
    pub hours: u32,
    pub personas: usize,
    pub seed: u64,
    pub out: PathBuf,
}

pub async fn run(config: &Config, args: Args) -> Result<()> {
    let wall = Instant::now();
    let (url, _cluster) = local::database(config).await?;
    // A fixed start: the same seed gives the same simulated day, whenever it is run.
    let start = Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).single().context("start time")?;
    let world = DemoWorld::embedded();
    let client = db::connect_one(&url, config.database.ca_cert.as_deref()).await?;
    world.seed(&client, start).await?;
    let demo: Vec<&str> = world.persona_usernames().collect();
    if args.personas > demo.len() {
        let extra = synthetic_personas(&world, args.personas - demo.len(), args.seed);
        tooling::seed::insert_personas(&client, &extra, start).await?;
    } else {
        let paused: Vec<&str> = demo[args.personas..].to_vec();
        client
            .query_typed(
                "UPDATE personas SET is_active = false WHERE username = ANY($1)",
                &[(&paused, Type::TEXT_ARRAY)],
            )
            .await?;
    }

    // One task at a time, ids drawn from the seed: a run replays exactly.
    let mut config = config.clone();
    config.scheduler.max_concurrent_tasks = 1;
    if config.supabase.is_none() && std::env::var_os("MEDIA_DIR").is_none() {
        config.image.local_dir = local::scratch_dir("simulation-media");
    }
    let clock = ManualClock::new(start);
    let pool =
        db::connect_pool(&ConnectOptions { url: url.into(), ca_cert: config.database.ca_cert.clone(), pool_size: 4 })?;
    let mut engine = Engine::with_pool(&config, pool, clock.clone())?;
    engine.settings.rng_salt = args.seed;
    eprintln!(
        "· simulating {} hours with {} personas (seed {}, writer: {})",
        args.hours,
        args.personas,
        args.seed,
        engine.model.provider_name()
    );

    let sim = SimConfig {
        hours: args.hours,
        tick: Duration::minutes(2),
        humans: world.humans().to_vec(),
        behaviour: HumanBehaviour::default(),
        seed: args.seed,
    };
    let outcome = simulation::run(&engine, &clock, &sim, |h| {
        if h.hour % 6 == 0 {
            eprintln!("  +{}h: {} tasks this hour", h.hour, h.tasks_run);
        }
    })
    .await?;
    let report =
        measure(&**engine.pool.get().await?, &outcome, args.seed, args.personas, &engine.settings.limits).await?;

    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    std::fs::write(args.out.join("report.json"), serde_json::to_string_pretty(&report)?)?;
    let charts = charts::write_all(&report, &args.out);
    if let Err(e) = &charts {
        eprintln!("warning: charts not written: {e:#}");
    }
    std::fs::write(
        args.out.join("report.md"),
        markdown(&report, &args, engine.config.disclosure.mode, charts.is_ok()),
    )?;
    eprintln!(
        "· done in {:.1} s: {} (report.md, report.json, charts)",
        wall.elapsed().as_secs_f64(),
        args.out.display()
    );
    println!("{}", args.out.join("report.md").display());
    Ok(())
}

fn row(name: &str, s: &Summary) -> String {
    format!("| {name} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |\n", s.count, s.p10, s.median, s.mean, s.p90, s.max)
}

fn markdown(r: &SimReport, args: &Args, disclosure: shared::disclosure::Disclosure, charts: bool) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Simulation report\n");
    let _ = writeln!(
        md,
        "`persona-engine simulate --hours {} --personas {} --seed {}` — {} to {} (simulated), {} active personas, simulated people posting and answering.\n",
        args.hours,
        args.personas,
        args.seed,
        r.started.format("%Y-%m-%d %H:%M"),
        r.ended.format("%Y-%m-%d %H:%M UTC"),
        r.personas
    );
    let t = &r.totals;
    let _ = writeln!(
        md,
        "## Totals\n\n| posts | comments | replies | votes | by people |\n|---|---|---|---|---|\n| {} | {} | {} | {} | {} |\n",
        t.posts, t.comments, t.replies, t.votes, t.human
    );
    if charts {
        let _ = writeln!(md, "## Actions per hour\n\n![actions per hour](actions_per_hour.png)\n");
    }
    let _ = writeln!(
        md,
        "| hour | posts | comments | replies | votes | by people | tasks run |\n|---|---|---|---|---|---|---|"
    );
    for h in &r.per_hour {
        let c = &h.created;
        let _ = writeln!(
            md,
            "| +{} | {} | {} | {} | {} | {} | {} |",
            h.hour, c.posts, c.comments, c.replies, c.votes, c.human, h.tasks_run
        );
    }
    let _ = writeln!(
        md,
        "\n## Timing (minutes)\n\n| | n | p10 | median | mean | p90 | max |\n|---|---|---|---|---|---|---|"
    );
    md.push_str(&row("first persona comment after a post", &r.first_comment_minutes));
    md.push_str(&row("persona reply to a person", &r.reply_minutes_to_people));
    md.push_str(&row("persona reply to a persona", &r.reply_minutes_to_personas));
    if charts {
        let _ =
            writeln!(md, "\n![first-comment delay](first_comment_delay.png)\n\n![reply latency](reply_latency.png)");
    }
    let _ = writeln!(md, "\n## Threads\n\n| deepest reply | threads |\n|---|---|");
    for (depth, n) in &r.thread_depths {
        let _ = writeln!(md, "| {depth} | {n} |");
    }
    if charts {
        let _ = writeln!(md, "\n![thread depth](thread_depth.png)");
    }
    let rc = &r.reciprocity;
    let _ = writeln!(
        md,
        "\n## Reciprocity\n\nPeople answered personas {} times (replies to their comments, comments on their posts); the persona answered back {} times: **{:.0} %** (measured AI-only networks: about 3 %; human platforms: 22–60 %).\n",
        rc.human_replies,
        rc.answered,
        rc.rate * 100.0
    );
    let ai = &r.asked_if_ai;
    let _ = writeln!(
        md,
        "## Asked if they are AI\n\nPeople sincerely asked a persona whether it is an AI {} times \
         (`PERSONA_DISCLOSURE={}`): {} answers said yes, {} denied it, {} said neither, {} went unanswered.\n",
        ai.asked, disclosure, ai.honest, ai.denied, ai.neither, ai.unanswered
    );
    let tr = &r.audit.trends;
    let lasted = if tr.hours_trending.count == 0 {
        "none has ended yet".to_owned()
    } else {
        format!(
            "the {} that ended lasted a median {:.1} h (p90 {:.1} h)",
            tr.hours_trending.count, tr.hours_trending.median, tr.hours_trending.p90
        )
    };
    let _ = writeln!(
        md,
        "## Tags and trends\n\nPersona posts carried {:.1} tags each ({} posts); {:.0} % of them carried a tag that \
         was trending when they were posted. {:.0} % of people's posts had tags. {} topics trended, {} started by a \
         person's post and {} by a persona's (people must engage for either to trend); {lasted}.\n",
        tr.tags_per_persona_post,
        tr.persona_posts,
        tr.persona_posts_on_trend * 100.0,
        tr.people_posts_tagged * 100.0,
        tr.trends,
        tr.started_by_people,
        tr.started_by_personas
    );
    let clips = &r.clips;
    if clips.published > 0 {
        let _ = writeln!(
            md,
            "## Clips\n\n{} clips published. Looks at the provider a clip: median {:.0}, at most {:.0}; minutes from \
             asking for it to publishing it: median {:.0}, at most {:.0}; ${:.2} a clip at list price (its seconds, start \
             frame and text).\n",
            clips.published,
            clips.polls.median,
            clips.polls.max,
            clips.minutes.median,
            clips.minutes.max,
            clips.usd_per_clip
        );
    }
    let ch = &r.choosing;
    let act = &r.audit.activity;
    let threads: usize = r.thread_depths.values().sum();
    let flat = r.thread_depths.get(&0).copied().unwrap_or(0);
    let _ = writeln!(
        md,
        "## Choosing\n\nPersonas came by in {} sessions; {} of them ({:.0} %) chose nothing. {} relationships saw an \
         interaction ({} warm, {} cold; {} friends and {} rivals: affinity at least 0.5 either way after three or \
         more interactions).\n\n{}\n\
         ## Against the baselines\n\nMoltbook (an AI-only network) from arXiv 2602.20044, 2602.07667 and \
         2604.13052; the human range for reciprocity from the same studies.\n\n\
         | | here | human platforms | Moltbook (AI-only) |\n|---|---|---|---|\n\
         | reciprocity to people | {:.0} % ({} of {}) | 22–60 % | 1–3.3 % |\n\
         | comments never replied to | {:.1} % ({} of {}) | | 93.5 % |\n\
         | authors back in their own threads others joined | {:.0} % ({} of {}) | | 8.6 % |\n\
         | median first comment after a post | {:.0} min | | 55 s |\n\
         | flat threads (top-level comments nobody answered) | {:.1} % ({} of {}) | | 85.6 % |\n\
         | activity Gini across personas | {:.2} | uneven (a few regulars) | 0.60 (posting) |\n\
         | active persona-hours at the hourly cap | {:.1} % | | |\n\
         | texts repeating another word for word | {:.1} % | | 34.1 % |\n\
         | near-duplicate pairs within / across personas | {} / {} | | |\n\
         | sessions that chose nothing | {:.0} % | most visits (lurking) | |\n",
        ch.sessions,
        ch.chose_nothing,
        ch.nothing_share * 100.0,
        ch.relationships.all,
        ch.relationships.warm,
        ch.relationships.cold,
        ch.relationships.friends,
        ch.relationships.rivals,
        targets(r),
        rc.rate * 100.0,
        rc.answered,
        rc.human_replies,
        rc.never_answered_share * 100.0,
        rc.never_answered,
        rc.comments,
        ch.return_rate * 100.0,
        ch.authors_returned,
        ch.threads_joined,
        r.first_comment_minutes.median,
        if threads > 0 { flat as f64 * 100.0 / threads as f64 } else { 0.0 },
        flat,
        threads,
        act.activity_gini,
        act.at_cap_share * 100.0,
        r.audit.duplicates.exact_duplicate_share * 100.0,
        r.audit.duplicates.near_duplicate_pairs,
        r.audit.duplicates.cross_persona_near_duplicates,
        ch.nothing_share * 100.0,
    );
    let caps = &r.caps;
    let _ = writeln!(
        md,
        "## Activity against the caps\n\nLimits: {} actions per hour, {} posts per day. Over the hourly cap: {}. Over the daily cap: {}.\n",
        caps.actions_per_hour,
        caps.posts_per_day,
        if caps.over_hourly.is_empty() { "none".to_owned() } else { caps.over_hourly.join(", ") },
        if caps.over_daily.is_empty() { "none".to_owned() } else { caps.over_daily.join(", ") }
    );
    let _ = writeln!(
        md,
        "| persona | posts | comments | replies | votes | most in an hour | most posts in a day |\n|---|---|---|---|---|---|---|"
    );
    for p in &r.per_persona {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            p.username, p.posts, p.comments, p.replies, p.votes, p.max_actions_in_an_hour, p.max_posts_in_a_day
        );
    }
    let _ = writeln!(
        md,
        "\n## Content health\n\nWhat `persona-engine audit` reports for the simulated period (docs/behaviour.md: Content health).\n\n{}",
        crate::audit::render(&r.audit)
    );
    let _ = writeln!(
        md,
        "## Prompt size\n\nEstimated input tokens per model request (4 characters a token), by kind; every text \
         prompt is held to 1,200. {} votes were settled by the persona's interests without a model call.\n\n\
         | kind | prompts | p50 | p95 | max |\n|---|---|---|---|---|",
        r.settled_without_model
    );
    for (kind, s) in &r.prompt_tokens {
        let _ = writeln!(md, "| {kind} | {} | {:.0} | {:.0} | {:.0} |", s.count, s.median, s.p95, s.max);
    }
    let cost = &r.cost;
    let models: Vec<String> = cost.models.iter().map(|(class, model)| format!("{class} `{model}`")).collect();
    let _ = writeln!(
        md,
        "\n## Cost at list price\n\nThe period's model work priced at each class's default model ({}; one \
         image per image post), Google's prices as of {}: **${:.2} per 1,000 published actions** ({} actions, \
         ${:.4} in all), of which browsing sessions add ${:.2} and clips ${:.2}; {:.2} model calls per published \
         action. Tokens are the engine's estimates (4 characters a token) of the prompts it built and the answers \
         it used, regenerations counted; thinking is left out. \"Written ahead\": published from the text its \
         session wrote, with no call of its own. Per call, against OASIS's 3,356 in and 168 out per agent step:\n\n\
         | kind | tasks | published | calls | written ahead | in p50 | in p95 | in max | out p50 | out p95 | out max | USD |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|",
        models.join(", "),
        cost.prices_as_of,
        cost.usd_per_1000_actions,
        cost.actions,
        cost.usd,
        cost.sessions_usd_per_1000_actions,
        cost.video_usd_per_1000_actions,
        cost.calls_per_action,
    );
    for (kind, k) in &cost.by_kind {
        let (i, o) = (&k.input_tokens, &k.output_tokens);
        let _ = writeln!(
            md,
            "| {kind} | {} | {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.4} |",
            k.tasks, k.published, k.model_calls, k.written_ahead, i.median, i.p95, i.max, o.median, o.p95, o.max, k.usd
        );
    }
    let _ = writeln!(md, "\nThe same work with other models:\n\n| models | USD per 1,000 actions |\n|---|---|");
    let _ = writeln!(md, "| the defaults | {:.2} |", cost.usd_per_1000_actions);
    for alternative in &cost.alternatives {
        let _ = writeln!(md, "| {} | {:.2} |", alternative.label, alternative.usd_per_1000_actions);
    }
    let caching = &cost.caching;
    let _ = writeln!(
        md,
        "\nImplicit caching: Gemini bills a repeated prefix at the cached rate once it is at least {} tokens long \
         (the 3.x Flash models; 2,048 on 2.5, per Google's caching page as `../shared/reference/realism-and-cost.md` \
         records it). The longest stable prefix here (a persona's system turn) is {} tokens, so {:.0} % of input \
         would be billed as cached; the ledger records what Gemini reports (`cached_tokens`).",
        caching.minimum_prefix_tokens,
        caching.longest_prefix_tokens,
        caching.cached_share * 100.0
    );
    md
}

/// The figures the personas' choices are held to, each beside its target (docs/behaviour.md: Sessions, Voices).
fn targets(r: &SimReport) -> String {
    let pct = |a: i64, b: i64| if b > 0 { a as f64 * 100.0 / b as f64 } else { 0.0 };
    let (rc, v, d) = (&r.reciprocity, &r.votes, &r.audit.duplicates);
    let rel = &r.choosing.relationships;
    let met = |ok: bool| if ok { "met" } else { "**missed**" };
    let answered = rc.rate * 100.0;
    let down = pct(v.down, v.all);
    let on_comments = pct(v.on_comments, v.all);
    let distinct = r.audit.overall.distinct_sentence_ratio * 100.0;
    let mut md = String::from("## Against the targets\n\n| | here | target | |\n|---|---|---|---|\n");
    let mut row = |name: &str, here: String, target: &str, ok: bool| {
        let _ = writeln!(md, "| {name} | {here} | {target} | {} |", met(ok));
    };
    row(
        "people answered",
        format!("{answered:.0} % ({} of {})", rc.answered, rc.human_replies),
        "40–75 % (human platforms 22–60 %)",
        (40.0..=75.0).contains(&answered),
    );
    row(
        "answers to people a session chose",
        format!(
            "{:.0} % ({} of {})",
            pct(rc.answers_chosen_in_session, rc.answers),
            rc.answers_chosen_in_session,
            rc.answers
        ),
        "all",
        rc.answers_chosen_in_session == rc.answers,
    );
    row("persona votes down", format!("{down:.1} % ({} of {})", v.down, v.all), "5–20 %", (5.0..=20.0).contains(&down));
    row(
        "persona votes on comments",
        format!("{on_comments:.0} % ({})", v.on_comments),
        "≥ 33 %",
        on_comments >= 100.0 / 3.0,
    );
    row("votes on their own content", v.on_own.to_string(), "0", v.on_own == 0);
    row(
        "cross-persona near-duplicates",
        d.cross_persona_near_duplicates.to_string(),
        "0",
        d.cross_persona_near_duplicates == 0,
    );
    row(
        "friends / rivals",
        format!("{} / {}", rel.friends, rel.rivals),
        "both, settling over a week",
        rel.friends > 0 && rel.rivals > 0,
    );
    row("distinct sentences", format!("{distinct:.1} %"), "≥ 95 %", distinct >= 95.0);
    md
}

/// Where the report goes by default.
pub fn default_out() -> PathBuf {
    local::scratch_dir("simulation")
}
