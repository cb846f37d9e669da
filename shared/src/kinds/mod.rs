//! Kinds of work. A kind — comment, reply, vote, post, image post — is one module that owns everything
//! about it: what it acts on, what the persona sees, what the model is asked and in what shape it
//! answers, how the answer becomes a draft, what the offline writer says, whether it counts as a post
//! for the limits, and how it is published. Each implements [`Action`]; the [`Registry`] lists them,
//! and the worker, the planner, the admin API and the CLI find a kind there by its name.
//!
//! Adding a kind is its module and one line in [`Registry::standard`] (docs/ARCHITECTURE.md walks
//! through it). Code that chooses a kind to enqueue names it (`COMMENT.task(…)`); nothing else matches
//! on kinds.

pub mod browse;
pub mod comment;
pub mod image_post;
pub mod offline;
pub mod post;
pub mod reflect;
pub mod reply;
pub mod target;
pub mod vote;

mod compose;
mod conversation;
mod gate;
mod pipeline;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

pub use compose::{Composed, Gate, Verdict};
pub use conversation::ReplySpot;
pub use pipeline::{DryRun, RunOutcome, TaskReport, dry_run, run_task};

use crate::ai::parse::{Draft, ParseError};
use crate::ai::{ModelError, OfflineAnswer, Prompt, Usage};
use crate::context::Scene;
use crate::db::DbError;
use crate::db::memory::{self, MemoryTarget};
use crate::engine::Engine;
use crate::media::MediaError;
use crate::media::storage::{StorageError, StoredObject};
use crate::persona::{History, Persona};
use crate::prompt::{self, Ask, Budget, PromptInput};
use crate::queue::{NewTask, QueueError, Target, TargetKind, Task};

/// Bounds of what the loaders read.
pub mod bounds {
    /// Top-level comments shown with a post.
    pub const POST_COMMENTS: i64 = 20;
    /// Ancestors shown above a comment.
    pub const ANCESTORS: i32 = 12;
    /// Siblings shown beside a comment.
    pub const SIBLINGS: i64 = 8;
    /// Replies shown below a comment.
    pub const REPLIES: i64 = 8;
    /// Replies shown under each top-level comment of a post.
    pub const REPLIES_PER_COMMENT: i64 = 2;
    /// Recent texts of every persona on a board, for the cross-persona duplicate check.
    pub const BOARD_TEXTS: i64 = 80;
    /// Recent titles shown with a board.
    pub const BOARD_TITLES: i64 = 10;
    /// The persona's own recent texts (examples and duplicate check).
    pub const HISTORY: i64 = 6;
}

/// One kind of work, everything about it behind one trait.
#[async_trait]
pub trait Action: Send + Sync + 'static {
    /// Its name, as stored in `persona_tasks.task_type` and used in the admin API's paths.
    fn name(&self) -> &'static str;

    /// What it acts on (a task names exactly one of these); none for work on no target (a session).
    fn targets(&self) -> &'static [TargetKind];

    /// Whether it is an action people see (a post, a comment, a vote), held to the persona's hourly
    /// cap; a session or a reflection is not.
    fn is_action(&self) -> bool {
        true
    }

    /// Whether it is an original post: it then counts against `PERSONA_MAX_POSTS_PER_DAY` too, and
    /// only one is queued per persona at a time.
    fn is_post(&self) -> bool {
        false
    }

    /// Whether it needs a provider that makes images.
    fn needs_images(&self) -> bool {
        false
    }

    /// Loads what the persona looks at (at the engine's clock), or says why the task no longer applies.
    async fn observe(
        &self,
        db: &tokio_postgres::Client,
        task: &Task,
        target: Option<Target>,
        persona: &Persona,
        engine: &Engine,
    ) -> Result<Prepared, ActionError>;

    /// What the model is asked: the instructions after the context (with the length and stance drawn
    /// for this task from the persona, `seed` being the task's), the answer's schema, sampling.
    fn ask(&self, scene: &Scene, persona: &Persona, seed: u64) -> Ask;

    /// A draft decided without asking the model, and why (a vote the persona's interests settle);
    /// `None` asks the model.
    fn decide(&self, _persona: &Persona, _scene: &Scene, _seed: u64) -> Option<(Draft, String)> {
        None
    }

    /// The model's answer as this kind's draft.
    fn parse(&self, answer: &str, persona: &Persona) -> Result<Draft, ParseError>;

    /// The answer the offline writer gives (it is not a language model), as JSON in [`Action::ask`]'s
    /// schema; the same seed gives the same answer.
    fn write_offline(&self, persona: &Persona, scene: &Scene, seed: u64) -> serde_json::Value;

    /// Turns the accepted draft into what is published (the image post makes its image here).
    async fn render(
        &self,
        _engine: &Engine,
        _task: &Task,
        _persona: &Persona,
        draft: Draft,
        _usage: &mut Usage,
    ) -> Result<Content, ActionError> {
        Ok(Content { draft, image: None })
    }

    /// What publishing this sets in motion, enqueued in the same transaction (the tasks a session
    /// chose, with notes on what it chose and refused for the task's decisions). `seed` is the task's.
    fn sets_off(&self, _engine: &Engine, _task: &Task, _prepared: &Prepared, _content: &Content, _seed: u64) -> SetOff {
        SetOff::default()
    }

    /// Writes the content row and the memory row inside `tx`.
    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &Task,
        persona: &Persona,
        prepared: &Prepared,
        content: &Content,
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError>;
}

