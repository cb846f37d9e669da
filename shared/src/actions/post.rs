//! An original text post on a board.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Action, ActionError, Content, Prepared, Published, Scene, bounds, content_id, remember};
use crate::ai::parse::Draft;
use crate::db::content;
use crate::db::memory::MemoryTarget;
use crate::persona::Persona;
use crate::queue::{Task, TaskType};

/// Posts on `task.board_id`.
pub struct PostAction;

/// The board scene shared by text and image posts. The new post's id is fixed now, because the memory
/// row is keyed on it.
pub(super) async fn observe_board(db: &tokio_postgres::Client, task: &Task) -> Result<Prepared, ActionError> {
    let board_id =
        task.board_id.ok_or_else(|| ActionError::Invalid(format!("a {} task needs a board_id", task.task_type)))?;
    let board = content::board(db, board_id, bounds::BOARD_TITLES)
        .await?
        .ok_or_else(|| ActionError::Skip("board was deleted".into()))?;
    Ok(Prepared {
        scene: Scene::Board(board),
        memory_target: MemoryTarget::Post(content_id(task, "post")),
        memory_action: "posted",
    })
}

#[async_trait]
impl Action for PostAction {
    fn kind(&self) -> TaskType {
        TaskType::Post
    }

    async fn observe(
        &self,
        db: &tokio_postgres::Client,
        task: &Task,
        _persona: &Persona,
    ) -> Result<Prepared, ActionError> {
        observe_board(db, task).await
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
        let (Draft::Post { title, body }, Scene::Board(board), MemoryTarget::Post(post_id)) =
            (&content.draft, &prepared.scene, prepared.memory_target)
        else {
            return Err(ActionError::Invalid("a post task produced something other than a post".into()));
        };
        let id = content::insert_post(tx, post_id, board.id, persona.id, title, body, now).await?;
        remember(tx, task, prepared, now).await?;
        Ok(Published { result_id: Some(id), result_type: Some("post") })
    }
}
