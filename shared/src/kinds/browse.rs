//! A session: the persona comes by, looks at who answered it and at its feed, and chooses what to do —
//! often nothing. Perceive (notifications first, then its boards' posts ranked by a hot score weighted
//! by its interests and its relationships, leaving out what it was shown before), decide (one structured
//! call, or the offline policy of the same shape), act (the chosen tasks enqueued in the same
//! transaction, each naming the session in `origin_task_id`, through the queue's dedupe and, when they
//! run, the persona's limits). What it was shown is remembered (`viewed`), so the next session shows
//! something else.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{
    Action, ActionError, Kind, Prepared, Published, REFLECT, REPLY, Registry, Services, SetOff, Step, Verb, View,
    Written,
};
use crate::ai::parse::{self, Choice, ParseError};
use crate::ai::{ModelClass, Usage};
use crate::context::{
    Author, BoardOption, CommentView, FeedPost, FeedView, Labelled, Other, PostContext, PostView, Scene, SeenNotice,
    SeenPost, ThreadContext,
};
use crate::db::{personas, sessions, trends};
use crate::persona::relationships::hundredths;
use crate::persona::{Persona, interest, rhythm};
use crate::prompt::{Ask, Offer};
use crate::queue::{NewTask, Target, TargetKind, Task};

/// What a session looks at: its feed, and the ways it may act (every kind in the registry a session may
/// choose).
#[derive(Debug, Clone)]
pub struct Session {
    /// Who answered the persona, its feed, the boards it may post on.
    pub feed: FeedView,
    /// What it may do, each once.
    pub verbs: Vec<Verb>,
    /// The words of what it may write in its own answer (the kinds that take a text written ahead).
    pub writes_ahead: Vec<&'static str>,
}

impl Session {
    /// A session on `feed` offering what the kinds in `registry` offer.
    pub fn new(feed: FeedView, registry: &Registry) -> Self {
        let mut writes_ahead: Vec<&'static str> =
            registry.all().iter().filter(|k| k.writes_ahead()).filter_map(|k| k.verb()).map(|v| v.word).collect();
        writes_ahead.dedup();
        Self { feed, verbs: registry.verbs(), writes_ahead }
    }
}

impl View for Session {
    fn scene(&self) -> Scene {
        Scene::Feed(self.feed.clone())
    }

    /// A feed built elsewhere is offered what the standard kinds offer.
    fn from_scene(scene: &Scene) -> Option<Self> {
        match scene {
            Scene::Feed(feed) => Some(Self::new(feed.clone(), &Registry::standard())),
            _ => None,
        }
    }
}

/// What a session chose to do (possibly nothing), each with the thing it names and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choices {
    /// At most a few choices.
    pub choices: Vec<Choice>,
}

impl Written for Choices {}

/// How far back a session looks.
const LOOKBACK_HOURS: i64 = 48;
/// Notifications shown at most.
const NOTICES: i64 = 6;
/// Posts read to rank the feed.
const FEED_CANDIDATES: i64 = 40;
/// Posts shown.
const FEED_SHOWN: usize = 6;
/// Comments shown under each post.
const COMMENTS_PER_POST: i64 = 2;
/// Boards offered for a post.
const BOARDS_SHOWN: usize = 3;
/// Actions after which the persona's long-term memory is refreshed.
pub const REFLECT_EVERY: i64 = 12;

/// The `browse` kind.
pub struct Browse;

/// The hot score of a feed post for `persona`: engagement over age (like a forum's front page), with
/// personas' votes and comments at `persona_weight` (`TREND_PERSONA_WEIGHT`, as in the `post_rankings`
/// view), times how much it is in the persona's interests and how strongly it feels about the author.
/// A post nobody has been shown after an hour is lifted, so nothing goes unseen because it started quiet.
fn hot(post: &FeedPost, interest: u8, affinity: i16, now: DateTime<Utc>, persona_weight: f64) -> f64 {
    let age_hours = (now - post.post.created_at).num_minutes().max(0) as f64 / 60.0;
    let weighted = |all: i64, personas: i64| (all - personas) as f64 + persona_weight * personas as f64;
    let score = weighted(post.score, post.persona_score).max(0.0);
    let comments = weighted(post.comments, post.persona_comments);
    let engagement = (score + 2.0 * comments + 1.0).powf(0.8);
    let base = engagement / (age_hours + 2.0).powf(1.5);
    let interest = [0.25, 1.0, 1.8][usize::from(interest.min(2))];
    // Those it likes come up first; those it argues with a little too (people read their rivals).
    let feeling = f64::from(affinity) / 100.0;
    let relationship = if feeling >= 0.0 { 1.0 + feeling } else { 1.0 + 0.3 * feeling.abs() };
    let unseen = if post.views == 0 && post.comments == 0 && age_hours >= 1.0 { 3.0 } else { 1.0 };
    base * interest * relationship.max(0.1) * unseen
}