/// A kind: a handle on its [`Action`], compared and shown by name. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Kind(&'static dyn Action);

impl Kind {
    /// The kind `action` implements.
    pub const fn new(action: &'static dyn Action) -> Self {
        Self(action)
    }

    /// Its implementation.
    pub fn action(self) -> &'static dyn Action {
        self.0
    }

    /// Its stored name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Whether it acts on this kind of target.
    pub fn takes(self, target: TargetKind) -> bool {
        self.0.targets().contains(&target)
    }

    /// The fields a request names its target with (`post_id`, …).
    pub fn target_fields(self) -> Vec<&'static str> {
        self.0.targets().iter().map(|t| t.field()).collect()
    }

    /// Whether it is held to the hourly cap (see [`Action::is_action`]).
    pub fn is_action(self) -> bool {
        self.0.is_action()
    }

    /// Whether it is an original post (see [`Action::is_post`]).
    pub fn is_post(self) -> bool {
        self.0.is_post()
    }

    /// Whether it needs a provider that makes images.
    pub fn needs_images(self) -> bool {
        self.0.needs_images()
    }

    /// The model's answer as this kind's draft.
    pub fn parse(self, answer: &str, persona: &Persona) -> Result<Draft, ParseError> {
        self.0.parse(answer, persona)
    }

    /// What the model is asked when `persona` (who wrote `history`) does this looking at `scene`: the
    /// persona, the context within `budget`, this kind's instructions and schema — and what the
    /// offline writer answers instead.
    pub fn prompt(
        self,
        persona: &Persona,
        history: &History,
        scene: &Scene,
        operator_note: Option<&str>,
        seed: u64,
        budget: &Budget,
    ) -> Prompt {
        let ask = self.0.ask(scene, persona, seed);
        self.prompt_for(&ask, persona, history, scene, operator_note, seed, budget)
    }

    /// The prompt for what this kind asks (`ask`, drawn already).
    #[allow(clippy::too_many_arguments)]
    pub fn prompt_for(
        self,
        ask: &Ask,
        persona: &Persona,
        history: &History,
        scene: &Scene,
        operator_note: Option<&str>,
        seed: u64,
        budget: &Budget,
    ) -> Prompt {
        let action = self.0;
        let offline = {
            let (persona, scene) = (persona.clone(), scene.clone());
            OfflineAnswer::new(move |seed| action.write_offline(&persona, &scene, seed))
        };
        prompt::build(&PromptInput { persona, history, scene, ask, operator_note, seed }, budget, Some(offline))
    }

    /// A task of this kind for `persona` on `target`, due at `at`.
    pub fn task(self, persona_id: Uuid, target: impl Into<Option<Target>>, at: DateTime<Utc>) -> NewTask {
        NewTask {
            id: None,
            persona_id,
            task_type: self.name(),
            target: target.into(),
            scheduled_at: at,
            payload: serde_json::json!({}),
            origin_task_id: None,
        }
    }
}

impl PartialEq for Kind {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Kind {}

impl std::hash::Hash for Kind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl utoipa::PartialSchema for Kind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(Registry::standard().names()))
            .description(Some("A kind of work, by name"))
            .into()
    }
}

impl utoipa::ToSchema for Kind {
    fn name() -> std::borrow::Cow<'static, str> {
        "Kind".into()
    }
}

/// A top-level comment on a post.
pub const COMMENT: Kind = Kind::new(&comment::Comment);
/// An original text post on a board.
pub const POST: Kind = Kind::new(&post::Post);
/// A reply to a comment.
pub const REPLY: Kind = Kind::new(&reply::Reply);
/// A vote on a post or a comment.
pub const VOTE: Kind = Kind::new(&vote::Vote);
/// A post showing a generated image.
pub const IMAGE_POST: Kind = Kind::new(&image_post::ImagePost);
/// A session: the persona looks around and chooses what to do, often nothing.
pub const BROWSE: Kind = Kind::new(&browse::Browse);
/// The persona rewrites the note it keeps on what it has been up to (its long-term memory).
pub const REFLECT: Kind = Kind::new(&reflect::Reflect);

/// The kinds an engine knows, found by name.
#[derive(Debug, Clone)]
pub struct Registry {
    kinds: Vec<Kind>,
}

