//! Kinds of work. A kind — comment, reply, vote, post, image post, a session, a reflection, tagging — is one
//! module that owns everything about it: what it acts on, what the persona sees (its own typed view),
//! what the model is asked and in what shape it answers, its own draft type (its parsing produces it,
//! its publishing consumes it), what the offline writer says, what it makes beyond text (an image), how a
//! session may choose it, and how it is published. Each implements [`Action`]; the [`Registry`] lists
//! them, and the worker, the planner, the admin API, the console, the CLI and the simulator find a kind
//! there by its name.
//!
//! A kind receives the [`Services`] it uses (database, model, storage, clock, limits), never the engine,
//! so nothing here depends on the modules that run it. A step that outlives one invocation (a clip a
//! provider renders for minutes) answers [`Step::Wait`]: the task is put back with the kind's state and
//! resumes from it later, its draft kept, without any worker waiting.
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
pub mod tag_posts;
pub mod target;
pub mod video_post;
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
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub use compose::{Gate, Verdict};
pub use conversation::ReplySpot;
pub use pipeline::{DryRun, RunOutcome, TaskReport, dry_run, run_task};

use crate::ai::parse::ParseError;
use crate::ai::{ModelClient, ModelError, OfflineAnswer, Prompt, Usage};
use crate::clock::SharedClock;
use crate::config::{BudgetConfig, ConversationConfig, VideoConfig};
use crate::context::{
    BoardOption, BoardView, FeedView, PostContext, ReflectionView, Scene, TaggingView, ThreadContext,
};
use crate::db::memory::{self, MemoryTarget};
use crate::db::{DbError, DbPool};
use crate::disclosure::{Candour, Disclosure};
use crate::media::storage::{Storage, StorageError, StoredObject};
use crate::media::{ImageSettings, MediaError};
use crate::moderation::Moderation;
use crate::persona::selector::Limits;
use crate::persona::{History, Persona};
use crate::prompt::{self, Ask, Budget, PromptInput};
use crate::queue::{NewTask, Queue, QueueError, Target, TargetKind, Task};
use crate::voice::Stance;

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
    /// Texts every persona published on any board in the last week, newest first, for the
    /// cross-persona duplicate check: a simulated week of 50 personas publishes about 1,600.
    pub const PUBLISHED_TEXTS: i64 = 4_000;
    /// Characters of each of those compared (a near copy shows in its opening).
    pub const PUBLISHED_TEXT_CHARS: i32 = 600;
    /// Recent titles shown with a board.
    pub const BOARD_TITLES: i64 = 10;
    /// The persona's own recent texts (examples and duplicate check).
    pub const HISTORY: i64 = 6;
}

/// What a kind may use while it runs: the engine's services, lent for the run. Built by the engine
/// (`Engine::services`); a kind never sees the engine itself.
#[derive(Clone, Copy)]
pub struct Services<'a> {
    /// The database.
    pub pool: &'a DbPool,
    /// Where time comes from.
    pub clock: &'a SharedClock,
    /// The task queue (what a task sets in motion is enqueued through it).
    pub queue: &'a Queue,
    /// The model, behind the global request limit.
    pub model: &'a ModelClient,
    /// Where media goes.
    pub storage: &'a dyn Storage,
    /// The publish gate's rules.
    pub moderation: &'a Moderation,
    /// Per-persona limits.
    pub limits: Limits,
    /// Image processing.
    pub image: ImageSettings,
    /// Video posts' limits.
    pub video: VideoConfig,
    /// Conversation limits.
    pub conversation: &'a ConversationConfig,
    /// Daily spending limits.
    pub budget: &'a BudgetConfig,
    /// What personas say about being AI.
    pub disclosure: Disclosure,
    /// What a persona's vote or comment counts for beside a person's (`TREND_PERSONA_WEIGHT`).
    pub persona_weight: f64,
    /// Who signs generated media's Content Credentials, when an operator configured it.
    pub signer: Option<&'a std::sync::Arc<crate::signing::Signer>>,
    /// The kinds this engine runs (a session chooses among them).
    pub kinds: &'a Registry,
}

/// What a kind's persona looks at, as the prompt and the offline writer render it. A kind's view is its
/// own type (a board, a post with its comments, a thread, a feed); [`View::scene`] shows it.
pub trait View: Clone + Send + Sync + 'static {
    /// The view as the prompt renders it.
    fn scene(&self) -> Scene;
    /// The view from a scene built elsewhere (a preview, a test); `None` when the scene is another
    /// kind's.
    fn from_scene(scene: &Scene) -> Option<Self>;
}

