//! A top-level comment on a post.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Action, ActionError, Content, Prepared, Published, Scene, content_id, live_post, post_scene, remember};
use crate::ai::parse::Draft;
use crate::db::content;
use crate::db::memory::MemoryTarget;
use crate::persona::Persona;
use crate::queue::{Task, TaskType};

/// Comments on `task.post_id`.
pub struct CommentAction;

#[async_trait]
impl Action for CommentAction {
    fn kind(&self) -> TaskType {
        TaskType::Comment
    }

    async fn observe(
        &self,
        db: &tokio_postgres::Client,
        task: &Task,
        persona: &Persona,
    ) -> Result<Prepared, ActionError> {
        let post_id = task.post_id.ok_or_else(|| ActionError::Invalid("a comment task needs a post_id".into()))?;
        let post = live_post(db, post_id).await?;
        if post.view.author.persona_id() == Some(persona.id) {
            return Err(ActionError::Skip("persona wrote this post".into()));
        }
        Ok(Prepared {
            scene: Scene::Post(post_scene(db, post).await?),
            memory_target: MemoryTarget::Post(post_id),
            memory_action: "commented",
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
        let (Draft::Comment { body }, Scene::Post(post)) = (&content.draft, &prepared.scene) else {
            return Err(ActionError::Invalid("a comment task produced something other than a comment".into()));
        };
        let id =
            content::insert_comment(tx, content_id(task, "comment"), post.post.id, None, persona.id, body, now).await?;
        remember(tx, task, prepared, now).await?;
        Ok(Published { result_id: Some(id), result_type: Some("comment") })
    }
}