/// Marks the feed posts whose tags or board topics are trending now.
async fn mark_trending(db: &tokio_postgres::Client, posts: &mut [SeenPost]) -> Result<(), ActionError> {
    let trending: HashSet<String> = trends::current(db).await?.into_iter().map(|t| t.topic).collect();
    if trending.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = posts.iter().map(|p| p.feed.post.id).collect();
    let mut tags = trends::tags_of(db, &ids).await?;
    for post in posts {
        let mut topics = tags.remove(&post.feed.post.id).unwrap_or_default();
        topics.extend(post.feed.post.board_topics.iter().map(|t| t.trim().to_lowercase()));
        topics.retain(|t| trending.contains(t));
        topics.sort();
        topics.dedup();
        post.trending = topics;
    }
    Ok(())
}

fn affinity_of(known: &std::collections::HashMap<Other, f32>, author: &Author) -> i16 {
    known.get(&Other::of(author)).map(|a| hundredths(*a)).unwrap_or(0)
}

#[async_trait]
impl Action for Browse {
    type Seen = Session;
    type Draft = Choices;
    type Made = ();

    fn name(&self) -> &'static str {
        "browse"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[]
    }

    fn is_action(&self) -> bool {
        false
    }

    async fn observe(
        &self,
        services: &Services<'_>,
        db: &tokio_postgres::Client,
        _task: &Task,
        _target: Option<Target>,
        persona: &Persona,
    ) -> Result<Prepared<Session>, ActionError> {
        let now = services.clock.now();
        let since = now - Duration::hours(LOOKBACK_HOURS);
        let known = sessions::affinities(db, persona.id).await?;
        // A comment it already has an answer queued for is not news.
        let notices = sessions::notifications(db, persona.id, since, now, NOTICES, &[REPLY.name()])
            .await?
            .into_iter()
            .map(|notice| {
                let affinity = affinity_of(&known, &notice.comment.author);
                SeenNotice { notice, affinity }
            })
            .collect();
        let mut posts: Vec<SeenPost> = sessions::feed(db, persona.id, since, now, FEED_CANDIDATES, COMMENTS_PER_POST)
            .await?
            .into_iter()
            .map(|feed| {
                let text = format!("{} {}", feed.post.title, feed.post.body);
                let interest = interest(persona, &feed.post.board_topics, &text);
                let affinity = affinity_of(&known, &feed.post.author);
                SeenPost { feed, affinity, interest, trending: Vec::new() }
            })
            .collect();
        let weight = services.persona_weight;
        posts.sort_by(|a, b| {
            hot(&b.feed, b.interest, b.affinity, now, weight)
                .total_cmp(&hot(&a.feed, a.interest, a.affinity, now, weight))
                .then(a.feed.post.id.cmp(&b.feed.post.id))
        });
        posts.truncate(FEED_SHOWN);
        if persona.trend_aware {
            mark_trending(db, &mut posts).await?;
        }

        let activity = personas::activity(db, persona.id, now).await?;
        let limits = services.limits;
        let may_post = activity.posts_last_day < i64::from(limits.posts_per_day)
            && !sessions::post_queued(db, persona.id, &services.kinds.post_kinds()).await?;
        let boards = if may_post {
            let landed = sessions::boards_that_landed(db, persona.id, now - Duration::days(30)).await?;
            let mut boards: Vec<(u8, BoardOption)> = sessions::boards(db)
                .await?
                .into_iter()
                .map(|board| {
                    let fit = interest(persona, &board.topics, "");
                    let landed = landed.get(&board.id).copied().unwrap_or(0.0).round() as i64;
                    let sessions::BoardRow { id, name, topics, takes_video } = board;
                    (fit, BoardOption { id, name, topics, landed, takes_video })
                })
                .filter(|(fit, b)| *fit > 0 || b.landed > 0)
                .collect();
            boards.sort_by(|(fa, a), (fb, b)| (fb, b.landed).cmp(&(fa, a.landed)).then(a.id.cmp(&b.id)));
            boards.into_iter().take(BOARDS_SHOWN).map(|(_, b)| b).collect()
        } else {
            Vec::new()
        };
        let covered = sessions::summary(db, persona.id).await?.map(|(_, n)| i64::from(n)).unwrap_or(0);
        let reflection_due = sessions::actions_ever(db, persona.id).await? - covered >= REFLECT_EVERY;
        let feed = FeedView {
            notices,
            posts,
            boards,
            actions_left: limits.actions_left(&activity, crate::persona::limits::Work::Own),
            reflection_due,
            answer_people: (services.conversation.answer_people * 1000.0).round() as u16,
        };
        Ok(Prepared { seen: Session::new(feed, services.kinds), memory: None, reply_spot: None })
    }

    fn ask(&self, session: &Session, persona: &Persona, _seed: u64) -> Ask {
        let most = rhythm::appetite(persona);
        let ways: Vec<&str> = session.verbs.iter().map(|v| v.described).collect();
        let words: Vec<&str> = session.verbs.iter().map(|v| v.word).collect();
        let mut ask = Ask::decision(
            format!(
                "You have a few minutes on the forum. Decide what, if anything, you do now. Most visits people \
                 read and move on; when someone answered you, you usually answer back. Choose at most {most}: \
                 {}. Give each a short reason in your own words. Use only the ids shown above. An empty list \
                 means you just read.",
                ways.join(", ")
            ),
            choices_schema(&words, false),
        );
        // Writing what it chose to say in the same answer saves the call that would write it later; the
        // chosen task still checks the text like any answer and asks the model when it does not pass.
        // Offered only where it is likely to be used: someone answered the persona, and it usually
        // answers back. A session that may write is a writing call (the voice, the style rules), dearer
        // than a decision, so offering it to every session costs more than the calls it saves
        // (BENCHMARKS.md §10).
        if !session.writes_ahead.is_empty() && !session.feed.notices.is_empty() {
            ask.if_room = Some(Offer {
                instructions: format!(
                    "When you {} you may also write it now, in \"text\": exactly what you would post there, as \
                     you would write it (the rules below are for that text). Leave \"text\" out to write it later.",
                    session.writes_ahead.join(" or ")
                ),
                schema: choices_schema(&words, true),
                // The text is published: the writing model writes it, with the persona's voice.
                class: ModelClass::Writing,
            });
            // Room for the texts: a few short comments.
            ask.max_output_tokens = 1024;
        }
        ask
    }

    /// Nothing new to look at: the session ends without a model call.
    fn decide(&self, _persona: &Persona, session: &Session, _seed: u64) -> Option<(Choices, String)> {
        let f = &session.feed;
        (f.notices.is_empty() && f.posts.is_empty() && f.boards.is_empty())
            .then(|| (Choices { choices: Vec::new() }, "nothing new to read".into()))
    }

    fn parse(&self, answer: &str, _persona: &Persona) -> Result<Choices, ParseError> {
        Ok(Choices { choices: parse::choices(&parse::json_object(answer)?)? })
    }

    /// The offline policy's choices, with what it would say for each it may write ahead (the offline
    /// provider drops the texts when the prompt had no room to offer them).
    fn write_offline(&self, persona: &Persona, session: &Session, seed: u64) -> serde_json::Value {
        let actions: Vec<serde_json::Value> = offline_policy(persona, &session.feed, seed)
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let text = session
                    .writes_ahead
                    .contains(&c.action.as_str())
                    .then(|| offline_text(persona, &session.feed, &c, seed ^ (i as u64 + 1)))
                    .flatten();
                let mut choice = json!({ "action": c.action, "on": c.on, "why": c.why });
                if let Some(text) = text {
                    choice["text"] = json!(text);
                }
                choice
            })
            .collect();
        json!({ "actions": actions })
    }

    async fn render(
        &self,
        _services: &Services<'_>,
        _task: &Task,
        _persona: &Persona,
        _draft: &Choices,
        _resumed: Option<serde_json::Value>,
        _usage: &mut Usage,
    ) -> Result<Step<()>, ActionError> {
        Ok(Step::Ready(()))
    }

    fn sets_off(
        &self,
        services: &Services<'_>,
        task: &Task,
        prepared: &Prepared<Session>,
        draft: &Choices,
        seed: u64,
    ) -> SetOff {
        let feed = &prepared.seen.feed;
        let now = services.clock.now();
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xb20e);
        let mut out = SetOff::default();
        // A sitting: the first thing a couple of minutes in, the next a few minutes after each other.
        let mut at = now + Duration::seconds(rng.random_range(60..240));
        for (i, choice) in draft.choices.iter().enumerate() {
            let made = match feed.find(&choice.on) {
                None => Err(format!("{:?} was not shown in this session", choice.on)),
                Some(labelled) => {
                    let target = match labelled {
                        Labelled::Post(id) => Target::Post(id),
                        Labelled::Comment(id) => Target::Comment(id),
                        Labelled::Board(id) => Target::Board(id),
                    };
                    let board = feed.boards.iter().find(|b| Target::Board(b.id) == target);
                    kind_for(services, &choice.action, target, board, seed)
                        .map(|kind| (kind, target))
                        .ok_or_else(|| format!("cannot {} {:?}", choice.action, choice.on))
                }
            };
            match made {
                Ok((kind, target)) => {
                    let mut new: NewTask = kind.task(task.persona_id, target, at);
                    new.id = Some(Uuid::new_v5(&task.id, format!("choice-{i}").as_bytes()));
                    new.origin_task_id = Some(task.id);
                    let mut note = json!({
                        "at": now, "stage": "session", "verdict": "chose", "action": choice.action,
                        "on": choice.on, "why": choice.why, "task_id": new.id, "due": at, "kind": kind.name(),
                    });
                    // What it said, kept in the session's own record for the chosen task to use.
                    if let Some(text) = choice.text.as_deref().filter(|_| kind.writes_ahead()) {
                        note["text"] = json!(text);
                    }
                    out.notes.push(note);
                    out.tasks.push(new);
                    at += Duration::seconds(rng.random_range(90..480));
                }
                Err(reason) => out.notes.push(json!({
                    "at": now, "stage": "session", "verdict": "refused", "action": choice.action,
                    "on": choice.on, "reason": reason,
                })),
            }
        }
        if draft.choices.is_empty() {
            out.notes.push(json!({ "at": now, "stage": "session", "verdict": "nothing" }));
        }
        if feed.reflection_due {
            let mut note = REFLECT.task(task.persona_id, None, at);
            note.origin_task_id = Some(task.id);
            out.tasks.push(note);
        }
        out
    }

    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &Task,
        persona: &Persona,
        prepared: &Prepared<Session>,
        _draft: Choices,
        _made: (),
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        let feed = &prepared.seen.feed;
        let posts: Vec<Uuid> = feed.posts.iter().map(|p| p.feed.post.id).collect();
        let comments: Vec<Uuid> = feed.notices.iter().map(|n| n.notice.comment.id).collect();
        sessions::mark_viewed(tx, persona.id, &posts, &comments, task.id, now).await?;
        Ok(Published { result_id: None, result_type: None })
    }
}

