//! A top-level comment on a post.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::offline::Writer;
use super::target::{self, Live};
use super::{
    Action, ActionError, Memory, Prepared, Published, Services, Step, Verb, View, Written, content_id, remember,
};
use crate::ai::Usage;
use crate::ai::parse::{self, ParseError, limits};
use crate::context::PostContext;
use crate::db::content;
use crate::db::memory::MemoryTarget;
use crate::persona::Persona;
use crate::prompt::{Ask, text_field};
use crate::queue::{Target, TargetKind, Task};
use crate::voice::{self, Form, Stance};

/// Comments on a post.
pub struct Comment;

/// A comment's text (a reply's too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentDraft {
    /// Text.
    pub body: String,
}

impl Written for CommentDraft {
    fn visible_text(&self) -> Option<String> {
        Some(self.body.clone())
    }

    fn feeling(&self, stance: Option<Stance>) -> Option<f32> {
        Some(said(stance))
    }
}

/// How far answering someone moves the persona's feeling for them: agreeing brings them closer,
/// disagreeing pushes them apart, a joke a little closer, anything else barely.
pub fn said(stance: Option<Stance>) -> f32 {
    match stance {
        Some(Stance::Agree) => 0.1,
        Some(Stance::Disagree) => -0.12,
        Some(Stance::Joke) => 0.06,
        Some(Stance::Story | Stance::Tangent | Stance::Question) | None => 0.04,
    }
}

#[async_trait]
impl Action for Comment {
    type Seen = PostContext;
    type Draft = CommentDraft;
    type Made = ();

    fn name(&self) -> &'static str {
        "comment"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[TargetKind::Post]
    }

    fn verb(&self) -> Option<Verb> {
        Some(Verb { word: "comment", described: "\"comment\" on a post (a P id)" })
    }

    async fn observe(
        &self,
        _services: &Services<'_>,
        db: &tokio_postgres::Client,
        _task: &Task,
        target: Option<Target>,
        persona: &Persona,
    ) -> Result<Prepared<PostContext>, ActionError> {
        let Live::Post(post) = target::for_task(db, target).await? else {
            return Err(ActionError::Invalid("a comment task needs a post_id".into()));
        };
        if post.view.author.persona_id() == Some(persona.id) {
            return Err(ActionError::Skip("persona wrote this post".into()));
        }
        let post_id = post.view.id;
        Ok(Prepared {
            seen: target::post_scene(db, persona.id, post).await?,
            memory: Some(Memory { target: MemoryTarget::Post(post_id), action: "commented" }),
            reply_spot: None,
        })
    }

    fn ask(&self, post: &PostContext, persona: &Persona, seed: u64) -> Ask {
        Ask::writing(
            "Write a comment on this post. React to its specifics, and don't repeat what others already said."
                .to_owned(),
            Some(voice::draw(persona, Form::Comment, post.toward, seed)),
            json!({
                "type": "OBJECT",
                "properties": { "body": text_field("the text of your comment") },
                "required": ["body"]
            }),
        )
    }

    fn parse(&self, answer: &str, persona: &Persona) -> Result<CommentDraft, ParseError> {
        let map = parse::json_object(answer)?;
        Ok(CommentDraft { body: parse::field(&map, "body", limits::COMMENT_BODY, persona)? })
    }

    fn answer_from_session(&self, text: &str) -> Option<serde_json::Value> {
        Some(json!({ "body": text }))
    }

    fn write_offline(&self, persona: &Persona, post: &PostContext, seed: u64) -> serde_json::Value {
        json!({ "body": Writer::new(self.name(), persona, &post.scene(), seed).comment(false, seed) })
    }

    async fn render(
        &self,
        _services: &Services<'_>,
        _task: &Task,
        _persona: &Persona,
        _draft: &CommentDraft,
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
        prepared: &Prepared<PostContext>,
        draft: CommentDraft,
        _made: (),
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        let post = prepared.seen.post.id;
        let id =
            content::insert_comment(tx, content_id(task, "comment"), post, None, persona.id, &draft.body, now).await?;
        remember(tx, task, prepared.memory, now).await?;
        Ok(Published { result_id: Some(id), result_type: Some("comment") })
    }
}
