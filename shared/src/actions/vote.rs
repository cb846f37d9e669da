//! A vote on a post or a comment: the persona decides up, down or none with one cheap structured call.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    Action, ActionError, Content, Prepared, Published, Scene, live_comment, live_post, post_scene, remember,
    thread_scene,
};
use crate::ai::parse::Draft;
use crate::db::content::{self, VoteTarget};
use crate::db::memory::MemoryTarget;
use crate::persona::Persona;
use crate::queue::{Task, TaskType};

/// Votes on `task.comment_id` when set, else on `task.post_id`.
pub struct VoteAction;

#[async_trait]
impl Action for VoteAction {
    fn kind(&self) -> TaskType {
        TaskType::Vote
    }

    async fn observe(
        &self,
        db: &tokio_postgres::Client,
        task: &Task,
        persona: &Persona,
    ) -> Result<Prepared, ActionError> {
        match (task.comment_id, task.post_id) {
            (Some(comment_id), _) => {
                let (comment, post) = live_comment(db, comment_id).await?;
                if comment.view.author.persona_id() == Some(persona.id) {
                    return Err(ActionError::Skip("a persona does not vote on its own comment".into()));
                }
                Ok(Prepared {
                    scene: Scene::Thread(thread_scene(db, comment, post).await?),
                    memory_target: MemoryTarget::Comment(comment_id),
                    memory_action: "voted",
                })
            }
            (None, Some(post_id)) => {
                let post = live_post(db, post_id).await?;
                if post.view.author.persona_id() == Some(persona.id) {
                    return Err(ActionError::Skip("a persona does not vote on its own post".into()));
                }
                Ok(Prepared {
                    scene: Scene::Post(post_scene(db, post).await?),
                    memory_target: MemoryTarget::Post(post_id),
                    memory_action: "voted",
                })
            }
            (None, None) => Err(ActionError::Invalid("a vote task needs a post_id or a comment_id".into())),
        }
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
        let Draft::Vote { direction } = content.draft else {
            return Err(ActionError::Invalid("a vote task produced something other than a vote".into()));
        };
        // The memory is written either way: "none" is a decision too, and the planner must not ask again.
        remember(tx, task, prepared, now).await?;
        let Some(value) = direction.value() else {
            return Ok(Published { result_id: None, result_type: None });
        };
        let target = match prepared.memory_target {
            MemoryTarget::Post(id) => VoteTarget::Post(id),
            MemoryTarget::Comment(id) => VoteTarget::Comment(id),
        };
        match content::insert_vote(tx, persona.id, target, value, now).await? {
            Some(id) => Ok(Published { result_id: Some(id), result_type: Some("vote") }),
            None => Err(ActionError::Skip("persona has already voted on this target".into())),
        }
    }
}
