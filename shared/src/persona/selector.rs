//! Picking the personas most likely to engage with a post or a board: interest overlap with the board's
//! topics and the post's words, never the author, never one that already engaged the target, only with
//! rate budget left and awake in its own time zone — then weighted randomness from a seedable RNG.

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;
use rand::Rng;
use uuid::Uuid;

use super::Persona;
use crate::db::personas::Candidate;

/// What the personas are picked for.
#[derive(Debug, Clone, Default)]
pub struct Target<'a> {
    /// The board's topics.
    pub topics: &'a [String],
    /// The post's (or comment's) words.
    pub text: &'a str,
    /// Who wrote it (never picked).
    pub author: Option<Uuid>,
    /// An original post is asked for: the daily post cap applies too.
    pub wants_post: bool,
}

/// The per-persona limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `PERSONA_MAX_ACTIONS_PER_HOUR`.
    pub actions_per_hour: u32,
    /// `PERSONA_MAX_POSTS_PER_DAY`.
    pub posts_per_day: u32,
}

/// The hour of the day at `now` in `timezone` (UTC when the zone is unknown).
pub fn local_hour(timezone: &str, now: DateTime<Utc>) -> u32 {
    match timezone.parse::<Tz>() {
        Ok(tz) => now.with_timezone(&tz).hour(),
        Err(_) => now.hour(),
    }
}

/// Whether the persona is awake at `now`: between its start and end hour, local time (an end before the
/// start means the day runs past midnight).
pub fn is_awake(persona: &Persona, now: DateTime<Utc>) -> bool {
    let hour = local_hour(&persona.timezone, now) as i16;
    let (start, end) = (persona.active_hours_start, persona.active_hours_end);
    if start <= end { hour >= start && hour < end } else { hour >= start || hour < end }
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2).map(str::to_lowercase).collect()
}

/// How well `persona` fits `target`: 1 plus 3 per interest among the topics plus 1 per interest in the
/// text (an interest matches a topic or word that contains it, or that it contains).
pub fn affinity(persona: &Persona, target: &Target<'_>) -> f64 {
    let topics: Vec<String> = target.topics.iter().map(|t| t.to_lowercase()).collect();
    let text = words(target.text);
    let mut score = 1.0;
    for interest in &persona.interests {
        let interest = interest.to_lowercase();
        if topics.iter().any(|t| t.contains(&interest) || interest.contains(t.as_str())) {
            score += 3.0;
        }
        let parts = words(&interest);
        if !parts.is_empty() && parts.iter().all(|p| text.iter().any(|w| w.starts_with(p.as_str()))) {
            score += 1.0;
        }
    }
    score
}

/// Whether `candidate` may be picked for `target` at `now`, and if not, why.
pub fn exclusion(
    candidate: &Candidate,
    target: &Target<'_>,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    if !candidate.persona.is_active {
        Some("paused")
    } else if target.author == Some(candidate.persona.id) {
        Some("author")
    } else if candidate.engaged {
        Some("already engaged")
    } else if candidate.activity.actions_last_hour >= i64::from(limits.actions_per_hour) {
        Some("hourly limit")
    } else if target.wants_post && candidate.activity.posts_last_day >= i64::from(limits.posts_per_day) {
        Some("daily post limit")
    } else if !is_awake(&candidate.persona, now) {
        Some("asleep")
    } else {
        None
    }
}

/// Up to `count` personas for `target`, best fits most likely, drawn without replacement with weights
/// `affinity²` (Efraimidis–Spirakis keys), so the same RNG seed gives the same pick.
pub fn select(
    candidates: &[Candidate],
    target: &Target<'_>,
    limits: &Limits,
    now: DateTime<Utc>,
    count: usize,
    rng: &mut impl Rng,
) -> Vec<Uuid> {
    let mut keyed: Vec<(f64, Uuid)> = candidates
        .iter()
        .filter(|c| exclusion(c, target, limits, now).is_none())
        .map(|c| {
            let weight = affinity(&c.persona, target).powi(2);
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            (u.powf(1.0 / weight), c.persona.id)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    keyed.into_iter().take(count).map(|(_, id)| id).collect()
}