macro_rules! view {
    ($ty:ty, $variant:ident) => {
        impl View for $ty {
            fn scene(&self) -> Scene {
                Scene::$variant(self.clone())
            }
            fn from_scene(scene: &Scene) -> Option<Self> {
                match scene {
                    Scene::$variant(view) => Some(view.clone()),
                    _ => None,
                }
            }
        }
    };
}
view!(BoardView, Board);
view!(PostContext, Post);
view!(ThreadContext, Thread);
view!(FeedView, Feed);
view!(ReflectionView, Reflection);
view!(TaggingView, Tagging);

/// What the publish gate and the relationships read of a kind's draft.
pub trait Written: Serialize + DeserializeOwned + std::fmt::Debug + Clone + Send + Sync + 'static {
    /// The text a reader will see; `None` for what publishes no text (a vote, a choice, a private
    /// note), which the gate then leaves alone.
    fn visible_text(&self) -> Option<String> {
        None
    }

    /// The visible text as it is stored and as others' texts are kept to compare with (a post's title
    /// and body, without the tags shown between them): what near-duplicates are judged by.
    fn stored_text(&self) -> Option<String> {
        self.visible_text()
    }

    /// Whether the visible text is sentences (the marks of machine text and near-duplicates apply) or,
    /// like a list of tags, not.
    fn is_prose(&self) -> bool {
        true
    }

    /// What the draft hands on to another model (an image prompt): nobody reads it, but it is checked
    /// for what a model must not be asked all the same.
    fn handed_on(&self) -> Vec<&str> {
        Vec::new()
    }

    /// How far publishing it moves the persona's feeling for the author of what it answers or votes on
    /// (−1..1), or `None` when nothing passes between them.
    fn feeling(&self, _stance: Option<Stance>) -> Option<f32> {
        None
    }
}

/// A way a session may choose a kind: the word in its answer, and how the prompt describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verb {
    /// The word a session answers with (`reply`, `comment`, `vote`, `post`); kinds may share one (a
    /// text and an image post are both "post"), and the session then draws among them.
    pub word: &'static str,
    /// The words that tell the model what it does and on what ("\"reply\" to a comment (an N or C id)").
    pub described: &'static str,
}

/// A session's "post", shared by every kind that posts on a board: the session draws among them by
/// their [`Action::weight_on`] for the board it chose.
pub const POST_VERB: Verb = Verb { word: "post", described: "\"post\" something of your own on a board (a B id)" };

/// Where a step that produces what is published stands.
#[derive(Debug)]
pub enum Step<M> {
    /// Made: publish it now.
    Ready(M),
    /// Not yet (a provider is still working): the task is put back, due at `until`, with `state`; the
    /// next run resumes from it with the same draft. It uses no retry.
    Wait {
        /// When to look again.
        until: DateTime<Utc>,
        /// What the next run resumes from (an operation's name, when it started).
        state: serde_json::Value,
        /// For the task's decisions.
        reason: String,
    },
}

