//! A vote on a post or a comment: the persona decides up, down or none with one cheap structured call.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::offline::Writer;
use super::target::{self, Live};
use super::{Action, ActionError, Memory, Prepared, Published, Services, Step, Verb, View, Written, remember};
use crate::ai::Usage;
use crate::ai::parse::{self, ParseError, VoteDirection};
use crate::context::{PostContext, Scene, ThreadContext};
use crate::db::content::{self, VoteTarget};
use crate::db::memory::MemoryTarget;
use crate::persona::Persona;
use crate::prompt::Ask;
use crate::queue::{Target, TargetKind, Task};
use crate::voice::{self, Stance, Temperament};

/// What a vote is on: a post, or a comment in its thread.
#[derive(Debug, Clone)]
pub enum VoteOn {
    /// A post with its comments.
    Post(PostContext),
    /// A comment in its thread.
    Comment(ThreadContext),
}

impl View for VoteOn {
    fn scene(&self) -> Scene {
        match self {
            Self::Post(post) => Scene::Post(post.clone()),
            Self::Comment(thread) => Scene::Thread(thread.clone()),
        }
    }

    fn from_scene(scene: &Scene) -> Option<Self> {
        match scene {
            Scene::Post(post) => Some(Self::Post(post.clone())),
            Scene::Thread(thread) => Some(Self::Comment(thread.clone())),
            _ => None,
        }
    }
}

impl VoteOn {
    fn target(&self) -> VoteTarget {
        match self {
            Self::Post(post) => VoteTarget::Post(post.post.id),
            Self::Comment(thread) => VoteTarget::Comment(thread.target.id),
        }
    }
}

/// A vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteDraft {
    /// Up, down or none.
    pub direction: VoteDirection,
}

impl Written for VoteDraft {
    fn feeling(&self, _stance: Option<Stance>) -> Option<f32> {
        match self.direction {
            VoteDirection::Up => Some(0.1),
            VoteDirection::Down => Some(-0.2),
            VoteDirection::None => None,
        }
    }
}

fn vote_word(direction: VoteDirection) -> &'static str {
    match direction {
        VoteDirection::Up => "up",
        VoteDirection::Down => "down",
        VoteDirection::None => "none",
    }
}

/// Affinity (hundredths) at or below which a persona is at odds with someone and mostly votes them down.
pub const AT_ODDS: i16 = -40;

/// Votes on a post or a comment.
pub struct Vote;

#[async_trait]
impl Action for Vote {
    type Seen = VoteOn;
    type Draft = VoteDraft;
    type Made = ();

