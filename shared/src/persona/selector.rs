//! Picking the personas most likely to engage with a post or a board: interest overlap with the board's
//! topics and the post's words, never the author, never one that already engaged the target, only with
//! rate budget left and awake in its own time zone — then weighted randomness from a seedable RNG.
//!
//! A [`Pool`] normalises every persona's interests and checks its time zone once, so the planner can
//! score a thousand personas against hundreds of posts in one tick.

use std::collections::HashSet;

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;
use rand::Rng;
use uuid::Uuid;

use super::Persona;
pub use super::limits::Limits;
use super::limits::Work;
use crate::db::personas::Candidate;

/// The hour of the day at `now` in `timezone` (UTC when the zone is unknown).
pub fn local_hour(timezone: &str, now: DateTime<Utc>) -> u32 {
    match timezone.parse::<Tz>() {
        Ok(tz) => now.with_timezone(&tz).hour(),
        Err(_) => now.hour(),
    }
}

/// Whether `hour` falls in `[start, end)`; an end before the start means the day runs past midnight.
pub fn in_active_hours(hour: u32, start: i16, end: i16) -> bool {
    let hour = hour as i16;
    if start <= end { hour >= start && hour < end } else { hour >= start || hour < end }
}

/// Whether the persona is awake at `now`, local time.
pub fn is_awake(persona: &Persona, now: DateTime<Utc>) -> bool {
    in_active_hours(local_hour(&persona.timezone, now), persona.active_hours_start, persona.active_hours_end)
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2).map(str::to_lowercase)
}

/// What the personas are picked for (a post, a comment, a board), normalised once.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    topics: Vec<String>,
    words: HashSet<String>,
    /// Who wrote it (never picked).
    pub author: Option<Uuid>,
    /// An original post is asked for: the daily post cap applies too.
    pub wants_post: bool,
    debate: bool,
}

impl Subject {
    /// A subject with the board's `topics` and the post's `text`.
    pub fn new(topics: &[String], text: &str, author: Option<Uuid>, wants_post: bool) -> Self {
        Self {
            topics: topics.iter().map(|t| t.to_lowercase()).collect(),
            words: words(text).collect(),
            author,
            wants_post,
            debate: false,
        }
    }

    /// Favour personas whose temperament makes a reply worth writing (skeptical, opinionated, blunt…).
    pub fn for_debate(mut self) -> Self {
        self.debate = true;
        self
    }
}

/// Temperaments that answer back.
const DEBATERS: [&str; 8] = ["skeptic", "opinion", "blunt", "stubborn", "competitive", "contrarian", "direct", "argu"];

#[derive(Debug, Clone)]
struct Interest {
    whole: String,
    words: Vec<String>,
}

#[derive(Debug, Clone)]
struct Entry<'a> {
    candidate: &'a Candidate,
    interests: Vec<Interest>,
    awake: bool,
    debater: bool,
}

/// The candidates of one moment, normalised.
#[derive(Debug, Clone)]
pub struct Pool<'a> {
    entries: Vec<Entry<'a>>,
    now: DateTime<Utc>,
}

impl<'a> Pool<'a> {
    /// Normalises `candidates` at `now`.
    pub fn new(candidates: &'a [Candidate], now: DateTime<Utc>) -> Self {
        let entries = candidates
            .iter()
            .map(|candidate| Entry {
                candidate,
                interests: candidate
                    .persona
                    .interests
                    .iter()
                    .map(|i| Interest { whole: i.to_lowercase(), words: words(i).collect() })
                    .collect(),
                awake: is_awake(&candidate.persona, now),
                debater: {
                    let temperament =
                        format!("{} {}", candidate.persona.traits.join(" "), candidate.persona.voice).to_lowercase();
                    DEBATERS.iter().any(|d| temperament.contains(d))
                },
            })
            .collect();
        Self { entries, now }
    }

    fn affinity(entry: &Entry<'_>, subject: &Subject) -> f64 {
        let mut score = 1.0;
        for interest in &entry.interests {
            if subject.topics.iter().any(|t| t.contains(&interest.whole) || interest.whole.contains(t.as_str())) {
                score += 3.0;
            }
            if !interest.words.is_empty() && interest.words.iter().all(|w| subject.words.contains(w)) {
                score += 1.0;
            }
        }
        if subject.debate && entry.debater {
            score += 2.0;
        }
        score
    }

    /// How well the persona `id` fits `subject` (1 plus 3 per interest among the topics plus 1 per
    /// interest in the text); `None` for a persona not in the pool.
    pub fn affinity_of(&self, id: Uuid, subject: &Subject) -> Option<f64> {
        self.entries.iter().find(|e| e.candidate.persona.id == id).map(|e| Self::affinity(e, subject))
    }

    fn exclusion(&self, entry: &Entry<'_>, subject: &Subject, limits: &Limits) -> Option<&'static str> {
        let c = entry.candidate;
        if !c.persona.is_active {
            Some("paused")
        } else if subject.author == Some(c.persona.id) {
            Some("author")
        } else if c.engaged {
            Some("already engaged")
        } else if limits.actions_left(&c.activity, Work::Own) <= 0 {
            Some("hourly limit")
        } else if subject.wants_post && limits.posts_left(&c.activity) <= 0 {
            Some("daily post limit")
        } else if !entry.awake {
            Some("asleep")
        } else {
            None
        }
    }

    /// Why each candidate would not be picked for `subject` (`None`: eligible), in pool order.
    pub fn exclusions(&self, subject: &Subject, limits: &Limits) -> Vec<Option<&'static str>> {
        self.entries.iter().map(|e| self.exclusion(e, subject, limits)).collect()
    }

    /// Up to `count` personas for `subject`, best fits most likely, drawn without replacement with
    /// weights `affinity²` (Efraimidis–Spirakis keys), skipping those `also_exclude` names. The same RNG
    /// state gives the same pick.
    pub fn select(
        &self,
        subject: &Subject,
        limits: &Limits,
        count: usize,
        rng: &mut impl Rng,
        also_exclude: impl Fn(Uuid) -> bool,
    ) -> Vec<Uuid> {
        if count == 0 {
            return Vec::new();
        }
        let mut keyed: Vec<(f64, Uuid)> = self
            .entries
            .iter()
            .filter(|e| self.exclusion(e, subject, limits).is_none() && !also_exclude(e.candidate.persona.id))
            .map(|e| {
                let weight = Self::affinity(e, subject).powi(2);
                let u: f64 = rng.random_range(f64::EPSILON..1.0);
                (u.powf(1.0 / weight), e.candidate.persona.id)
            })
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        keyed.into_iter().take(count).map(|(_, id)| id).collect()
    }

    /// The moment the pool was built for.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }
}