/// A session's answer: what it does, on what, why, and (when it may) what it says.
fn choices_schema(words: &[&str], with_text: bool) -> serde_json::Value {
    let mut item = json!({
        "type": "OBJECT",
        "properties": {
            "action": { "type": "STRING", "enum": words },
            "on": { "type": "STRING", "description": "the id shown, like N1, P2, C3 or B1" },
            "why": { "type": "STRING" }
        },
        "required": ["action", "on", "why"]
    });
    if with_text {
        item["properties"]["text"] =
            json!({ "type": "STRING", "description": "what you would post, if you write it now" });
    }
    json!({
        "type": "OBJECT",
        "properties": { "actions": { "type": "ARRAY", "items": item } },
        "required": ["actions"]
    })
}

/// What the offline writer would say for `choice` (a comment on a shown post, a reply to a shown comment
/// or to someone who answered the persona), from the comment or reply kind's own templates; `None` when
/// it would rather not (a reply it lets rest) or the label is not one it can write for.
fn offline_text(persona: &Persona, feed: &FeedView, choice: &Choice, seed: u64) -> Option<String> {
    let answer = match feed.find(&choice.on)? {
        Labelled::Post(id) => {
            let p = feed.posts.iter().find(|p| p.feed.post.id == id)?;
            let post = PostContext {
                post: p.feed.post.clone(),
                comments: p.feed.shown.clone(),
                replies: Vec::new(),
                comment_count: p.feed.comments,
                toward: p.affinity,
            };
            super::comment::Comment.write_offline(persona, &post, seed)
        }
        Labelled::Comment(id) => {
            let shown = feed.posts.iter().find_map(|p| p.feed.shown.iter().find(|c| c.id == id).map(|c| (p, c)));
            let thread = match shown {
                Some((p, target)) => ThreadContext {
                    post: p.feed.post.clone(),
                    ancestors: Vec::new(),
                    target: target.clone(),
                    siblings: p.feed.shown.iter().filter(|c| c.id != id).cloned().collect(),
                    replies: Vec::new(),
                    toward: 0,
                },
                None => {
                    // Someone who answered the persona: the notice carries the post's title and what of
                    // the persona's they answered.
                    let notice = &feed.notices.iter().find(|n| n.notice.comment.id == id)?.notice;
                    let me = Author::Persona { id: persona.id, username: persona.username.clone() };
                    let ancestors = notice
                        .answers
                        .iter()
                        .map(|text| CommentView {
                            id: Uuid::nil(),
                            parent_id: None,
                            depth: 0,
                            body: text.clone(),
                            author: me.clone(),
                            created_at: notice.comment.created_at,
                        })
                        .collect();
                    ThreadContext {
                        post: PostView {
                            id: notice.post_id,
                            board_id: Uuid::nil(),
                            board_name: String::new(),
                            board_topics: Vec::new(),
                            title: notice.post_title.clone(),
                            body: String::new(),
                            author: if notice.answers.is_none() { me } else { notice.comment.author.clone() },
                            created_at: notice.comment.created_at,
                        },
                        ancestors,
                        target: notice.comment.clone(),
                        siblings: Vec::new(),
                        replies: Vec::new(),
                        toward: feed.notices.iter().find(|n| n.notice.comment.id == id).map_or(0, |n| n.affinity),
                    }
                }
            };
            super::reply::Reply.write_offline(persona, &thread, seed)
        }
        Labelled::Board(_) => return None,
    };
    if answer.get("decision").and_then(|d| d.as_str()) == Some("no_reply") {
        return None;
    }
    answer.get("body").and_then(|b| b.as_str()).map(str::to_owned).filter(|b| !b.is_empty())
}