/// One kind of work, everything about it behind one trait.
#[async_trait]
pub trait Action: Send + Sync + 'static {
    /// What the persona looks at.
    type Seen: View;
    /// What it writes or decides: made by [`Action::parse`] or [`Action::decide`], consumed by
    /// [`Action::publish`].
    type Draft: Written;
    /// What [`Action::render`] makes beyond the draft (`()` for text).
    type Made: Send + Sync + 'static;

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

    /// How a session may choose it; `None`: only the planner or an operator sets it off.
    fn verb(&self) -> Option<Verb> {
        None
    }

    /// Its weight when a session chose its verb on `board` and several kinds share the verb (0: not
    /// there).
    fn weight_on(&self, _services: &Services<'_>, _board: &BoardOption) -> f64 {
        1.0
    }

    /// Loads what the persona looks at (at the clock's time), or says why the task no longer applies.
    async fn observe(
        &self,
        services: &Services<'_>,
        db: &tokio_postgres::Client,
        task: &Task,
        target: Option<Target>,
        persona: &Persona,
    ) -> Result<Prepared<Self::Seen>, ActionError>;

    /// What the model is asked: the instructions after the context (with the length and stance drawn
    /// for this task from the persona, `seed` being the task's), the answer's schema, sampling.
    fn ask(&self, seen: &Self::Seen, persona: &Persona, seed: u64) -> Ask;

    /// The answer it would take from the model, made of `text` that the session which chose the task
    /// wrote ahead in its own answer (a comment or a reply); it is parsed and gated like any answer, and
    /// the model is asked when it does not pass. `None`: the kind always asks the model.
    fn answer_from_session(&self, _text: &str) -> Option<serde_json::Value> {
        None
    }

    /// A draft decided without asking the model, and why (a vote the persona's interests settle);
    /// `None` asks the model.
    fn decide(&self, _persona: &Persona, _seen: &Self::Seen, _seed: u64) -> Option<(Self::Draft, String)> {
        None
    }

    /// The model's answer as this kind's draft.
    fn parse(&self, answer: &str, persona: &Persona) -> Result<Self::Draft, ParseError>;

    /// The answer the offline writer gives (it is not a language model), as JSON in [`Action::ask`]'s
    /// schema; the same seed gives the same answer.
    fn write_offline(&self, persona: &Persona, seen: &Self::Seen, seed: u64) -> serde_json::Value;

    /// Makes what the accepted draft needs beyond its text (the image post's picture), or says to come
    /// back later ([`Step::Wait`]); `resumed` is the state the last wait left.
    async fn render(
        &self,
        services: &Services<'_>,
        task: &Task,
        persona: &Persona,
        draft: &Self::Draft,
        resumed: Option<serde_json::Value>,
        usage: &mut Usage,
    ) -> Result<Step<Self::Made>, ActionError>;

    /// What publishing this sets in motion, enqueued in the same transaction (the tasks a session
    /// chose, with notes on what it chose and refused for the task's decisions). `seed` is the task's.
    fn sets_off(
        &self,
        _services: &Services<'_>,
        _task: &Task,
        _prepared: &Prepared<Self::Seen>,
        _draft: &Self::Draft,
        _seed: u64,
    ) -> SetOff {
        SetOff::default()
    }

    /// Writes the content rows and the memory row inside `tx`.
    #[allow(clippy::too_many_arguments)]
    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &Task,
        persona: &Persona,
        prepared: &Prepared<Self::Seen>,
        draft: Self::Draft,
        made: Self::Made,
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError>;
}

/// A boxed future of a kind's run.
pub type RunFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ActionError>> + Send + 'a>>;

/// A kind as the registry holds it: [`Action`] with its types put away, so kinds of different drafts
/// sit in one list. Every [`Action`] is one; nothing else implements it. Kinds are statics, so the
/// offline writer a prompt carries may call back into its kind at any time.
pub trait Runs: Send + Sync + 'static {
    /// See [`Action::name`].
    fn name(&self) -> &'static str;
    /// See [`Action::targets`].
    fn targets(&self) -> &'static [TargetKind];
    /// See [`Action::is_action`].
    fn is_action(&self) -> bool;
    /// See [`Action::is_post`].
    fn is_post(&self) -> bool;
    /// See [`Action::needs_images`].
    fn needs_images(&self) -> bool;
    /// See [`Action::verb`].
    fn verb(&self) -> Option<Verb>;
    /// See [`Action::weight_on`].
    fn weight_on(&self, services: &Services<'_>, board: &BoardOption) -> f64;
    /// See [`Action::answer_from_session`].
    fn answer_from_session(&self, text: &str) -> Option<serde_json::Value>;
    /// Runs a claimed task through the pipeline up to its committed effect (or a wait).
    fn attempt<'a>(
        &'static self,
        services: &'a Services<'a>,
        task: &'a Task,
        decisions: &'a mut Vec<serde_json::Value>,
        usage: &'a mut Usage,
    ) -> RunFuture<'a, pipeline::Attempted>;
    /// What a task would publish: its draft as JSON and its visible text.
    fn preview<'a>(
        &'static self,
        services: &'a Services<'a>,
        task: &'a Task,
        decisions: &'a mut Vec<serde_json::Value>,
        usage: &'a mut Usage,
    ) -> RunFuture<'a, (serde_json::Value, String)>;
    /// The prompt for `scene`, or `None` when the scene is not one this kind looks at.
    #[allow(clippy::too_many_arguments)]
    fn prompt(
        &'static self,
        persona: &Persona,
        history: &History,
        scene: &Scene,
        operator_note: Option<&str>,
        seed: u64,
        budget: &Budget,
        disclosure: Disclosure,
    ) -> Option<Prompt>;
    /// The model's answer as this kind's draft, shown as JSON.
    fn parse_to_json(&self, answer: &str, persona: &Persona) -> Result<serde_json::Value, ParseError>;
}

