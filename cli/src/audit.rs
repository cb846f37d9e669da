//! `persona-engine audit`: the health of what personas published, on the database `DATABASE_URL`
//! names, whatever wrote it (Gemini or the offline writer). A report to read, or JSON.

use std::fmt::Write as _;

use anyhow::{Context, Result, anyhow};
use chrono::Duration;
use shared::audit::{self, Audit, Repeated, Summary, TextHealth};
use shared::clock;
use shared::config::Config;
use shared::db;

/// A period like `7d`, `36h`, `90m` or `2w`.
pub fn parse_period(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 =
        number.parse().map_err(|_| format!("{text:?} is not a period: a number then m, h, d or w (e.g. 7d, 36h)"))?;
    let period = match unit {
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => return Err(format!("{text:?}: the unit must be m, h, d or w (e.g. 7d, 36h)")),
    };
    match period {
        Some(p) if n > 0 && p <= Duration::days(3650) => Ok(p),
        _ => Err(format!("{text:?}: the period must be more than zero and at most ten years")),
    }
}

pub async fn run(config: &Config, url: &str, since: Duration, json: bool) -> Result<()> {
    let client =
        db::connect_one(url, config.database.ca_cert.as_deref()).await.context("connecting to DATABASE_URL")?;
    let now = clock::system().now();
    let report = audit::run(&client, now - since, now, config.limits.max_actions_per_hour, audit::MAX_TEXTS)
        .await
        .map_err(|e| anyhow!("reading what personas published: {e}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn repeated(list: &[Repeated]) -> String {
    if list.is_empty() {
        return "none repeated".into();
    }
    list.iter().map(|r| format!("\"{}\" ×{}", r.text, r.count)).collect::<Vec<_>>().join(", ")
}

fn latency(s: &Summary) -> String {
    if s.count == 0 {
        return "none".into();
    }
    format!("median {:.0} min (p10 {:.0}, p90 {:.0}, n {})", s.median, s.p10, s.p90, s.count)
}

fn hours(s: &Summary) -> String {
    if s.count == 0 {
        return "none ended".into();
    }
    format!("median {:.1} h (p10 {:.1}, p90 {:.1}, n {})", s.median, s.p10, s.p90, s.count)
}

fn health_lines(md: &mut String, h: &TextHealth) {
    let _ = writeln!(
        md,
        "| length (words) | median {:.0}, p10 {:.0}, p90 {:.0}, cv {:.2} |",
        h.length.median, h.length.p10, h.length.p90, h.length.cv
    );
    let _ = writeln!(md, "| em_dash_rate | {} |", pct(h.em_dash_rate));
    let _ = writeln!(md, "| stock_phrase_rate | {} |", pct(h.stock_phrase_rate));
    let _ = writeln!(md, "| list_rate | {} |", pct(h.list_rate));
    let _ = writeln!(md, "| markdown_rate | {} |", pct(h.markdown_rate));
    let _ = writeln!(md, "| question_ending_rate | {} |", pct(h.question_ending_rate));
    let _ = writeln!(md, "| says_ai / denies_ai | {} / {} |", h.says_ai, h.denies_ai);
    let _ = writeln!(md, "| distinct_bigram_ratio | {:.3} |", h.distinct_bigram_ratio);
    let _ = writeln!(md, "| distinct_sentence_ratio | {:.3} |", h.distinct_sentence_ratio);
    if let Some(r) = &h.most_repeated_sentence {
        let _ = writeln!(md, "| most repeated sentence | \"{}\" ×{} |", r.text.replace('|', "/"), r.count);
    }
    let _ = writeln!(md, "| top openings | {} |", repeated(&h.top_openings).replace('|', "/"));
    let _ = writeln!(md, "| top closings | {} |", repeated(&h.top_closings).replace('|', "/"));
}

/// The headline figures in a few lines, for the end of the demo.
pub fn headline(a: &Audit) -> String {
    let s = a.summary();
    format!(
        "Content health of the day (persona-engine audit): {} texts, median {:.0} words (cv {:.2}); \
         em-dashes {}, stock phrases {}, lists {}, ending on a question {}; {:.1} % of sentences distinct; \
         near-duplicates {} within and {} across personas, {} repeated word for word; activity gini {:.2}, {} of busy persona-hours at the \
         cap; people answered in a median {:.0} min, personas in {:.0} min.\n",
        s.texts,
        s.length_median,
        s.length_cv,
        pct(s.em_dash_rate),
        pct(s.stock_phrase_rate),
        pct(s.list_rate),
        pct(s.question_ending_rate),
        s.distinct_sentence_ratio * 100.0,
        s.near_duplicate_pairs,
        s.cross_persona_near_duplicates,
        pct(s.exact_duplicate_share),
        s.activity_gini,
        pct(s.at_cap_share),
        s.reply_minutes_to_people,
        s.reply_minutes_to_personas
    )
}

/// The audit as Markdown: readable in a terminal, and embedded in the simulator's report.
pub fn render(a: &Audit) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Content health, {} to {} UTC: {} texts by {} active personas.\n",
        a.since.format("%Y-%m-%d %H:%M"),
        a.until.format("%Y-%m-%d %H:%M"),
        a.overall.texts,
        a.activity.personas
    );
    let _ = writeln!(md, "| overall | |\n|---|---|");
    health_lines(&mut md, &a.overall);
    let d = &a.duplicates;
    let _ = writeln!(md, "| near_duplicate_pairs (same persona) | {} |", d.near_duplicate_pairs);
    let _ = writeln!(md, "| cross_persona_near_duplicates | {} |", d.cross_persona_near_duplicates);
    let _ = writeln!(md, "| exact_duplicate_share | {} |", pct(d.exact_duplicate_share));
    let _ = writeln!(md, "| activity_gini | {:.2} |", a.activity.activity_gini);
    let _ = writeln!(
        md,
        "| at_cap_share (persona-hours at {} actions) | {} |",
        a.activity.hourly_cap,
        pct(a.activity.at_cap_share)
    );
    let _ = writeln!(md, "| reply latency to people | {} |", latency(&a.reply_latency.to_people));
    let _ = writeln!(md, "| reply latency to personas | {} |", latency(&a.reply_latency.to_personas));
    let t = &a.trends;
    let _ = writeln!(md, "| tags per persona post | {:.1} ({} posts) |", t.tags_per_persona_post, t.persona_posts);
    let _ = writeln!(md, "| persona posts on a trending tag | {} |", pct(t.persona_posts_on_trend));
    let _ = writeln!(md, "| people's posts tagged | {} |", pct(t.people_posts_tagged));
    let _ =
        writeln!(md, "| trends started by people / personas | {} / {} |", t.started_by_people, t.started_by_personas);
    let _ = writeln!(md, "| hours a trend lasts | {} |", hours(&t.hours_trending));
    if !d.examples.is_empty() {
        let _ = writeln!(md, "\nNear-duplicates (at least {:.0} % alike):\n", d.threshold * 100.0);
        for p in &d.examples {
            let _ = writeln!(
                md,
                "- {:.0} %: @{}: \"{}\" / @{}: \"{}\"",
                p.similarity * 100.0,
                p.a_persona,
                p.a_text.replace('\n', " "),
                p.b_persona,
                p.b_text.replace('\n', " ")
            );
        }
    }
    let _ = writeln!(
        md,
        "\n| persona | actions | texts | median words | cv | em-dash | stock | list | ends on ? | own near-dups | top opening |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|");
    for p in &a.per_persona {
        let h = &p.text;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.0} | {:.2} | {} | {} | {} | {} | {} | {} |",
            p.username,
            p.actions,
            h.texts,
            h.length.median,
            h.length.cv,
            pct(h.em_dash_rate),
            pct(h.stock_phrase_rate),
            pct(h.list_rate),
            pct(h.question_ending_rate),
            p.near_duplicate_pairs,
            h.top_openings.first().map(|r| format!("\"{}\" ×{}", r.text, r.count)).unwrap_or_default()
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_or_say_what_was_wrong() {
        assert_eq!(parse_period("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_period("36h"), Ok(Duration::hours(36)));
        assert_eq!(parse_period("2w"), Ok(Duration::weeks(2)));
        assert!(parse_period("7").unwrap_err().contains("unit"));
        assert!(parse_period("d").unwrap_err().contains("not a period"));
        assert!(parse_period("0d").unwrap_err().contains("more than zero"));
        assert!(parse_period("99999999999999w").is_err());
    }
}
