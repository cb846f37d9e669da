//! What a simulation shows about realism: actions per hour, first-comment delays, reply latencies,
//! thread depths, reciprocity to people, per-persona activity against the caps, and the content-health
//! audit (the marks of machine text, repeated wording, near-duplicates, activity spread).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{HourSummary, SimOutcome};
use crate::display::{self, Created};
use shared::audit::{self, Audit};
use shared::db::{DbError, GenericClient};
use shared::kinds::VOTE;
use shared::persona::selector::Limits;

pub use shared::audit::Summary;

/// People answered.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reciprocity {
    /// People's comments answering a persona.
    pub human_replies: i64,
    /// Of those, answered by that persona.
    pub answered: i64,
    /// `answered / human_replies`.
    pub rate: f64,
}

/// How personas chose.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Choosing {
    /// Sessions held.
    pub sessions: i64,
    /// Of those, sessions that chose nothing (just read, or nothing new).
    pub chose_nothing: i64,
    /// `chose_nothing / sessions`.
    pub nothing_share: f64,
    /// Relationships with an interaction in the period.
    pub relationships: i64,
    /// Of those, warm (affinity above 0.2).
    pub warm: i64,
    /// Of those, cold (affinity below −0.2).
    pub cold: i64,
    /// Persona posts someone else commented on.
    pub threads_joined: i64,
    /// Of those, threads the author came back to.
    pub authors_returned: i64,
    /// `authors_returned / threads_joined`.
    pub return_rate: f64,
}

/// One persona's activity.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonaActivity {
    /// Handle.
    pub username: String,
    /// Posts.
    pub posts: usize,
    /// Top-level comments.
    pub comments: usize,
    /// Replies.
    pub replies: usize,
    /// Votes (decisions, including none).
    pub votes: usize,
    /// Most actions in any 60 minutes.
    pub max_actions_in_an_hour: usize,
    /// Most posts in any 24 hours.
    pub max_posts_in_a_day: usize,
}

/// Activity against the caps.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Caps {
    /// `PERSONA_MAX_ACTIONS_PER_HOUR`.
    pub actions_per_hour: u32,
    /// `PERSONA_MAX_POSTS_PER_DAY`.
    pub posts_per_day: u32,
    /// Personas that exceeded the hourly cap in some hour (should be none).
    pub over_hourly: Vec<String>,
    /// Personas that exceeded the daily post cap (should be none).
    pub over_daily: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// Simulated hours.
    pub hours: u32,
    /// Active personas.
    pub personas: usize,
    /// Start of the simulated time.
    pub started: DateTime<Utc>,
    /// End of the simulated time.
    pub ended: DateTime<Utc>,
    /// Everything created.
    pub totals: Created,
    /// Hour by hour.
    pub per_hour: Vec<HourSummary>,
    /// Minutes from a post to its first persona comment.
    pub first_comment_minutes: Summary,
    /// Minutes from a person's comment to a persona's reply.
    pub reply_minutes_to_people: Summary,
    /// Minutes from a persona's comment to another persona's reply.
    pub reply_minutes_to_personas: Summary,
    /// Threads by their deepest reply.
    pub thread_depths: BTreeMap<i32, usize>,
    /// People answered.
    pub reciprocity: Reciprocity,
    /// Activity against the caps.
    pub caps: Caps,
    /// Per persona.
    pub per_persona: Vec<PersonaActivity>,
    /// The content-health audit of the simulated period (what `persona-engine audit` reports).
    pub audit: Audit,
    /// Sessions, relationships and authors returning to their threads.
    pub choosing: Choosing,
    /// Estimated input tokens per prompt, by kind and for all text actions together (votes settled
    /// without a model build no prompt and are not counted).
    pub prompt_tokens: BTreeMap<String, Summary>,
    /// Tasks settled without a model call (votes the persona's interests decide).
    pub settled_without_model: usize,
    /// The raw values behind the distributions (for charts).
    #[serde(skip)]
    pub samples: Samples,
}

/// The raw values behind the distributions.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// First-comment delays, minutes.
    pub first_comment: Vec<f64>,
    /// Reply latencies to people, minutes.
    pub reply_to_people: Vec<f64>,
    /// Reply latencies to personas, minutes.
    pub reply_to_personas: Vec<f64>,
}

