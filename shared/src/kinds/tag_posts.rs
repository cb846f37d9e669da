//! Tags for people's posts (`TAG_HUMAN_POSTS`, off by default): one cheap model call tags a batch of
//! people's untagged posts from the last two days. The planner gives the task to one active persona
//! (a task needs one); it is bookkeeping, not something the persona does, so it counts against no cap.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{Action, ActionError, Prepared, Published, Services, Step, Written};
use crate::ai::Usage;
use crate::ai::parse::{self, ParseError};
use crate::context::{TaggingView, Untagged};
use crate::db::trends as trends_db;
use crate::persona::Persona;
use crate::prompt::Ask;
use crate::queue::{Target, TargetKind, Task};
use crate::trends;

/// Posts tagged in one call at most.
pub const BATCH: i64 = 20;
/// How far back people's posts are tagged.
pub const WINDOW_HOURS: i64 = 48;

/// The `tag_posts` kind.
pub struct TagPosts;

/// The tags the model gave each post it was shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagsDraft {
    /// Post and its cleaned tags (posts whose tags were unusable are left out).
    pub posts: Vec<(Uuid, Vec<String>)>,
}

impl Written for TagsDraft {
    /// Tags are published text: the gate reads them all.
    fn visible_text(&self) -> Option<String> {
        let all: Vec<String> = self.posts.iter().map(|(_, tags)| tags.join(", ")).collect();
        (!all.is_empty()).then(|| all.join("\n"))
    }

    /// Tags, not sentences: moderation reads them, the style marks do not ("thoughts" is a tag here,
    /// not a closing line).
    fn is_prose(&self) -> bool {
        false
    }
}

#[async_trait]
impl Action for TagPosts {
    type Seen = TaggingView;
    type Draft = TagsDraft;
    type Made = ();

    fn name(&self) -> &'static str {
        "tag_posts"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[]
    }

    fn is_action(&self) -> bool {
        false
    }

    async fn observe(
        &self,
        services: &Services<'_>,
        db: &tokio_postgres::Client,
        _task: &Task,
        _target: Option<Target>,
        _persona: &Persona,
    ) -> Result<Prepared<TaggingView>, ActionError> {
        let now = services.clock.now();
        let posts = trends_db::untagged_human_posts(db, now - Duration::hours(WINDOW_HOURS), now, BATCH).await?;
        if posts.is_empty() {
            return Err(ActionError::Skip("no untagged posts by people".into()));
        }
        Ok(Prepared { seen: TaggingView { posts }, memory: None, reply_spot: None })
    }

    fn ask(&self, _view: &TaggingView, _persona: &Persona, _seed: u64) -> Ask {
        let mut ask = Ask::decision(
            format!(
                "Tag each post above the way a regular of its board would, so others find it. For every post, its \
                 id exactly as shown and its tags. {}",
                trends::TAGS_INSTRUCTION.trim_start_matches("Then ")
            ),
            json!({
                "type": "OBJECT",
                "properties": {
                    "posts": {
                        "type": "ARRAY",
                        "items": {
                            "type": "OBJECT",
                            "properties": {
                                "id": { "type": "STRING", "description": "the post's id, as shown" },
                                "tags": trends::schema_field()
                            },
                            "required": ["id", "tags"],
                            "propertyOrdering": ["id", "tags"]
                        }
                    }
                },
                "required": ["posts"]
            }),
        );
        ask.max_output_tokens = 2048;
        ask
    }

    fn parse(&self, answer: &str, _persona: &Persona) -> Result<TagsDraft, ParseError> {
        let map = parse::json_object(answer)?;
        let list = map.get("posts").and_then(serde_json::Value::as_array).ok_or(ParseError::Missing("posts"))?;
        let mut posts: Vec<(Uuid, Vec<String>)> = Vec::new();
        for entry in list.iter().take(BATCH as usize) {
            let Some(entry) = entry.as_object() else { continue };
            let Some(id) = entry.get("id").and_then(serde_json::Value::as_str).and_then(|s| s.trim().parse().ok())
            else {
                continue;
            };
            // One post's unusable tags cost that post its tags, not the batch.
            if let Ok(tags) = trends::from_answer(entry)
                && !posts.iter().any(|(seen, _)| *seen == id)
            {
                posts.push((id, tags));
            }
        }
        if posts.is_empty() {
            return Err(ParseError::TooFewTags { usable: 0, min: trends::MIN_TAGS, refused: String::new() });
        }
        Ok(TagsDraft { posts })
    }

    fn write_offline(&self, _persona: &Persona, view: &TaggingView, _seed: u64) -> serde_json::Value {
        let posts: Vec<serde_json::Value> =
            view.posts.iter().map(|p| json!({ "id": p.id.to_string(), "tags": offline_tags(p) })).collect();
        json!({ "posts": posts })
    }

    async fn render(
        &self,
        _services: &Services<'_>,
        _task: &Task,
        _persona: &Persona,
        _draft: &TagsDraft,
        _resumed: Option<serde_json::Value>,
        _usage: &mut Usage,
    ) -> Result<Step<()>, ActionError> {
        Ok(Step::Ready(()))
    }

    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        _task: &Task,
        _persona: &Persona,
        prepared: &Prepared<TaggingView>,
        draft: TagsDraft,
        _made: (),
        _now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        // Only the posts it was shown: an id the model made up or copied from a post's text tags nothing.
        let shown: HashSet<Uuid> = prepared.seen.posts.iter().map(|p| p.id).collect();
        for (id, tags) in draft.posts.iter().filter(|(id, _)| shown.contains(id)) {
            trends_db::insert_tags(tx, *id, tags).await?;
        }
        Ok(Published { result_id: None, result_type: None })
    }
}

/// The offline writer's tags for a person's post: its board's topics (broad) and its longest words
/// (niche).
fn offline_tags(post: &Untagged) -> Vec<String> {
    let text = format!("{} {}", post.title, post.body);
    let raw = post.board_topics.iter().map(String::as_str).take(2).chain(trends::longest_words(&text, 6, 2));
    let mut tags = trends::clean(raw).tags;
    if tags.len() < trends::MIN_TAGS {
        tags.push("discussion".into());
        tags.dedup();
    }
    tags
}
