//! A top-level comment on a post.

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

/// Comments on a post.
pub struct Comment;

#[async_trait]
impl Action for Comment {
    fn name(&self) -> &'static str {
        "comment"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[TargetKind::Post]
    }

    async fn observe(
        &self,
        db: &tokio_postgres::Client,
        _task: &Task,
        target: Option<Target>,
        persona: &Persona,
        _engine: &Engine,
    ) -> Result<Prepared, ActionError> {
        let Live::Post(post) = target::for_task(db, target).await? else {
            return Err(ActionError::Invalid("a comment task needs a post_id".into()));
        };
        if post.view.author.persona_id() == Some(persona.id) {
            return Err(ActionError::Skip("persona wrote this post".into()));
        }
        let post_id = post.view.id;
        Ok(Prepared {
            scene: Scene::Post(target::post_scene(db, post).await?),
            memory: Some(Memory { target: MemoryTarget::Post(post_id), action: "commented" }),
            reply_spot: None,
        })
    }

    fn ask(&self, _scene: &Scene, persona: &Persona, seed: u64) -> Ask {
        Ask::writing(
            "Write a comment on this post. React to its specifics, and don't repeat what others already said."
                .to_owned(),
            Some(voice::draw(persona, Form::Comment, seed)),
            json!({
                "type": "OBJECT",
                "properties": { "body": text_field("the text of your comment") },
                "required": ["body"]
            }),
        )
    }

    fn parse(&self, answer: &str, persona: &Persona) -> Result<Draft, ParseError> {
        let map = parse::json_object(answer)?;
        Ok(Draft::Comment { body: parse::field(&map, "body", limits::COMMENT, persona)? })
    }

    fn write_offline(&self, persona: &Persona, scene: &Scene, seed: u64) -> serde_json::Value {
        json!({ "body": Writer::new(self.name(), persona, scene, seed).comment(false, seed) })
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