impl<A: Action> Runs for A {
    fn name(&self) -> &'static str {
        Action::name(self)
    }
    fn targets(&self) -> &'static [TargetKind] {
        Action::targets(self)
    }
    fn is_action(&self) -> bool {
        Action::is_action(self)
    }
    fn is_post(&self) -> bool {
        Action::is_post(self)
    }
    fn needs_images(&self) -> bool {
        Action::needs_images(self)
    }
    fn verb(&self) -> Option<Verb> {
        Action::verb(self)
    }
    fn weight_on(&self, services: &Services<'_>, board: &BoardOption) -> f64 {
        Action::weight_on(self, services, board)
    }
    fn answer_from_session(&self, text: &str) -> Option<serde_json::Value> {
        Action::answer_from_session(self, text)
    }
    fn attempt<'a>(
        &'static self,
        services: &'a Services<'a>,
        task: &'a Task,
        decisions: &'a mut Vec<serde_json::Value>,
        usage: &'a mut Usage,
    ) -> RunFuture<'a, pipeline::Attempted> {
        Box::pin(pipeline::attempt(self, services, task, decisions, usage))
    }
    fn preview<'a>(
        &'static self,
        services: &'a Services<'a>,
        task: &'a Task,
        decisions: &'a mut Vec<serde_json::Value>,
        usage: &'a mut Usage,
    ) -> RunFuture<'a, (serde_json::Value, String)> {
        Box::pin(async move {
            let drafted = pipeline::draft_for(self, services, task, pipeline::Mode::DryRun, decisions, usage).await?;
            let text = drafted.draft.visible_text().unwrap_or_default();
            Ok((draft_json(Action::name(self), &drafted.draft), text))
        })
    }
    fn prompt(
        &'static self,
        persona: &Persona,
        history: &History,
        scene: &Scene,
        operator_note: Option<&str>,
        seed: u64,
        budget: &Budget,
        disclosure: Disclosure,
    ) -> Option<Prompt> {
        let seen = A::Seen::from_scene(scene)?;
        let ask = Action::ask(self, &seen, persona, seed);
        let candour = candour_for(disclosure, scene);
        Some(prompt_for(self, &ask, &seen, persona, history, operator_note, seed, budget, candour))
    }
    fn parse_to_json(&self, answer: &str, persona: &Persona) -> Result<serde_json::Value, ParseError> {
        Action::parse(self, answer, persona).map(|draft| draft_json(Action::name(self), &draft))
    }
}

/// A draft as operators see it: its fields, with the kind that wrote it.
fn draft_json(kind: &str, draft: &impl Written) -> serde_json::Value {
    let mut value = serde_json::to_value(draft).unwrap_or(serde_json::Value::Null);
    match value.as_object_mut() {
        Some(fields) => {
            fields.insert("kind".into(), kind.into());
            value
        }
        None => serde_json::json!({ "kind": kind, "value": value }),
    }
}

/// The prompt for what `action` asks (`ask`, drawn already) when `persona` (who wrote `history`) looks at
/// `seen`: the persona, the context within `budget`, the kind's instructions and schema, and what the
/// offline writer answers instead; `candour` is what it may say about being AI.
#[allow(clippy::too_many_arguments)]
pub(crate) fn prompt_for<A: Action>(
    action: &'static A,
    ask: &Ask,
    seen: &A::Seen,
    persona: &Persona,
    history: &History,
    operator_note: Option<&str>,
    seed: u64,
    budget: &Budget,
    candour: Candour,
) -> Prompt {
    let scene = seen.scene();
    let offline = {
        let (persona, seen) = (persona.clone(), seen.clone());
        OfflineAnswer::new(move |seed| {
            let answer = action.write_offline(&persona, &seen, seed);
            if candour.must_answer() { offline::admit(answer, &persona, seed) } else { answer }
        })
    };
    prompt::build(
        &PromptInput { persona, history, scene: &scene, ask, operator_note, seed, candour },
        budget,
        Some(offline),
    )
}

/// What a draft written looking at `scene` may say about being AI: whether a person there sincerely asks
/// the persona (a question from another persona is not one the obligation covers).
pub(crate) fn candour_for(mode: Disclosure, scene: &Scene) -> Candour {
    let asking = scene.comment().filter(|c| matches!(c.author, crate::context::Author::Human { .. }));
    Candour::answering(mode, asking.map(|c| c.body.as_str()))
}

/// A kind: a handle on its implementation, compared and shown by name. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Kind(&'static dyn Runs);

impl Kind {
    /// The kind `action` implements.
    pub const fn new(action: &'static dyn Runs) -> Self {
        Self(action)
    }

    /// Its implementation.
    pub(crate) fn runs(self) -> &'static dyn Runs {
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

    /// How a session may choose it.
    pub fn verb(self) -> Option<Verb> {
        self.0.verb()
    }

