//! An original text post on a board.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::offline::Writer;
use super::target::{self, Live};
use super::{Action, ActionError, Memory, Prepared, Published, Services, Step, View, Written, content_id, remember};
use crate::ai::Usage;
use crate::ai::parse::{self, ParseError, limits};
use crate::context::BoardView;
use crate::db::content;
use crate::db::memory::MemoryTarget;
use crate::db::trends as trends_db;
use crate::persona::Persona;
use crate::prompt::{Ask, text_field};
use crate::queue::{Target, TargetKind, Task};
use crate::trends;
use crate::voice::{self, Form};

/// Posts on a board.
pub struct Post;

/// A text post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostDraft {
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Its discovery tags, cleaned.
    pub tags: Vec<String>,
}

impl Written for PostDraft {
    fn visible_text(&self) -> Option<String> {
        // The body last: the marks of machine text look at how the text ends, and a tag is not an ending.
        Some(format!("{}\n\n{}\n\n{}", self.title, self.tags.join(", "), self.body))
    }

    fn stored_text(&self) -> Option<String> {
        Some(format!("{}\n\n{}", self.title, self.body))
    }
}

/// Stores a published post's tags; a platform whose `post_tags` refuses them gets the post without
/// them, and a warning (`doctor` names the table).
pub async fn tag(tx: &tokio_postgres::Transaction<'_>, post: uuid::Uuid, tags: &[String]) -> Result<(), ActionError> {
    if let Err(e) = trends_db::tag_post(tx, post, tags).await? {
        tracing::warn!(error = %e, "post published without its tags: post_tags refused them (see persona-engine doctor)");
    }
    Ok(())
}

/// A post kind's instructions: what to write, the tags, and the trending angles when the persona has any.
pub fn post_instructions(what: &str, board: &BoardView, persona: &Persona) -> String {
    let mut out = format!("{what} {}", trends::TAGS_INSTRUCTION);
    if let Some(angles) = trends::angles_instruction(board, persona) {
        out.push(' ');
        out.push_str(angles);
    }
    out
}

/// The id a board task's post gets: fixed from the task, because the memory row is keyed on it and a
/// retry must write the same row.
pub fn post_id(task: &Task) -> uuid::Uuid {
    content_id(task, "post")
}

/// The board every post kind looks at, with the memory that marks the post written.
pub async fn observe_board(
    db: &tokio_postgres::Client,
    task: &Task,
    target: Option<Target>,
) -> Result<Prepared<BoardView>, ActionError> {
    let Live::Board(board) = target::for_task(db, target).await? else {
        return Err(ActionError::Invalid(format!("a {} task needs a board_id", task.task_type)));
    };
    Ok(Prepared {
        seen: board,
        memory: Some(Memory { target: MemoryTarget::Post(post_id(task)), action: "posted" }),
        reply_spot: None,
    })
}

#[async_trait]
impl Action for Post {
    type Seen = BoardView;
    type Draft = PostDraft;
    type Made = ();

    fn name(&self) -> &'static str {
        "post"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[TargetKind::Board]
    }

    fn is_post(&self) -> bool {
        true
    }

    fn verb(&self) -> Option<super::Verb> {
        Some(super::POST_VERB)
    }

    async fn observe(
        &self,
        _services: &Services<'_>,
        db: &tokio_postgres::Client,
        task: &Task,
        target: Option<Target>,
        _persona: &Persona,
    ) -> Result<Prepared<BoardView>, ActionError> {
        observe_board(db, task, target).await
    }

    // The board's name is the platform's string: it is in the context as data, not in the task.
    fn ask(&self, board: &BoardView, persona: &Persona, seed: u64) -> Ask {
        Ask::writing(
            post_instructions(
                "Write a new post for the board above, about something you would really post there given your \
                 interests and what you have been up to. A plain, specific title (under 120 characters, no \
                 clickbait) and the body.",
                board,
                persona,
            ),
            Some(voice::draw(persona, Form::Post, 0, seed)),
            json!({
                "type": "OBJECT",
                "properties": {
                    "title": text_field("the post title"),
                    "body": text_field("the post body"),
                    "tags": trends::schema_field()
                },
                "required": ["title", "body", "tags"],
                "propertyOrdering": ["title", "body", "tags"]
            }),
        )
    }

    fn parse(&self, answer: &str, persona: &Persona) -> Result<PostDraft, ParseError> {
        let map = parse::json_object(answer)?;
        Ok(PostDraft {
            title: parse::field(&map, "title", limits::TITLE, persona)?,
            body: parse::field(&map, "body", limits::POST_BODY, persona)?,
            tags: trends::from_answer(&map)?,
        })
    }

    fn write_offline(&self, persona: &Persona, board: &BoardView, seed: u64) -> serde_json::Value {
        let scene = board.scene();
        let mut writer = Writer::new(self.name(), persona, &scene, seed);
        let (title, body) = writer.post(seed);
        let tags = writer.tags(board);
        json!({ "title": title, "body": body, "tags": tags })
    }

    async fn render(
        &self,
        _services: &Services<'_>,
        _task: &Task,
        _persona: &Persona,
        _draft: &PostDraft,
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
        prepared: &Prepared<BoardView>,
        draft: PostDraft,
        _made: (),
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        let id = content::insert_post(tx, post_id(task), prepared.seen.id, persona.id, &draft.title, &draft.body, now)
            .await?;
        tag(tx, id, &draft.tags).await?;
        remember(tx, task, prepared.memory, now).await?;
        Ok(Published { result_id: Some(id), result_type: Some("post") })
    }
}
