//! What a simulation shows about realism: actions per hour, first-comment delays, reply latencies,
//! thread depths, reciprocity to people, per-persona activity against the caps, and the content-health
//! audit (the marks of machine text, repeated wording, near-duplicates, activity spread).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{HourSummary, SimOutcome};
use crate::display::{self, Created};
use shared::ai::cost::PriceTable;
use shared::ai::{ModelClass, Models, Usage};
use shared::audit::{self, Audit};
use shared::db::{DbError, GenericClient};
use shared::kinds::{BROWSE, VOTE};
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
    /// Comments by anyone (the last two hours aside: their replies may still be coming).
    pub comments: i64,
    /// Of those, never replied to.
    pub never_answered: i64,
    /// `never_answered / comments`.
    pub never_answered_share: f64,
    /// Personas' answers to people published in the period.
    pub answers: i64,
    /// Of those, chosen by the persona's own session.
    pub answers_chosen_in_session: i64,
}

/// What one kind of work asked of the model, and its price.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KindCost {
    /// Finished tasks of the kind.
    pub tasks: usize,
    /// Of those, the ones that published something.
    pub published: usize,
    /// Model calls (regenerated answers included; image generation not).
    pub model_calls: i64,
    /// Published from the text the session that chose it wrote ahead, with no call of its own.
    pub written_ahead: usize,
    /// Estimated input tokens per call.
    pub input_tokens: Summary,
    /// Estimated output tokens per answer.
    pub output_tokens: Summary,
    /// What all of it costs at the default models' list prices, USD.
    pub usd: f64,
}

/// A period's model work priced at the default models' list prices. The tokens are estimates (4
/// characters a token) of the prompts and answers the engine built and used; thinking tokens are not
/// known without a model and are left out.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cost {
    /// The model for each class, as priced.
    pub models: BTreeMap<String, String>,
    /// When the default prices were read.
    pub prices_as_of: String,
    /// By kind.
    pub by_kind: BTreeMap<String, KindCost>,
    /// Published actions (posts, comments, replies, votes).
    pub actions: usize,
    /// Everything, USD.
    pub usd: f64,
    /// Everything per 1,000 published actions, USD.
    pub usd_per_1000_actions: f64,
    /// Of that, what browsing sessions (the choosing step) add, USD per 1,000 actions.
    pub sessions_usd_per_1000_actions: f64,
    /// Of that, what clips add (their seconds at the video model's price), USD per 1,000 actions.
    pub video_usd_per_1000_actions: f64,
    /// Model calls (regenerations included, pictures and clips not) per published action.
    pub calls_per_action: f64,
    /// The same work with other models, USD per 1,000 actions: how the defaults were chosen.
    pub alternatives: Vec<Alternative>,
    /// What implicit caching could take off, under Gemini's rule.
    pub caching: Caching,
}

/// The period's work priced with other models.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alternative {
    /// What changed.
    pub label: String,
    /// USD per 1,000 published actions.
    pub usd_per_1000_actions: f64,
}

/// The cached share of input under Gemini's implicit caching: a request whose prefix repeats an earlier
/// one's by at least the model's minimum is billed that prefix at the cached rate.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Caching {
    /// The shortest prefix implicit caching serves, tokens (4,096 on the 3.x Flash models, 2,048 on 2.5:
    /// `../shared/reference/realism-and-cost.md`, from Google's caching page).
    pub minimum_prefix_tokens: usize,
    /// The longest stable prefix (a persona's system turn) among the period's calls, tokens.
    pub longest_prefix_tokens: i64,
    /// Of all input tokens, the share that would be billed as cached.
    pub cached_share: f64,
}

/// The shortest prefix implicit caching serves on the models priced here (Gemini 3.x Flash).
pub const IMPLICIT_CACHE_MINIMUM_TOKENS: usize = 4_096;

