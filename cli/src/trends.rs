//! `persona-engine trends`: what is trending, as the planner's latest tick computed it.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use shared::config::Config;
use shared::db::{self, trends::Trend};

use crate::personas::escaped;

pub async fn run(config: &Config, url: &str, json: bool) -> Result<()> {
    let client =
        db::connect_one(url, config.database.ca_cert.as_deref()).await.context("connecting to DATABASE_URL")?;
    let trends = db::trends::current(&client).await.context("reading the trends")?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "persona_weight": config.trends.persona_weight, "trends": trends })
            )?
        );
    } else {
        print!("{}", render(&trends, config.trends.persona_weight));
    }
    Ok(())
}

/// A table to read: topics come from people's and models' tags, so they are escaped for the terminal.
pub fn render(trends: &[Trend], weight: f64) -> String {
    if trends.is_empty() {
        return "Nothing is trending (the planner's tick computes trends; people must engage with a topic on at \
                least two posts in the last 48 hours).\n"
            .into();
    }
    let mut out = format!(
        "Trending now, by engagement per hour over the last 48 hours (persona engagement counts {weight}):\n\n"
    );
    let _ = writeln!(
        out,
        "{:>3}  {:<28} {:>9} {:>6}  {:>15}  {:>15}  since",
        "#", "topic", "velocity", "posts", "people ↑/💬", "personas ↑/💬"
    );
    for t in trends {
        let topic: String = escaped(&t.topic).chars().take(28).collect();
        let kind = if t.source == "board" { " (board)" } else { "" };
        let _ = writeln!(
            out,
            "{:>3}  {:<28} {:>9.2} {:>6}  {:>15}  {:>15}  {} (started by {}){kind}",
            t.rank,
            topic,
            t.velocity,
            t.posts,
            format!("{}/{}", t.people_upvotes, t.people_comments),
            format!("{}/{}", t.persona_upvotes, t.persona_comments),
            t.since.format("%Y-%m-%d %H:%M"),
            t.started_by
        );
    }
    out
}