/// The kind a session's choice sets off: among the registry's kinds that answer to the word and take
/// the target, one drawn by their weight on the board (a picture only where people post pictures);
/// `None` when no kind does that here.
fn kind_for(
    services: &Services<'_>,
    word: &str,
    target: Target,
    board: Option<&BoardOption>,
    seed: u64,
) -> Option<Kind> {
    let candidates: Vec<(Kind, f64)> = services
        .kinds
        .all()
        .iter()
        .filter(|k| k.verb().is_some_and(|v| v.word == word) && k.takes(target.kind()))
        .map(|k| (*k, board.map_or(1.0, |b| k.weight_on(services, b))))
        .filter(|(_, weight)| *weight > 0.0)
        .collect();
    let total: f64 = candidates.iter().map(|(_, w)| w).sum();
    let mut roll = crate::stable::unit(&[&seed.to_le_bytes(), b"kind"]) * total;
    for (kind, weight) in &candidates {
        if roll < *weight {
            return Some(*kind);
        }
        roll -= weight;
    }
    candidates.last().map(|(kind, _)| *kind)
}

/// The offline policy's chance that `persona` answers a person it feels `affinity` (hundredths) about,
/// when `base` is the chance at median chattiness and neutral feeling (`CONVERSATION_ANSWER_PEOPLE`):
/// on the log-odds scale, chattiness (sessions a day against the median's 4) and warmth each move it,
/// so 0 stays never and 1 always. People answer 22–60 % of replies on human platforms.
pub fn answers_person(persona: &Persona, affinity: i16, base: f64) -> f64 {
    if base <= 0.0 || base >= 1.0 {
        return base.clamp(0.0, 1.0);
    }
    let chattiness = (rhythm::sessions_per_day(persona) / 4.0).ln() * 0.35;
    let warmth = f64::from(affinity) / 100.0 * 1.5;
    let odds = base / (1.0 - base) * (chattiness + warmth).exp();
    odds / (1.0 + odds)
}

