//! A reply to a comment, in its thread.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    Action, ActionError, Content, Prepared, Published, Scene, content_id, live_comment, remember, thread_scene,
};
use crate::ai::parse::Draft;
use crate::db::content;
use crate::db::memory::MemoryTarget;
use crate::persona::Persona;
use crate::queue::{Task, TaskType};

/// Replies to `task.comment_id`.
pub struct ReplyAction;

#[async_trait]
impl Action for ReplyAction {
    fn kind(&self) -> TaskType {
        TaskType::Reply
    }

    async fn observe(
        &self,
        db: &tokio_postgres::Client,
        task: &Task,
        persona: &Persona,
    ) -> Result<Prepared, ActionError> {
        let comment_id =
            task.comment_id.ok_or_else(|| ActionError::Invalid("a reply task needs a comment_id".into()))?;
        let (comment, post) = live_comment(db, comment_id).await?;
        if comment.view.author.persona_id() == Some(persona.id) {
            return Err(ActionError::Skip("a persona does not reply to itself".into()));
        }
        Ok(Prepared {
            scene: Scene::Thread(thread_scene(db, comment, post).await?),
            memory_target: MemoryTarget::Comment(comment_id),
            memory_action: "replied",
        })
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