    /// Its weight among the kinds sharing its verb, on `board`.
    pub fn weight_on(self, services: &Services<'_>, board: &BoardOption) -> f64 {
        self.0.weight_on(services, board)
    }

    /// Whether a session that chooses it may write its text ahead (see [`Action::answer_from_session`]).
    pub fn writes_ahead(self) -> bool {
        self.0.answer_from_session("").is_some()
    }

    /// The model's answer as this kind's draft, as JSON (what a dry run shows).
    pub fn parse(self, answer: &str, persona: &Persona) -> Result<serde_json::Value, ParseError> {
        self.0.parse_to_json(answer, persona)
    }

    /// What the model is asked when `persona` (who wrote `history`) does this looking at `scene`: the
    /// persona, the context within `budget`, this kind's instructions and schema — and what the
    /// offline writer answers instead. `None` when `scene` is not what this kind looks at.
    #[allow(clippy::too_many_arguments)]
    pub fn prompt(
        self,
        persona: &Persona,
        history: &History,
        scene: &Scene,
        operator_note: Option<&str>,
        seed: u64,
        budget: &Budget,
        disclosure: Disclosure,
    ) -> Option<Prompt> {
        self.0.prompt(persona, history, scene, operator_note, seed, budget, disclosure)
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
/// A post showing a short generated clip.
pub const VIDEO_POST: Kind = Kind::new(&video_post::VideoPost);
/// A session: the persona looks around and chooses what to do, often nothing.
pub const BROWSE: Kind = Kind::new(&browse::Browse);
/// The persona rewrites the note it keeps on what it has been up to (its long-term memory).
pub const REFLECT: Kind = Kind::new(&reflect::Reflect);
/// Tags for a batch of people's posts (`TAG_HUMAN_POSTS`).
pub const TAG_POSTS: Kind = Kind::new(&tag_posts::TagPosts);

/// The kinds an engine knows, found by name.
#[derive(Debug, Clone)]
pub struct Registry {
    kinds: Vec<Kind>,
}

impl Registry {
    /// Every kind this build ships.
    pub fn standard() -> Self {
        Self { kinds: vec![COMMENT, POST, REPLY, VOTE, IMAGE_POST, VIDEO_POST, BROWSE, REFLECT, TAG_POSTS] }
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

    /// Every kind, in order.
    pub fn all(&self) -> &[Kind] {
        &self.kinds
    }

    /// Every kind's name, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.name()).collect()
    }

    /// The names of the kinds that are original posts.
    pub fn post_kinds(&self) -> Vec<&'static str> {
        self.kinds.iter().filter(|k| k.is_post()).map(|k| k.name()).collect()
    }

    /// The ways a session may act, each once, in the registry's order.
    pub fn verbs(&self) -> Vec<Verb> {
        let mut verbs: Vec<Verb> = Vec::new();
        for verb in self.kinds.iter().filter_map(|k| k.verb()) {
            if !verbs.iter().any(|v| v.word == verb.word) {
                verbs.push(verb);
            }
        }
        verbs
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

/// What an action prepared: what the persona sees and the memory that marks it done.
#[derive(Debug, Clone)]
pub struct Prepared<S> {
    /// What the persona looks at.
    pub seen: S,
    /// The memory that marks it done (none for what may be done any number of times, like a session).
    pub memory: Option<Memory>,
    /// For a reply into a thread: where it goes, for the conversation limits.
    pub reply_spot: Option<ReplySpot>,
}

/// A stored image attached to what is published (a waiting step keeps it, so it is serialisable).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StoredImage {
    /// Where it is.
    pub object: StoredObject,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// MIME type.
    pub mime_type: String,
    /// Size.
    pub bytes: usize,
}

impl StoredImage {
    /// Its row in the platform's `media` table, for `post_id`.
    pub fn media_row(&self, post_id: Uuid) -> crate::db::content::MediaInsert<'_> {
        crate::db::content::MediaInsert {
            post_id,
            storage_path: &self.object.path,
            url: &self.object.url,
            width: self.width,
            height: self.height,
            mime_type: &self.mime_type,
            bytes: self.bytes,
        }
    }
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
    /// A provider's work for it ended without a result (an operation that errored, or ran out of
    /// time): FAILED with the reason, nothing published.
    #[error("{0}")]
    GaveUp(String),
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
    memory: Option<Memory>,
    now: DateTime<Utc>,
) -> Result<(), ActionError> {
    let Some(m) = memory else {
        return Ok(());
    };
    if memory::record(tx, task.persona_id, m.target, m.action, task.id, now).await? {
        Ok(())
    } else {
        Err(ActionError::Skip(format!("persona already {} on this target", m.action)))
    }
}