/// Prices `work` at the default models' list prices, and at the alternatives.
pub fn cost(work: &[display::ModelWork]) -> Cost {
    let models = Models::default();
    let mut cost = priced(work, &models);
    let writing = |m: &str| models.clone().with(ModelClass::Writing, m);
    let alternatives = [
        (
            "one model for everything, as before (gemini-3.6-flash; gemini-3.1-flash-image)".to_owned(),
            Models::uniform("gemini-3.6-flash", "gemini-3.1-flash-image"),
        ),
        (
            "decisions on the writing model (gemini-3.5-flash-lite)".to_owned(),
            models.clone().with(ModelClass::Decision, ModelClass::Writing.default_model()),
        ),
        ("writing on gemini-3.1-flash-lite".to_owned(), writing("gemini-3.1-flash-lite")),
        ("writing on gemini-3.8-flash (its price until 2026-12-31)".to_owned(), writing("gemini-3.8-flash")),
        ("writing on gemini-3.6-flash".to_owned(), writing("gemini-3.6-flash")),
        (
            "pictures on gemini-3.1-flash-image".to_owned(),
            models.clone().with(ModelClass::Image, "gemini-3.1-flash-image"),
        ),
        ("pictures on gemini-3-pro-image".to_owned(), models.clone().with(ModelClass::Image, "gemini-3-pro-image")),
    ];
    cost.alternatives = alternatives
        .into_iter()
        .map(|(label, m)| Alternative { label, usd_per_1000_actions: priced(work, &m).usd_per_1000_actions })
        .collect();
    cost
}

