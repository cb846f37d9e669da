//! Persona-to-persona conversations: after a persona's comment or reply is published, another persona
//! may answer — scheduled in the same transaction — while the thread is shallower than
//! `CONVERSATION_MAX_DEPTH` and has fewer than `CONVERSATION_MAX_REPLIES_PER_THREAD` persona replies.
//! The author of what was answered gets the first chance to answer back (reciprocity); otherwise the
//! selector picks someone with the interests, and the temperament, to make a reply worth writing —
//! never the author itself. The limits are checked again when a reply is published, under a
//! transaction-scoped lock on the thread, so concurrent workers cannot ping-pong past them.

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::{ActionError, Content, Prepared, Published, REPLY};
use crate::ai::parse::Draft;
use crate::config::ConversationConfig;
use crate::context::Scene;
use crate::db::{DbError, GenericClient, content, personas};
use crate::engine::Engine;
use crate::persona::Persona;
use crate::persona::selector::{Pool, Subject};
use crate::planner::{human_delay, into_active_hours};
use crate::queue::{NewTask, Target};

/// Where a reply goes, for the limits.
#[derive(Debug, Clone, Copy)]
pub struct ReplySpot {
    /// The thread's top-level comment.
    pub root: Uuid,
    /// The depth the reply will have.
    pub depth: i32,
    /// Whether it answers a persona (the limits bind persona-to-persona conversations; people are
    /// answered within the persona's own limits).
    pub to_persona: bool,
}

/// Whether the conversation limits still allow a reply at `spot`. Inside a transaction after
/// [`content::lock_thread`], the count is exact however many workers race.
pub async fn check_limits(
    c: &impl GenericClient,
    rules: &ConversationConfig,
    spot: &ReplySpot,
) -> Result<(), ActionError> {
    if !spot.to_persona {
        return Ok(());
    }
    if spot.depth > rules.max_depth as i32 {
        return Err(ActionError::Skip(format!("the thread reached CONVERSATION_MAX_DEPTH ({})", rules.max_depth)));
    }
    let replies = content::persona_replies_in_thread(c, spot.root, rules.max_depth as i32 + 1).await?;
    if replies >= i64::from(rules.max_replies_per_thread) {
        return Err(ActionError::Skip(format!(
            "the thread reached CONVERSATION_MAX_REPLIES_PER_THREAD ({})",
            rules.max_replies_per_thread
        )));
    }
    Ok(())
}

/// What was just published, where it sits.
struct Placement {
    comment_id: Uuid,
    depth: i32,
    root: Uuid,
    text: String,
    topics: Vec<String>,
    /// The persona whose content this answers (the post's author for a top-level comment).
    answered_persona: Option<Uuid>,
}

fn placement(prepared: &Prepared, content: &Content, published: &Published) -> Option<Placement> {
    let (Some(comment_id), Some("comment"), Draft::Comment { body }) =
        (published.result_id, published.result_type, &content.draft)
    else {
        return None;
    };
    Some(match &prepared.scene {
        Scene::Post(p) => Placement {
            comment_id,
            depth: 0,
            root: comment_id,
            text: body.clone(),
            topics: p.post.board_topics.clone(),
            answered_persona: p.post.author.persona_id(),
        },
        Scene::Thread(t) => Placement {
            comment_id,
            depth: t.target.depth + 1,
            root: t.ancestors.first().map(|c| c.id).unwrap_or(t.target.id),
            text: body.clone(),
            topics: t.post.board_topics.clone(),
            answered_persona: t.target.author.persona_id(),
        },
        Scene::Board(_) | Scene::Feed(_) | Scene::Reflection(_) => return None,
    })
}

fn seed_of(id: Uuid, salt: u64) -> u64 {
    crate::stable::hash(&[id.as_bytes()]) ^ salt
}

/// The follow-up reply (at most one) to what `author` just published, to be enqueued in the same
/// transaction. The draw is seeded by the new comment's id: the same comment gets the same decision.
pub(super) async fn follow_ups(
    tx: &impl GenericClient,
    engine: &Engine,
    author: &Persona,
    prepared: &Prepared,
    content: &Content,
    published: &Published,
    now: DateTime<Utc>,
) -> Result<Vec<NewTask>, DbError> {
    let rules = &engine.settings.conversation;
    let Some(place) = placement(prepared, content, published) else { return Ok(Vec::new()) };
    if place.depth + 1 > rules.max_depth as i32 {
        return Ok(Vec::new());
    }
    // Counts the comment just written: it is visible inside this transaction.
    if content::persona_replies_in_thread(tx, place.root, rules.max_depth as i32 + 1).await?
        >= i64::from(rules.max_replies_per_thread)
    {
        return Ok(Vec::new());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed_of(place.comment_id, engine.settings.rng_salt));
    let roll: f64 = rng.random();
    let answered_back = place.answered_persona.filter(|id| *id != author.id);
    let p = rules.reply_probability;
    let wanted: Option<Option<Uuid>> = match answered_back {
        // The one who was answered is most likely to answer back.
        Some(id) if roll < (2.0 * p).min(1.0) => Some(Some(id)),
        Some(_) => None,
        None if roll < p => Some(None),
        None => None,
    };
    let Some(only) = wanted else { return Ok(Vec::new()) };
    let candidates = personas::candidates(tx, now, None, Some(place.comment_id)).await?;
    let pool = Pool::new(&candidates, now);
    let subject = Subject::new(&place.topics, &place.text, Some(author.id), false).for_debate();
    let picked = pool.select(&subject, &engine.settings.limits, 1, &mut rng, |id| only.is_some_and(|o| o != id));
    let Some(&replier) = picked.first() else { return Ok(Vec::new()) };
    let Some(state) = candidates.iter().find(|c| c.persona.id == replier) else { return Ok(Vec::new()) };
    let p = &state.persona;
    let at = into_active_hours(
        &p.timezone,
        p.active_hours_start,
        p.active_hours_end,
        now + human_delay(engine.settings.delays.reply, &mut rng),
        &mut rng,
    );
    let mut task = REPLY.task(replier, Target::Comment(place.comment_id), at);
    task.id = Some(uuid::Builder::from_random_bytes(rng.random()).into_uuid());
    Ok(vec![task])
}