impl Registry {
    /// Every kind this build ships.
    pub fn standard() -> Self {
        Self { kinds: vec![COMMENT, POST, REPLY, VOTE, IMAGE_POST, BROWSE, REFLECT] }
    }

    /// This registry with `kind` added (a kind of one's own, or a test's).
    pub fn with(mut self, kind: Kind) -> Self {
        self.kinds.retain(|k| k.name() != kind.name());
        self.kinds.push(kind);
        self
    }

    /// The kind stored as `name`.
    pub fn get(&self, name: &str) -> Option<Kind> {
        self.kinds.iter().copied().find(|k| k.name() == name)
    }

    /// Every kind's name, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.name()).collect()
    }

    /// The names of the kinds that are original posts.
    pub fn post_kinds(&self) -> Vec<&'static str> {
        self.kinds.iter().filter(|k| k.is_post()).map(|k| k.name()).collect()
    }

    /// The kind stored as `name`, or an error that lists the known ones.
    pub fn find(&self, name: &str) -> Result<Kind, ActionError> {
        self.get(name).ok_or_else(|| ActionError::UnknownType { name: name.to_owned(), known: self.names().join(", ") })
    }
}

/// The memory row that marks an action done: the persona does it once per target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Where the memory goes.
    pub target: MemoryTarget,
    /// `commented`, `posted`, `voted` or `replied`.
    pub action: &'static str,
}

/// What an action prepared: the scene and the memory that marks it done.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What the persona looks at.
    pub scene: Scene,
    /// The memory that marks it done (none for what may be done any number of times, like a session).
    pub memory: Option<Memory>,
    /// For a reply into a thread: where it goes, for the conversation limits.
    pub reply_spot: Option<ReplySpot>,
}

/// A stored image attached to what is published.
#[derive(Debug, Clone, Serialize)]
pub struct StoredImage {
    /// Where it is.
    pub object: StoredObject,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// MIME type.
    pub mime_type: &'static str,
    /// Size.
    pub bytes: usize,
}

/// What gets published.
#[derive(Debug, Clone)]
pub struct Content {
    /// The accepted draft.
    pub draft: Draft,
    /// The image, for image posts.
    pub image: Option<StoredImage>,
}

/// What a published task sets in motion.
#[derive(Debug, Clone, Default)]
pub struct SetOff {
    /// Tasks to enqueue with it.
    pub tasks: Vec<NewTask>,
    /// Notes for the task's decisions.
    pub notes: Vec<serde_json::Value>,
}

/// What a publish wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Published {
    /// The created row (none for a vote of "none").
    pub result_id: Option<Uuid>,
    /// `post`, `comment` or `vote`.
    pub result_type: Option<&'static str>,
}

/// Why an action did not publish, classified for the queue.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Not applicable any more: SKIPPED with the reason.
    #[error("{0}")]
    Skip(String),
    /// A daily budget is reached: deferred to the day's rollover without using a retry.
    #[error("{reason}")]
    OverBudget {
        /// When to try again.
        until: DateTime<Utc>,
        /// Which budget.
        reason: String,
    },
    /// Over a limit: rescheduled without using a retry.
    #[error("{reason}")]
    Reschedule {
        /// When to try again.
        at: DateTime<Utc>,
        /// Why.
        reason: String,
    },
    /// A task type this build does not know: FAILED.
    #[error("unknown task type {name:?} (this build knows {known})")]
    UnknownType {
        /// The stored type.
        name: String,
        /// The registry's names.
        known: String,
    },
    /// The task row lacks what its type needs: FAILED.
    #[error("{0}")]
    Invalid(String),
    /// The model call failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model's answer was unusable twice.
    #[error("the model's answer was unusable twice: {0}")]
    Unusable(ParseError),
    /// The image could not be processed.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The image could not be stored.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The queue refused (the claim is gone).
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl From<tokio_postgres::Error> for ActionError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Db(e.into())
    }
}

impl From<deadpool_postgres::PoolError> for ActionError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Db(e.into())
    }
}

/// The id of what a task publishes, derived from the task: a retry (whose earlier attempt rolled back)
/// reuses it, and a simulation replays exactly.
pub fn content_id(task: &Task, what: &str) -> Uuid {
    Uuid::new_v5(&task.id, what.as_bytes())
}

/// A stable seed from the task id (the offline writer's choices, the image's).
pub fn seed_of(id: Uuid) -> u64 {
    let (hi, lo) = id.as_u64_pair();
    hi ^ lo
}

/// Records the memory that marks the action done; a conflict means another run already did it.
pub async fn remember(
    tx: &tokio_postgres::Transaction<'_>,
    task: &Task,
    prepared: &Prepared,
    now: DateTime<Utc>,
) -> Result<(), ActionError> {
    let Some(m) = prepared.memory else {
        return Ok(());
    };
    if memory::record(tx, task.persona_id, m.target, m.action, task.id, now).await? {
        Ok(())
    } else {
        Err(ActionError::Skip(format!("persona already {} on this target", m.action)))
    }
}
