//! A reply to a comment, in its thread. A reply may decline: conversations end.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::comment::said;
use super::conversation::ReplySpot;
use super::offline::Writer;
use super::target::{self, Live};
use super::{
    Action, ActionError, Memory, Prepared, Published, Services, Step, Verb, View, Written, content_id, remember,
};
use crate::ai::Usage;
use crate::ai::parse::{self, ParseError, limits};
use crate::context::ThreadContext;
use crate::db::content;
use crate::db::memory::MemoryTarget;
use crate::persona::Persona;
use crate::prompt::{Ask, text_field};
use crate::queue::{Target, TargetKind, Task};
use crate::voice::{self, Form, Stance};

/// Replies to a comment.
pub struct Reply;

/// A reply, or the decision not to answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ReplyDraft {
    /// What it answers.
    Reply {
        /// Text.
        body: String,
    },
    /// The persona has nothing worth adding to the conversation.
    NoReply,
}

impl Written for ReplyDraft {
    fn visible_text(&self) -> Option<String> {
        match self {
            Self::Reply { body } => Some(body.clone()),
            Self::NoReply => None,
        }
    }

    fn feeling(&self, stance: Option<Stance>) -> Option<f32> {
        matches!(self, Self::Reply { .. }).then(|| said(stance))
    }
}

#[async_trait]
impl Action for Reply {
    type Seen = ThreadContext;
    type Draft = ReplyDraft;
    type Made = ();

    fn name(&self) -> &'static str {
        "reply"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[TargetKind::Comment]
    }

    fn verb(&self) -> Option<Verb> {
        Some(Verb { word: "reply", described: "\"reply\" to a comment (an N or C id)" })
    }

    async fn observe(
        &self,
        _services: &Services<'_>,
        db: &tokio_postgres::Client,
        _task: &Task,
        target: Option<Target>,
        persona: &Persona,
    ) -> Result<Prepared<ThreadContext>, ActionError> {
        let Live::Comment(comment, post) = target::for_task(db, target).await? else {
            return Err(ActionError::Invalid("a reply task needs a comment_id".into()));
        };
        if comment.view.author.persona_id() == Some(persona.id) {
            return Err(ActionError::Skip("a persona does not reply to itself".into()));
        }
        let comment_id = comment.view.id;
        let thread = target::thread_scene(db, persona.id, comment, post).await?;
        let reply_spot = Some(ReplySpot {
            root: thread.ancestors.first().map(|c| c.id).unwrap_or(thread.target.id),
            depth: thread.target.depth + 1,
            to_persona: thread.target.author.persona_id().is_some(),
        });
        Ok(Prepared {
            seen: thread,
            memory: Some(Memory { target: MemoryTarget::Comment(comment_id), action: "replied" }),
            reply_spot,
        })
    }

    fn ask(&self, thread: &ThreadContext, persona: &Persona, seed: u64) -> Ask {
        let whom = thread.target.author.display();
        Ask::writing(
            format!(
                "Write your reply to {whom}, whose comment is the one in question. Talk to them directly, as in \
                 a conversation, and don't just restate what they said. Conversations end: if you have nothing \
                 worth adding, or would only repeat yourself, answer with decision \"no_reply\" and an empty \
                 body; otherwise decision \"reply\"."
            ),
            Some(voice::draw(persona, Form::Reply, thread.toward, seed)),
            json!({
                "type": "OBJECT",
                "properties": {
                    "decision": { "type": "STRING", "enum": ["reply", "no_reply"] },
                    "body": text_field("the text of your reply; empty for no_reply")
                },
                "required": ["decision", "body"],
                "propertyOrdering": ["decision", "body"]
            }),
        )
    }

    fn parse(&self, answer: &str, persona: &Persona) -> Result<ReplyDraft, ParseError> {
        let map = parse::json_object(answer)?;
        if parse::declines(&map) {
            return Ok(ReplyDraft::NoReply);
        }
        Ok(ReplyDraft::Reply { body: parse::field(&map, "body", limits::COMMENT_BODY, persona)? })
    }

    fn answer_from_session(&self, text: &str) -> Option<serde_json::Value> {
        Some(json!({ "decision": "reply", "body": text }))
    }

    fn write_offline(&self, persona: &Persona, thread: &ThreadContext, seed: u64) -> serde_json::Value {
        let scene = thread.scene();
        let mut writer = Writer::new(self.name(), persona, &scene, seed);
        if writer.lets_it_rest() {
            return json!({ "decision": "no_reply", "body": "" });
        }
        json!({ "decision": "reply", "body": writer.comment(true, seed) })
    }

    async fn render(
        &self,
        _services: &Services<'_>,
        _task: &Task,
        _persona: &Persona,
        _draft: &ReplyDraft,
        _resumed: Option<serde_json::Value>,
        _usage: &mut Usage,
    ) -> Result<Step<()>, ActionError> {
        Ok(Step::Ready(()))
    }

    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &Task,
        persona: &Persona,
        prepared: &Prepared<ThreadContext>,
        draft: ReplyDraft,
        _made: (),
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        let ReplyDraft::Reply { body } = draft else {
            return Err(ActionError::Skip(
                "the persona chose not to reply (the conversation has run its course)".into(),
            ));
        };
        let thread = &prepared.seen;
        let parent = (thread.target.id, thread.target.depth);
        let id = content::insert_comment(
            tx,
            content_id(task, "comment"),
            thread.post.id,
            Some(parent),
            persona.id,
            &body,
            now,
        )
        .await?;
        remember(tx, task, prepared.memory, now).await?;
        Ok(Published { result_id: Some(id), result_type: Some("comment") })
    }
}