fn max_in_window(times: &[DateTime<Utc>], window: Duration) -> usize {
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// Measures a finished simulation.
pub async fn measure(
    c: &impl GenericClient,
    outcome: &SimOutcome,
    seed: u64,
    personas: usize,
    limits: &Limits,
) -> Result<SimReport, DbError> {
    let (since, until) = (outcome.started, outcome.ended);
    let first_comment = display::first_comment_delays(c, since, until).await?;
    let latencies = shared::db::audit::reply_latencies(c, since, until, i64::MAX).await?;
    let reply_to_people: Vec<f64> = latencies.iter().filter(|(_, human)| *human).map(|(m, _)| *m).collect();
    let reply_to_personas: Vec<f64> = latencies.iter().filter(|(_, human)| !*human).map(|(m, _)| *m).collect();
    let mut thread_depths = BTreeMap::new();
    for depth in display::thread_depths(c, since, until).await? {
        *thread_depths.entry(depth).or_default() += 1;
    }
    // People's comments of the last two hours may not have been answered yet; they are not counted.
    let (human_replies, answered) = display::reciprocity(c, since, until - Duration::hours(2)).await?;

    // Per persona: its counts, the times of all its actions, the times of its posts.
    type Tally = (PersonaActivity, Vec<DateTime<Utc>>, Vec<DateTime<Utc>>);
    let mut per_persona: BTreeMap<String, Tally> = BTreeMap::new();
    let blank = |username: String| {
        (
            PersonaActivity {
                username,
                posts: 0,
                comments: 0,
                replies: 0,
                votes: 0,
                max_actions_in_an_hour: 0,
                max_posts_in_a_day: 0,
            },
            Vec::new(),
            Vec::new(),
        )
    };
    for username in shared::db::audit::active_usernames(c).await? {
        per_persona.insert(username.clone(), blank(username));
    }
    for (username, action, at) in display::persona_actions(c, since, until).await? {
        let entry = per_persona.entry(username.clone()).or_insert_with(|| blank(username));
        match action.as_str() {
            "posted" => {
                entry.0.posts += 1;
                entry.2.push(at);
            }
            "commented" => entry.0.comments += 1,
            "replied" => entry.0.replies += 1,
            "voted" => entry.0.votes += 1,
            _ => {}
        }
        entry.1.push(at);
    }
    let per_persona: Vec<PersonaActivity> = per_persona
        .into_values()
        .map(|(mut a, actions, posts)| {
            a.max_actions_in_an_hour = max_in_window(&actions, Duration::hours(1));
            a.max_posts_in_a_day = max_in_window(&posts, Duration::days(1));
            a
        })
        .collect();
    let caps = Caps {
        actions_per_hour: limits.actions_per_hour,
        posts_per_day: limits.posts_per_day,
        over_hourly: per_persona
            .iter()
            .filter(|p| p.max_actions_in_an_hour > limits.actions_per_hour as usize)
            .map(|p| p.username.clone())
            .collect(),
        over_daily: per_persona
            .iter()
            .filter(|p| p.max_posts_in_a_day > limits.posts_per_day as usize)
            .map(|p| p.username.clone())
            .collect(),
    };

    let audit = audit::run(c, since, until, limits.actions_per_hour, audit::MAX_TEXTS).await?;
    let mut by_kind: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut settled_without_model = 0;
    let kinds = shared::kinds::Registry::standard();
    for (kind, tokens) in display::prompt_tokens(c, since, until).await? {
        let Some(tokens) = tokens else {
            settled_without_model += 1;
            continue;
        };
        // What people read: actions other than votes (not sessions, not the persona's private notes).
        let writes = kinds.get(&kind).is_some_and(|k| k.is_action() && k != VOTE);
        if writes {
            by_kind.entry("all text actions".into()).or_default().push(tokens as f64);
        }
        by_kind.entry(kind).or_default().push(tokens as f64);
    }
    let (sessions, chose_nothing) = display::sessions(c, since, until).await?;
    let (relationships, warm, cold) = display::relationships(c, since, until).await?;
    let (threads_joined, authors_returned) = display::authors_return(c, since, until).await?;
    let share = |a: i64, b: i64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let choosing = Choosing {
        sessions,
        chose_nothing,
        nothing_share: share(chose_nothing, sessions),
        relationships,
        warm,
        cold,
        threads_joined,
        authors_returned,
        return_rate: share(authors_returned, threads_joined),
    };
    let prompt_tokens = by_kind.into_iter().map(|(kind, values)| (kind, Summary::of(&values))).collect();

    let totals = outcome.hours.iter().fold(Created::default(), |t, h| Created {
        posts: t.posts + h.created.posts,
        comments: t.comments + h.created.comments,
        replies: t.replies + h.created.replies,
        votes: t.votes + h.created.votes,
        human: t.human + h.created.human,
    });
    Ok(SimReport {
        seed,
        hours: outcome.hours.len() as u32,
        personas,
        started: since,
        ended: until,
        totals,
        per_hour: outcome.hours.clone(),
        first_comment_minutes: Summary::of(&first_comment),
        reply_minutes_to_people: Summary::of(&reply_to_people),
        reply_minutes_to_personas: Summary::of(&reply_to_personas),
        thread_depths,
        reciprocity: Reciprocity {
            human_replies,
            answered,
            rate: if human_replies > 0 { answered as f64 / human_replies as f64 } else { 0.0 },
        },
        caps,
        per_persona,
        audit,
        choosing,
        prompt_tokens,
        settled_without_model,
        samples: Samples { first_comment, reply_to_people, reply_to_personas },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_and_windows_are_right() {
        let s = Summary::of(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((s.count, s.median, s.max, s.mean), (5, 3.0, 5.0, 3.0));
        let t0 = DateTime::parse_from_rfc3339("2026-11-02T09:00:00Z").unwrap().with_timezone(&Utc);
        let times: Vec<_> = [0, 10, 50, 59, 60, 61, 200].iter().map(|m| t0 + Duration::minutes(*m)).collect();
        assert_eq!(max_in_window(&times, Duration::hours(1)), 5, "10, 50, 59, 60 and 61 lie within an hour");
    }
}
