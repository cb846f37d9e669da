//! A vote on a post or a comment: the persona decides up, down or none with one cheap structured call.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::offline::Writer;
use super::target::{self, Live};
use super::{Action, ActionError, Content, Memory, Prepared, Published, remember};
use crate::ai::parse::{self, Draft, ParseError, VoteDirection};
use crate::context::Scene;
use crate::db::content::{self, VoteTarget};
use crate::db::memory::MemoryTarget;
use crate::engine::Engine;
use crate::persona::Persona;
use crate::prompt::Ask;
use crate::queue::{Target, TargetKind, Task};
use crate::voice::{self, Temperament};

fn vote_word(direction: VoteDirection) -> &'static str {
    match direction {
        VoteDirection::Up => "up",
        VoteDirection::Down => "down",
        VoteDirection::None => "none",
    }
}

/// Votes on a post or a comment.
pub struct Vote;

#[async_trait]
impl Action for Vote {
    fn name(&self) -> &'static str {
        "vote"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[TargetKind::Post, TargetKind::Comment]
    }

    async fn observe(
        &self,
        db: &tokio_postgres::Client,
        _task: &Task,
        target: Option<Target>,
        persona: &Persona,
        _engine: &Engine,
    ) -> Result<Prepared, ActionError> {
        match target::for_task(db, target).await? {
            Live::Comment(comment, post) => {
                if comment.view.author.persona_id() == Some(persona.id) {
                    return Err(ActionError::Skip("a persona does not vote on its own comment".into()));
                }
                let comment_id = comment.view.id;
                Ok(Prepared {
                    scene: Scene::Thread(target::thread_scene(db, comment, post).await?),
                    memory: Some(Memory { target: MemoryTarget::Comment(comment_id), action: "voted" }),
                    reply_spot: None,
                })
            }
            Live::Post(post) => {
                if post.view.author.persona_id() == Some(persona.id) {
                    return Err(ActionError::Skip("a persona does not vote on its own post".into()));
                }
                let post_id = post.view.id;
                Ok(Prepared {
                    scene: Scene::Post(target::post_scene(db, post).await?),
                    memory: Some(Memory { target: MemoryTarget::Post(post_id), action: "voted" }),
                    reply_spot: None,
                })
            }
            Live::Board(_) => Err(ActionError::Invalid("a vote task needs a post_id or a comment_id".into())),
        }
    }

    fn ask(&self, scene: &Scene, _persona: &Persona, _seed: u64) -> Ask {
        let what = if scene.comment().is_some() { "the comment in question" } else { "this post" };
        Ask::decision(
            format!(
                "Decide how you vote on {what}: \"up\" if you find it useful, interesting or agree with it, \
                 \"down\" if it is low-effort, wrong or rude, \"none\" if you don't care either way. Most things \
                 get none or up."
            ),
            json!({
                "type": "OBJECT",
                "properties": { "direction": { "type": "STRING", "enum": ["up", "down", "none"] } },
                "required": ["direction"]
            }),
        )
    }

    /// Most votes need no model: interest settles them, with the persona's temperament and whether the
    /// comment answers the persona itself. Only what stays in between is asked.
    fn decide(&self, persona: &Persona, scene: &Scene, seed: u64) -> Option<(Draft, String)> {
        let direction = |d| Draft::Vote { direction: d };
        let (text, topics) = match scene {
            Scene::Post(p) => (format!("{} {}", p.post.title, p.post.body), p.post.board_topics.clone()),
            Scene::Thread(t) => (t.target.body.clone(), t.post.board_topics.clone()),
            Scene::Board(_) | Scene::Feed(_) | Scene::Reflection(_) => return None,
        };
        let words = text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2).count();
        let interest = crate::persona::interest(persona, &topics, &text);
        let answers_me = matches!(scene, Scene::Thread(t)
            if t.ancestors.last().and_then(|c| c.author.persona_id()) == Some(persona.id));
        let substantial = words >= 8;
        // A little noise, as people have: the same persona does not always vote the same way.
        let coin = (crate::stable::hash(&[&seed.to_le_bytes(), b"vote"]) % 100) as u8;
        let decided = match (voice::voting(persona), interest) {
            (_, 0) => Some((VoteDirection::None, "nothing in it for this persona")),
            (Temperament::Generous, _) if coin < 85 => Some((VoteDirection::Up, "it interests a generous voter")),
            (Temperament::Generous, _) => Some((VoteDirection::None, "a generous voter scrolled past")),
            (_, _) if answers_me && substantial => {
                Some((VoteDirection::Up, "a substantial answer to the persona's own comment"))
            }
            (Temperament::Balanced, 2) if substantial => Some((VoteDirection::Up, "squarely in its interests")),
            (Temperament::Critical, _) if !substantial => Some((VoteDirection::None, "too slight to bother with")),
            _ => None,
        };
        decided.map(|(d, why)| (direction(d), format!("voted {} without a model call: {why}", vote_word(d))))
    }

    fn parse(&self, answer: &str, _persona: &Persona) -> Result<Draft, ParseError> {
        let map = parse::json_object(answer)?;
        Ok(Draft::Vote { direction: parse::vote_direction(&map)? })
    }

    fn write_offline(&self, persona: &Persona, scene: &Scene, seed: u64) -> serde_json::Value {
        json!({ "direction": Writer::new(self.name(), persona, scene, seed).vote() })
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
        let target = match prepared.memory.map(|m| m.target) {
            Some(MemoryTarget::Post(id)) => VoteTarget::Post(id),
            Some(MemoryTarget::Comment(id)) => VoteTarget::Comment(id),
            None => return Err(ActionError::Invalid("a vote task has no target".into())),
        };
        match content::insert_vote(tx, persona.id, target, value, now).await? {
            Some(id) => Ok(Published { result_id: Some(id), result_type: Some("vote") }),
            None => Err(ActionError::Skip("persona has already voted on this target".into())),
        }
    }
}