/// `work` priced with `models`.
fn priced(work: &[display::ModelWork], models: &Models) -> Cost {
    let prices = PriceTable::default();
    let registry = shared::kinds::Registry::standard();
    let usd = |model: &str, prompt: i64, cached: i64, output: i64, image: u32| {
        let tokens = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        let usage = Usage {
            prompt_tokens: tokens(prompt),
            cached_tokens: tokens(cached),
            output_tokens: tokens(output) + image,
            image_tokens: image,
            ..Usage::default()
        };
        prices.cost_micros(model, &usage) as f64 / 1e6
    };
    let mut tallies: BTreeMap<String, (KindCost, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let (mut actions, mut calls, mut video_usd) = (0, 0, 0.0);
    let (mut input_total, mut cached_total, mut longest_prefix) = (0i64, 0i64, 0i64);
    for w in work {
        let (tally, inputs, outputs) = tallies.entry(w.kind.clone()).or_insert_with(|| {
            let nothing = Summary::of(&[]);
            let blank = KindCost {
                tasks: 0,
                published: 0,
                model_calls: 0,
                written_ahead: 0,
                input_tokens: nothing.clone(),
                output_tokens: nothing,
                usd: 0.0,
            };
            (blank, Vec::new(), Vec::new())
        });
        tally.tasks += 1;
        tally.written_ahead += usize::from(w.published && w.written_ahead);
        if w.published {
            tally.published += 1;
            if registry.get(&w.kind).is_some_and(|k| k.is_action()) {
                actions += 1;
            }
        }
        let Some(input) = w.input_tokens else { continue };
        let output = w.output_tokens.unwrap_or(0);
        tally.model_calls += w.attempts;
        calls += w.attempts;
        inputs.push(input as f64);
        if w.output_tokens.is_some() {
            outputs.push(output as f64);
        }
        let class = w.class.unwrap_or(ModelClass::Writing);
        // An upper bound: every call is taken to repeat its persona's prefix, cached when long enough.
        let prefix = w.prefix_tokens.unwrap_or(0).min(input);
        longest_prefix = longest_prefix.max(prefix);
        let cached = if prefix as usize >= IMPLICIT_CACHE_MINIMUM_TOKENS { prefix } else { 0 };
        input_total += input * w.attempts;
        cached_total += cached * w.attempts;
        tally.usd += usd(models.model(class), input * w.attempts, cached * w.attempts, output * w.attempts, 0);
        if w.published && registry.get(&w.kind).is_some_and(|k| k.needs_images()) {
            let image_model = models.model(ModelClass::Image);
            tally.usd += usd(image_model, output, 0, 0, shared::prices::tokens_per_image(image_model));
        }
        // A clip is priced per second at the video model's rate.
        if let Some(ms) = w.clip_ms {
            let per_second = prices.video_per_second(models.model(ModelClass::Video)).unwrap_or(0.0);
            let clip = f64::from(ms) / 1000.0 * per_second;
            tally.usd += clip;
            video_usd += clip;
        }
    }
    let by_kind: BTreeMap<String, KindCost> = tallies
        .into_iter()
        .map(|(kind, (mut tally, inputs, outputs))| {
            tally.input_tokens = Summary::of(&inputs);
            tally.output_tokens = Summary::of(&outputs);
            (kind, tally)
        })
        .collect();
    let total: f64 = by_kind.values().map(|k| k.usd).sum();
    let sessions = by_kind.get(BROWSE.name()).map_or(0.0, |k| k.usd);
    let per_1000 = |usd: f64| if actions > 0 { usd * 1000.0 / actions as f64 } else { 0.0 };
    Cost {
        models: ModelClass::ALL.iter().map(|c| (c.name().to_owned(), models.model(*c).to_owned())).collect(),
        prices_as_of: shared::ai::cost::PRICES_AS_OF.into(),
        by_kind,
        actions,
        usd: total,
        usd_per_1000_actions: per_1000(total),
        sessions_usd_per_1000_actions: per_1000(sessions),
        video_usd_per_1000_actions: per_1000(video_usd),
        calls_per_action: if actions > 0 { calls as f64 / actions as f64 } else { 0.0 },
        alternatives: Vec::new(),
        caching: Caching {
            minimum_prefix_tokens: IMPLICIT_CACHE_MINIMUM_TOKENS,
            longest_prefix_tokens: longest_prefix,
            cached_share: if input_total > 0 { cached_total as f64 / input_total as f64 } else { 0.0 },
        },
    }
}

/// The clips published, and how long each took.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Clips {
    /// Clips published.
    pub published: usize,
    /// Looks at the provider's operation per clip.
    pub polls: Summary,
    /// Minutes from asking for the clip to publishing it.
    pub minutes: Summary,
    /// What a clip cost at list price (its seconds, its start frame and its text), USD.
    pub usd_per_clip: f64,
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
    /// Relationships with an interaction in the period: warm and cold, friends and rivals.
    pub relationships: display::Relationships,
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

/// What personas said when a person sincerely asked whether they are AI.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct AskedIfAi {
    /// Sincere questions people put.
    pub asked: usize,
    /// Answered: yes, an AI.
    pub honest: usize,
    /// Answered: no (refused by the gate in the honest modes, so none there).
    pub denied: usize,
    /// Answered without saying either.
    pub neither: usize,
    /// Not answered.
    pub unanswered: usize,
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
    /// How personas voted.
    pub votes: display::PersonaVotes,
    /// People who sincerely asked whether a persona is AI, and what they were told.
    pub asked_if_ai: AskedIfAi,
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
    /// The period's model work at list price.
    pub cost: Cost,
    /// The clips published.
    pub clips: Clips,
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
    let (comments, never_answered) = display::unanswered_comments(c, since, until - Duration::hours(2)).await?;
    let answers_to_people = display::answers_to_people(c, since, until).await?;

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
    let relationships = display::relationships(c, since, until).await?;
    let (threads_joined, authors_returned) = display::authors_return(c, since, until).await?;
    let share = |a: i64, b: i64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let choosing = Choosing {
        sessions,
        chose_nothing,
        nothing_share: share(chose_nothing, sessions),
        relationships,
        threads_joined,
        authors_returned,
        return_rate: share(authors_returned, threads_joined),
    };
    let prompt_tokens = by_kind.into_iter().map(|(kind, values)| (kind, Summary::of(&values))).collect();
    let cost = cost(&display::model_work(c, since, until).await?);

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
        asked_if_ai: {
            let answers = display::persona_answers_to(c, &outcome.asked_if_ai).await?;
            let honest = answers.iter().filter(|(_, a)| shared::disclosure::admits(a)).count();
            let denied = answers.iter().filter(|(_, a)| shared::disclosure::denial(a).is_some()).count();
            AskedIfAi {
                asked: outcome.asked_if_ai.len(),
                honest,
                denied,
                neither: answers.len() - honest - denied,
                unanswered: outcome.asked_if_ai.len() - answers.len(),
            }
        },
        reciprocity: Reciprocity {
            human_replies,
            answered,
            rate: share(answered, human_replies),
            comments,
            never_answered,
            never_answered_share: share(never_answered, comments),
            answers: answers_to_people.0,
            answers_chosen_in_session: answers_to_people.1,
        },
        votes: display::persona_votes(c, since, until).await?,
        caps,
        per_persona,
        audit,
        choosing,
        prompt_tokens,
        settled_without_model,
        clips: {
            let clips = display::clips(c, since, until).await?;
            let polls: Vec<f64> = clips.iter().map(|(polls, _)| *polls as f64).collect();
            let minutes: Vec<f64> = clips.iter().map(|(_, minutes)| *minutes).collect();
            let video_usd = cost.by_kind.get(shared::kinds::VIDEO_POST.name()).map_or(0.0, |k| k.usd);
            Clips {
                published: clips.len(),
                polls: Summary::of(&polls),
                minutes: Summary::of(&minutes),
                usd_per_clip: if clips.is_empty() { 0.0 } else { video_usd / clips.len() as f64 },
            }
        },
        cost,
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

    #[test]
    fn model_work_is_priced_per_call_at_its_class_model_with_regenerations_images_and_clips() {
        let work =
            |kind: &str, class, published, input: Option<i64>, output: Option<i64>, attempts| display::ModelWork {
                kind: kind.into(),
                published,
                input_tokens: input,
                output_tokens: output,
                attempts,
                clip_ms: None,
                class: Some(class),
                prefix_tokens: input.map(|i| i / 2),
                written_ahead: false,
            };
        let (w, d) = (ModelClass::Writing, ModelClass::Decision);
        let clip = display::ModelWork { clip_ms: Some(6_000), ..work("video_post", w, true, Some(800), Some(80), 1) };
        let priced = cost(&[
            work("comment", w, true, Some(1_000), Some(100), 2),
            work("image_post", w, true, Some(800), Some(80), 1),
            work("vote", d, true, None, None, 0),
            work("browse", d, false, Some(500), Some(20), 1),
            clip,
        ]);
        let prices = PriceTable::default();
        let models = Models::default();
        let text = prices.price(models.model(ModelClass::Writing)).unwrap();
        let decision = prices.price(models.model(ModelClass::Decision)).unwrap();
        assert_ne!(text, decision, "decisions are priced at their own model");
        let image_model = models.model(ModelClass::Image);
        let image = prices.price(image_model).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        let comment = (2_000.0 * text.input + 200.0 * text.output) / 1e6;
        assert!(close(priced.by_kind["comment"].usd, comment), "both answers are paid: {priced:?}");
        assert_eq!(priced.by_kind["comment"].model_calls, 2);
        let per_image = f64::from(shared::prices::tokens_per_image(image_model));
        let picture =
            (800.0 * text.input + 80.0 * text.output + 80.0 * image.input + per_image * image.image_output) / 1e6;
        assert!(close(priced.by_kind["image_post"].usd, picture), "the image is priced at the image model");
        assert_eq!(priced.by_kind["vote"].usd, 0.0, "a vote settled without a model costs nothing");
        let seconds = 6.0 * prices.video_per_second(models.model(ModelClass::Video)).unwrap();
        assert!(close(priced.by_kind["video_post"].usd, picture + seconds), "a clip is priced per second: {priced:?}");
        assert_eq!(priced.actions, 4, "a session is not an action");
        let session = (500.0 * decision.input + 20.0 * decision.output) / 1e6;
        let all = comment + picture + session + picture + seconds;
        assert!(close(priced.usd_per_1000_actions, all * 1000.0 / 4.0), "{priced:?}");
        assert!(close(priced.sessions_usd_per_1000_actions, session * 1000.0 / 4.0));
        assert!(close(priced.video_usd_per_1000_actions, seconds * 1000.0 / 4.0));
        assert!(close(priced.calls_per_action, 5.0 / 4.0), "2 + 1 + 1 + 1 calls for 4 actions");
        assert_eq!(priced.by_kind["comment"].input_tokens.median, 1_000.0);
        assert_eq!(priced.caching.cached_share, 0.0, "no prefix reaches the minimum");
        assert_eq!(priced.caching.longest_prefix_tokens, 500);
        let before = &priced.alternatives[0];
        assert!(before.label.contains("as before") && before.usd_per_1000_actions > priced.usd_per_1000_actions);
        // A prefix past the minimum is billed at the cached rate.
        let long = work("comment", w, true, Some(10_000), Some(100), 1);
        let long = display::ModelWork { prefix_tokens: Some(8_000), ..long };
        let cached = cost(&[long]);
        assert!(close(cached.caching.cached_share, 0.8), "{:?}", cached.caching);
        let expected = (2_000.0 * text.input + 8_000.0 * text.cached_input + 100.0 * text.output) / 1e6;
        assert!(close(cached.usd, expected), "{} vs {expected}", cached.usd);
    }
}
