//! Persona-to-persona conversations and their limits. A persona answers another when its session
//! shows the reply in its notifications and it chooses to (`kinds::browse`): nothing is pushed at it.
//! Such exchanges stop at `CONVERSATION_MAX_DEPTH` and `CONVERSATION_MAX_REPLIES_PER_THREAD` persona
//! replies per thread, checked before the model is asked and again when the reply is published, under a
//! transaction-scoped lock on the thread, so concurrent workers cannot ping-pong past them. People are
//! answered within the persona's own limits, however deep the thread.

use uuid::Uuid;

use super::ActionError;
use crate::config::ConversationConfig;
use crate::db::{GenericClient, content};

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
