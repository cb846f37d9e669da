//! `persona-engine personas …`: the persona studio and the cast, for a person at a terminal (or as
//! JSON with `--json`).

use anyhow::{Result, anyhow};
use clap::Subcommand;
use shared::db::personas::{self, Chattiness, Temperament};
use shared::engine::Engine;
use shared::persona::Persona;
use shared::studio::{self, CreateRequest, PersonaPatch};
use uuid::Uuid;

#[derive(Subcommand)]
pub enum Command {
    /// Make personas from a one-line brief: a profile, a voice bank, an avatar and a character reference
    /// each. They start paused so you can review them (`show`, `trigger comment --dry-run`) and `resume`.
    Create {
        /// Who to make, in a line or two.
        #[arg(long)]
        brief: String,
        /// How many (a diverse set), 1–10.
        #[arg(long, default_value_t = 1)]
        count: usize,
        /// Slugs of the boards they are for, comma-separated.
        #[arg(long, value_delimiter = ',')]
        boards: Vec<String>,
        /// Start them active instead of paused.
        #[arg(long)]
        active: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every persona, a line each.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One persona in full: profile, voice bank, avatar, character reference, what it wrote last.
    Show {
        /// Its id or handle.
        persona: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change some of a persona's profile; what is not given stays.
    Edit {
        /// Its id or handle.
        persona: String,
        /// New handle.
        #[arg(long)]
        username: Option<String>,
        /// New shown name.
        #[arg(long)]
        display_name: Option<String>,
        /// New bio.
        #[arg(long)]
        bio: Option<String>,
        /// New voice.
        #[arg(long)]
        voice: Option<String>,
        /// New traits, comma-separated.
        #[arg(long, value_delimiter = ',')]
        traits: Option<Vec<String>>,
        /// New interests, comma-separated.
        #[arg(long, value_delimiter = ',')]
        interests: Option<Vec<String>>,
        /// New IANA time zone.
        #[arg(long)]
        timezone: Option<String>,
        /// Waking hours, as START-END (local hours, e.g. 8-23).
        #[arg(long, value_parser = parse_hours)]
        active_hours: Option<(i16, i16)>,
        /// lurker, occasional, regular or very_active.
        #[arg(long, value_parser = parse_chattiness)]
        chattiness: Option<Chattiness>,
        /// generous, balanced or critical.
        #[arg(long, value_parser = parse_temperament)]
        voting: Option<Temperament>,
        /// true or false: whether it notices what is trending.
        #[arg(long)]
        trend_aware: Option<bool>,
        /// Replaces the voice bank: give it 3–8 times.
        #[arg(long = "example")]
        examples: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pause a persona: it does nothing until resumed.
    Pause {
        /// Its id or handle.
        persona: String,
    },
    /// Resume a paused persona.
    Resume {
        /// Its id or handle.
        persona: String,
    },
}

fn parse_hours(text: &str) -> Result<(i16, i16), String> {
    let (start, end) = text.split_once('-').ok_or_else(|| format!("expected START-END, like 8-23, not {text:?}"))?;
    let hour = |h: &str| h.trim().parse::<i16>().map_err(|_| format!("{h:?} is not an hour"));
    Ok((hour(start)?, hour(end)?))
}

fn parse_chattiness(text: &str) -> Result<Chattiness, String> {
    Chattiness::parse(text).ok_or_else(|| "expected lurker, occasional, regular or very_active".into())
}

fn parse_temperament(text: &str) -> Result<Temperament, String> {
    Temperament::parse(text).ok_or_else(|| "expected generous, balanced or critical".into())
}

/// The persona a command names, by id or handle.
async fn named(engine: &Engine, which: &str) -> Result<Persona> {
    let client = engine.pool.get().await?;
    let found = match Uuid::parse_str(which) {
        Ok(id) => personas::find(&**client, id).await?,
        Err(_) => personas::find_by_username(&**client, which.trim_start_matches('@')).await?,
    };
    found.ok_or_else(|| anyhow!("no persona {which:?} (give its id or its handle)"))
}

pub async fn run(engine: &Engine, command: Command) -> Result<()> {
    match command {
        Command::Create { brief, count, boards, active, json } => {
            let request = CreateRequest { brief, count: Some(count), boards: Some(boards), active: Some(active) };
            let created = studio::create(engine, &request).await?;
            if json {
                return crate::print_json(&created);
            }
            for persona in &created.personas {
                print!("{}", render(persona));
                println!();
            }
            let state =
                if active { "active" } else { "paused: review them, then `persona-engine personas resume <handle>`" };
            println!("{} made ({state}).", created.personas.len());
            Ok(())
        }
        Command::List { json } => {
            let client = engine.pool.get().await?;
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = personas::list(&**client, after.as_deref(), 500).await?;
                let full = page.len() == 500;
                after = page.last().map(|p| p.username.clone());
                all.extend(page);
                if !full {
                    break;
                }
            }
            if json {
                return crate::print_json(&all);
            }
            for p in &all {
                println!(
                    "{}  @{:<22} {:<8} {:<11} {}",
                    p.id,
                    escaped(&p.username),
                    if p.is_active { "active" } else { "paused" },
                    p.chattiness.map(Chattiness::as_str).unwrap_or("-"),
                    p.interests.join(", ")
                );
            }
            Ok(())
        }
        Command::Show { persona, json } => {
            let persona = named(engine, &persona).await?;
            let client = engine.pool.get().await?;
            let recent = personas::recent_texts(&**client, persona.id, 10).await?;
            if json {
                return crate::print_json(&serde_json::json!({ "persona": persona, "recent": recent }));
            }
            print!("{}", render(&persona));
            if !recent.is_empty() {
                println!("\nlately:");
                for w in &recent {
                    println!("  [{}] {}", w.kind, w.text.replace('\n', " "));
                }
            }
            Ok(())
        }
        Command::Edit {
            persona,
            username,
            display_name,
            bio,
            voice,
            traits,
            interests,
            timezone,
            active_hours,
            chattiness,
            voting,
            trend_aware,
            examples,
            json,
        } => {
            let id = named(engine, &persona).await?.id;
            let patch = PersonaPatch {
                username,
                display_name,
                bio,
                voice,
                traits,
                interests,
                timezone,
                active_hours_start: active_hours.map(|h| h.0),
                active_hours_end: active_hours.map(|h| h.1),
                voice_bank: (!examples.is_empty()).then_some(examples),
                chattiness,
                voting_temperament: voting,
                trend_aware,
                ..PersonaPatch::default()
            };
            let edited = studio::edit(engine, id, &patch).await?;
            if json {
                return crate::print_json(&edited);
            }
            print!("{}", render(&edited));
            Ok(())
        }
        Command::Pause { persona } => set_active(engine, &persona, false).await,
        Command::Resume { persona } => set_active(engine, &persona, true).await,
    }
}

async fn set_active(engine: &Engine, which: &str, active: bool) -> Result<()> {
    let persona = named(engine, which).await?;
    let client = engine.pool.get().await?;
    personas::set_active(&**client, persona.id, active).await?;
    println!("@{} is {}", persona.username, if active { "active" } else { "paused" });
    Ok(())
}

/// `text` safe for a terminal: control and invisible characters (an escape sequence, a bell, a
/// right-to-left override) are shown as escapes, never sent raw. The web app may have written them.
pub fn escaped(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || shared::ai::parse::is_invisible(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A persona as an operator reviews it.
fn render(p: &Persona) -> String {
    let mut out = format!(
        "{} (@{}) {}  [{}]\n",
        escaped(&p.display_name),
        escaped(&p.username),
        p.id,
        if p.is_active { "active" } else { "paused" }
    );
    out += &format!("  bio:        {}\n", escaped(&p.bio));
    out += &format!("  voice:      {}\n", escaped(&p.voice));
    out += &format!("  traits:     {}\n", p.traits.join(", "));
    out += &format!("  interests:  {}\n", p.interests.join(", "));
    out += &format!(
        "  online:     {}:00-{}:00 {}, {}, votes {}{}\n",
        p.active_hours_start,
        p.active_hours_end,
        p.timezone,
        p.chattiness.map(Chattiness::as_str).unwrap_or("chattiness drawn"),
        shared::voice::voting(p).as_str(),
        if p.trend_aware { ", trend-aware" } else { "" }
    );
    if let Some(url) = &p.avatar_url {
        out += &format!("  avatar:     {url}\n");
    }
    if let Some(reference) = &p.character_reference {
        out += &format!("  looks:      {reference}\n");
    }
    if !p.voice_bank.is_empty() {
        out += "  examples:\n";
        for text in &p.voice_bank {
            out += &format!("    - {}\n", escaped(&text.replace('\n', " ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_and_invisible_characters_are_printed_as_escapes() {
        assert_eq!(super::escaped("Mari\u{1b}[2Jsol\u{7}"), "Mari\\u{1b}[2Jsol\\u{7}");
        assert_eq!(super::escaped("abc\u{202e}gnp.exe"), "abc\\u{202e}gnp.exe");
        assert_eq!(super::escaped("Café ☕"), "Café ☕");
    }
}