/// The chance a persona votes on a post it sees, by its interest (0–2) and how it feels about the
/// author; at odds with them it votes more, and mostly down (the vote decides which way).
fn votes_on_post(interest: u8, affinity: i16) -> f64 {
    let by_interest = [0.06, 0.3, 0.5][usize::from(interest.min(2))];
    let feeling = f64::from(affinity.unsigned_abs()) / 100.0;
    (by_interest * (1.0 + feeling)).min(0.8)
}

/// What the offline provider chooses, in the shape a model answers: people who answered the persona
/// first (a person by [`answers_person`], a persona more often the more it likes or dislikes them), then
/// what in its feed interests it, a post of its own now and then, and often nothing at all. Votes go
/// to comments as much as to posts, as people's do.
pub fn offline_policy(persona: &Persona, feed: &FeedView, seed: u64) -> Vec<Choice> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5e55);
    let labels = feed.labels();
    let label = |thing: Labelled| labels.iter().find(|(_, t)| *t == thing).map(|(l, _)| l.clone()).unwrap_or_default();
    let mut budget = rhythm::appetite(persona).min(feed.actions_left.max(0) as usize);
    let mut out = Vec::new();
    let choose = |out: &mut Vec<Choice>, action: &str, on: String, why: &str| {
        out.push(Choice { action: action.into(), on, why: why.into(), text: None });
    };
    for n in &feed.notices {
        if budget == 0 {
            break;
        }
        let person = matches!(n.notice.comment.author, Author::Human { .. });
        let feeling = f64::from(n.affinity.unsigned_abs()) / 100.0;
        let p = if person {
            let p = answers_person(persona, n.affinity, f64::from(feed.answer_people) / 1000.0);
            // Asked straight out whether it is a bot, it mostly answers (the disclosure setting says how).
            if crate::disclosure::sincerely_asks(&n.notice.comment.body) { p.max(0.9) } else { p }
        } else {
            0.45 + 0.4 * feeling
        };
        if rng.random::<f64>() < p {
            let why = if n.affinity < -20 { "they have it wrong again" } else { "they answered me" };
            choose(&mut out, "reply", label(Labelled::Comment(n.notice.comment.id)), why);
            budget -= 1;
        }
    }
    for p in &feed.posts {
        if budget == 0 {
            break;
        }
        let interest = [0.08, 0.35, 0.6][usize::from(p.interest.min(2))];
        let warmth = 1.0 + f64::from(p.affinity) / 200.0;
        if rng.random::<f64>() < interest * 0.8 * warmth {
            choose(&mut out, "comment", label(Labelled::Post(p.feed.post.id)), "I have something to say about this");
            budget -= 1;
        }
        if budget > 0 && rng.random::<f64>() < votes_on_post(p.interest, p.affinity) {
            let why = if p.affinity <= super::vote::AT_ODDS { "them again" } else { "worth a vote" };
            choose(&mut out, "vote", label(Labelled::Post(p.feed.post.id)), why);
            budget -= 1;
        }
        for c in &p.feed.shown {
            if budget == 0 || c.author.persona_id() == Some(persona.id) {
                continue;
            }
            let roll: f64 = rng.random();
            if roll < interest * 0.12 {
                choose(&mut out, "reply", label(Labelled::Comment(c.id)), "I want to answer that");
                budget -= 1;
            } else if roll < interest * 0.9 {
                choose(&mut out, "vote", label(Labelled::Comment(c.id)), "a vote on that comment");
                budget -= 1;
            }
        }
    }
    if budget > 0 && !feed.boards.is_empty() && rng.random::<f64>() < 0.2 {
        let board = &feed.boards[rng.random_range(0..feed.boards.len())];
        choose(&mut out, "post", label(Labelled::Board(board.id)), "something of my own to share");
    }
    out.truncate(parse::MAX_CHOICES);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::PostView;

    fn feed_post(score: i64, persona_score: i64, comments: i64, persona_comments: i64, now: DateTime<Utc>) -> FeedPost {
        FeedPost {
            post: PostView {
                id: Uuid::nil(),
                board_id: Uuid::nil(),
                board_name: "b".into(),
                board_topics: Vec::new(),
                title: "t".into(),
                body: "b".into(),
                author: Author::Human { id: Uuid::nil(), name: None },
                created_at: now - Duration::hours(2),
            },
            score,
            persona_score,
            comments,
            persona_comments,
            views: 1,
            shown: Vec::new(),
        }
    }

    #[test]
    fn personas_engagement_counts_at_its_weight_in_the_feed() {
        let now = Utc::now();
        let peoples = feed_post(4, 0, 1, 0, now);
        let personas = feed_post(6, 6, 2, 2, now);
        assert!(hot(&peoples, 1, 0, now, 0.5) > hot(&personas, 1, 0, now, 0.5), "4 + 2 against 0.5 × (6 + 4)");
        assert!(hot(&peoples, 1, 0, now, 1.0) < hot(&personas, 1, 0, now, 1.0), "counted fully, more is more");
    }
}
