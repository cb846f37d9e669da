//! An original text post on a board.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;

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

/// Posts on a board.
pub struct Post;

/// The board scene shared by text and image posts. The new post's id is fixed now, because the memory
/// row is keyed on it.
pub(super) async fn observe_board(
    db: &tokio_postgres::Client,
    task: &Task,
    target: Option<Target>,
) -> Result<Prepared, ActionError> {
    let Live::Board(board) = target::for_task(db, target).await? else {
        return Err(ActionError::Invalid(format!("a {} task needs a board_id", task.task_type)));
    };
    Ok(Prepared {
        scene: Scene::Board(board),
        memory: Some(Memory { target: MemoryTarget::Post(content_id(task, "post")), action: "posted" }),
        reply_spot: None,
    })
}

#[async_trait]
impl Action for Post {
    fn name(&self) -> &'static str {
        "post"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[TargetKind::Board]
    }

    fn is_post(&self) -> bool {
        true
    }

    async fn observe(
        &self,
        db: &tokio_postgres::Client,
        task: &Task,
        target: Option<Target>,
        _persona: &Persona,
        _engine: &Engine,
    ) -> Result<Prepared, ActionError> {
        observe_board(db, task, target).await
    }

    // The board's name is the platform's string: it is in the context as data, not in the task.
    fn ask(&self, _scene: &Scene, persona: &Persona, seed: u64) -> Ask {
        Ask::writing(
            "Write a new post for the board above, about something you would really post there given your interests \
                 and what you have been up to. A plain, specific title (under 120 characters, no clickbait) and \
                 the body."
                .to_owned(),
            Some(voice::draw(persona, Form::Post, seed)),
            json!({
                "type": "OBJECT",
                "properties": { "title": text_field("the post title"), "body": text_field("the post body") },
                "required": ["title", "body"],
                "propertyOrdering": ["title", "body"]
            }),
        )
    }

    fn parse(&self, answer: &str, persona: &Persona) -> Result<Draft, ParseError> {
        let map = parse::json_object(answer)?;
        Ok(Draft::Post {
            title: parse::field(&map, "title", limits::TITLE, persona)?,
            body: parse::field(&map, "body", limits::POST_BODY, persona)?,
        })
    }

    fn write_offline(&self, persona: &Persona, scene: &Scene, seed: u64) -> serde_json::Value {
        let (title, body) = Writer::new(self.name(), persona, scene, seed).post(seed);
        json!({ "title": title, "body": body })
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
        let (
            Draft::Post { title, body },
            Scene::Board(board),
            Some(Memory { target: MemoryTarget::Post(post_id), .. }),
        ) = (&content.draft, &prepared.scene, prepared.memory)
        else {
            return Err(ActionError::Invalid("a post task produced something other than a post".into()));
        };
        let id = content::insert_post(tx, post_id, board.id, persona.id, title, body, now).await?;
        remember(tx, task, prepared, now).await?;
        Ok(Published { result_id: Some(id), result_type: Some("post") })
    }
}