    fn name(&self) -> &'static str {
        "vote"
    }

    fn targets(&self) -> &'static [TargetKind] {
        &[TargetKind::Post, TargetKind::Comment]
    }

    fn verb(&self) -> Option<Verb> {
        Some(Verb { word: "vote", described: "\"vote\" on a post or a comment" })
    }

    async fn observe(
        &self,
        _services: &Services<'_>,
        db: &tokio_postgres::Client,
        _task: &Task,
        target: Option<Target>,
        persona: &Persona,
    ) -> Result<Prepared<VoteOn>, ActionError> {
        match target::for_task(db, target).await? {
            Live::Comment(comment, post) => {
                if comment.view.author.persona_id() == Some(persona.id) {
                    return Err(ActionError::Skip("a persona does not vote on its own comment".into()));
                }
                let comment_id = comment.view.id;
                Ok(Prepared {
                    seen: VoteOn::Comment(target::thread_scene(db, persona.id, comment, post).await?),
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
                    seen: VoteOn::Post(target::post_scene(db, persona.id, post).await?),
                    memory: Some(Memory { target: MemoryTarget::Post(post_id), action: "voted" }),
                    reply_spot: None,
                })
            }
            Live::Board(_) => Err(ActionError::Invalid("a vote task needs a post_id or a comment_id".into())),
        }
    }

    fn ask(&self, on: &VoteOn, _persona: &Persona, _seed: u64) -> Ask {
        let what = match on {
            VoteOn::Comment(_) => "the comment in question",
            VoteOn::Post(_) => "this post",
        };
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

    /// Most votes need no model: interest settles them, with the persona's temperament, how it feels
    /// about the author and whether the comment answers the persona itself. People downvote too: what
    /// is slight or beside the point to a critical voter, and people they are at odds with. Only what
    /// stays in between is asked.
    fn decide(&self, persona: &Persona, on: &VoteOn, seed: u64) -> Option<(VoteDraft, String)> {
        let (text, topics, toward) = match on {
            VoteOn::Post(p) => (format!("{} {}", p.post.title, p.post.body), p.post.board_topics.clone(), p.toward),
            VoteOn::Comment(t) => (t.target.body.clone(), t.post.board_topics.clone(), t.toward),
        };
        let words = text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2).count();
        let interest = crate::persona::interest(persona, &topics, &text);
        let answers_me = matches!(on, VoteOn::Comment(t)
            if t.ancestors.last().and_then(|c| c.author.persona_id()) == Some(persona.id));
        let substantial = words >= 8;
        // A little noise, as people have: the same persona does not always vote the same way.
        let coin = (crate::stable::hash(&[&seed.to_le_bytes(), b"vote"]) % 100) as u8;
        let decided = match (voice::voting(persona), interest) {
            _ if toward <= AT_ODDS && coin < 70 => Some((VoteDirection::Down, "at odds with whoever wrote it")),
            (Temperament::Critical, 0) if coin < 35 => {
                Some((VoteDirection::Down, "beside the point, to a critical voter"))
            }
            (_, 0) => Some((VoteDirection::None, "nothing in it for this persona")),
            (Temperament::Generous, _) if coin < 85 => Some((VoteDirection::Up, "it interests a generous voter")),
            (Temperament::Generous, _) => Some((VoteDirection::None, "a generous voter scrolled past")),
            (_, _) if answers_me && substantial => {
                Some((VoteDirection::Up, "a substantial answer to the persona's own comment"))
            }
            (Temperament::Balanced, 2) if substantial => Some((VoteDirection::Up, "squarely in its interests")),
            (Temperament::Critical, _) if !substantial && coin < 45 => {
                Some((VoteDirection::Down, "low-effort, to a critical voter"))
            }
            (Temperament::Critical, _) if !substantial => Some((VoteDirection::None, "too slight to bother with")),
            _ => None,
        };
        decided
            .map(|(d, why)| (VoteDraft { direction: d }, format!("voted {} without a model call: {why}", vote_word(d))))
    }

    fn parse(&self, answer: &str, _persona: &Persona) -> Result<VoteDraft, ParseError> {
        let map = parse::json_object(answer)?;
        Ok(VoteDraft { direction: parse::vote_direction(&map)? })
    }

    fn write_offline(&self, persona: &Persona, on: &VoteOn, seed: u64) -> serde_json::Value {
        json!({ "direction": Writer::new(self.name(), persona, &on.scene(), seed).vote() })
    }

    async fn render(
        &self,
        _services: &Services<'_>,
        _task: &Task,
        _persona: &Persona,
        _draft: &VoteDraft,
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
        prepared: &Prepared<VoteOn>,
        draft: VoteDraft,
        _made: (),
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError> {
        // The memory is written either way: "none" is a decision too, and the planner must not ask again.
        remember(tx, task, prepared.memory, now).await?;
        let Some(value) = draft.direction.value() else {
            return Ok(Published { result_id: None, result_type: None });
        };
        match content::insert_vote(tx, persona.id, prepared.seen.target(), value, now).await? {
            Some(id) => Ok(Published { result_id: Some(id), result_type: Some("vote") }),
            None => Err(ActionError::Skip("persona has already voted on this target".into())),
        }
    }
}
