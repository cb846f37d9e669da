//! A reply to a comment, in its thread. A reply may decline: conversations end.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::conversation::ReplySpot;
use super::offline::Writer;
use super::target::{self, Live};
use super::{Action, ActionError, Content, Memory, Prepared, Published, content_id, remember};
use crate::ai::parse::{self, Draft, ParseError, limits};
use crate::context::Scene;
use crate::db::content;
use crate::db::memory::MemoryTarget;
use crate::engine::Engine;
use crate::persona::Persona;
use crate::prompt::{Ask, text_field};
use crate::queue::{Target, TargetKind, Task};
use crate::voice::{self, Form};

/// Replies to a comment.
pub struct Reply;

#[async_trait]
impl Action for Reply {
    fn name(&self) -> &'static str {
        "reply"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[TargetKind::Comment]
    }

    async fn observe(
        &self,
        db: &tokio_postgres::Client,
        _task: &Task,
        target: Option<Target>,
        persona: &Persona,
        _engine: &Engine,
    ) -> Result<Prepared, ActionError> {
        let Live::Comment(comment, post) = target::for_task(db, target).await? else {
            return Err(ActionError::Invalid("a reply task needs a comment_id".into()));
        };
        if comment.view.author.persona_id() == Some(persona.id) {
            return Err(ActionError::Skip("a persona does not reply to itself".into()));
        }
        let comment_id = comment.view.id;
        let thread = target::thread_scene(db, comment, post).await?;
        let reply_spot = Some(ReplySpot {
            root: thread.ancestors.first().map(|c| c.id).unwrap_or(thread.target.id),
            depth: thread.target.depth + 1,
            to_persona: thread.target.author.persona_id().is_some(),
        });
        Ok(Prepared {
            scene: Scene::Thread(thread),
            memory: Some(Memory { target: MemoryTarget::Comment(comment_id), action: "replied" }),
            reply_spot,
        })
    }

    fn ask(&self, scene: &Scene, persona: &Persona, seed: u64) -> Ask {
        let whom = scene.comment().map(|c| c.author.display()).unwrap_or_default();
        Ask::writing(
            format!(
                "Write your reply to {whom}, whose comment is the one in question. Talk to them directly, as in \
                 a conversation, and don't just restate what they said. Conversations end: if you have nothing \
                 worth adding, or would only repeat yourself, answer with decision \"no_reply\" and an empty \
                 body; otherwise decision \"reply\"."
            ),
            Some(voice::draw(persona, Form::Reply, seed)),
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

    fn parse(&self, answer: &str, persona: &Persona) -> Result<Draft, ParseError> {
        let map = parse::json_object(answer)?;
        if parse::declines(&map) {
            return Ok(Draft::NoReply);
        }
        Ok(Draft::Comment { body: parse::field(&map, "body", limits::COMMENT, persona)? })
    }

    fn write_offline(&self, persona: &Persona, scene: &Scene, seed: u64) -> serde_json::Value {
        let mut writer = Writer::new(self.name(), persona, scene, seed);
        if writer.lets_it_rest() {
            return json!({ "decision": "no_reply", "body": "" });
        }
        json!({ "decision": "reply", "body": writer.comment(true, seed) })
    }

    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &Task,
        persona: &Persona,
        prepared: &Prepared,
        content: &Content,
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        let Scene::Thread(thread) = &prepared.scene else {
            return Err(ActionError::Invalid("a reply task reached publishing without its thread".into()));
        };
        let body = match &content.draft {
            Draft::Comment { body } => body,
            Draft::NoReply => {
                return Err(ActionError::Skip(
                    "the persona chose not to reply (the conversation has run its course)".into(),
                ));
            }
            _ => return Err(ActionError::Invalid("a reply task produced something other than a reply".into())),
        };
        let parent = (thread.target.id, thread.target.depth);
        let id = content::insert_comment(
            tx,
            content_id(task, "comment"),
            thread.post.id,
            Some(parent),
            persona.id,
            body,
            now,
        )
        .await?;
        remember(tx, task, prepared, now).await?;
        Ok(Published { result_id: Some(id), result_type: Some("comment") })
    }
}
