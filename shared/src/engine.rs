//! The engine's state, built once per process (a Lambda's init, the CLI's start) and shared by every
//! handler: configuration, the database pool, the clock, the queue, the model, storage and the gate.

use std::sync::Arc;

use secrecy::ExposeSecret;

use crate::ai::{self, ModelClient, ModelError, RateLimiter};
use crate::clock::SharedClock;
use crate::config::{Config, ConversationConfig, DelaysConfig, SchedulerConfig};
use crate::db::{self, ConnectOptions, DbError, DbPool};
use crate::kinds::{self, Registry, Services, TaskReport};
use crate::media::ImageSettings;
use crate::media::storage::{LocalDirStorage, Storage, SupabaseStorage};
use crate::moderation::{Moderation, ModerationConfigError};
use crate::persona::selector::Limits;
use crate::queue::{Queue, Task};

/// What the handlers need besides the shared services.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Per-persona limits.
    pub limits: Limits,
    /// Image processing.
    pub image: ImageSettings,
    /// Conversation limits.
    pub conversation: ConversationConfig,
    /// Human-like delays.
    pub delays: DelaysConfig,
    /// Worker sizing.
    pub scheduler: SchedulerConfig,
    /// Mixed into the planner's seed (simulations use it to draw a different world per seed).
    pub rng_salt: u64,
}

/// The engine.
#[derive(Debug, Clone)]
pub struct Engine {
    /// Database pool.
    pub pool: DbPool,
    /// Where time comes from.
    pub clock: SharedClock,
    /// The task queue.
    pub queue: Queue,
    /// The model (behind the global request limit).
    pub model: ModelClient,
    /// Where images go.
    pub storage: Arc<dyn Storage>,
    /// The publish gate's rules.
    pub moderation: Arc<Moderation>,
    /// Everything else.
    pub settings: Settings,
    /// The configuration it was built from (`doctor` checks what it names).
    pub config: Arc<Config>,
    /// The kinds of work it runs, found by name.
    pub kinds: Arc<Registry>,
    /// Where CloudWatch metrics go (`METRICS`).
    pub metrics: crate::metrics::Metrics,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// `DATABASE_URL` is missing.
    #[error("DATABASE_URL is not set")]
    NoDatabase,
    /// The database settings are unusable.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The model provider could not be set up.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The banned-phrase list could not be read.
    #[error(transparent)]
    Moderation(#[from] ModerationConfigError),
}

impl Engine {
    /// Builds the engine from configuration, with a pool for `DATABASE_URL` (no connection is made yet).
    pub fn from_config(config: &Config, clock: SharedClock) -> Result<Self, StartupError> {
        let url = config.database.url.as_ref().ok_or(StartupError::NoDatabase)?;
        let pool = db::connect_pool(&ConnectOptions {
            url: url.expose_secret().to_owned().into(),
            ca_cert: config.database.ca_cert.clone(),
            pool_size: config.database.pool_size.max(config.scheduler.max_concurrent_tasks + 1),
        })?;
        Self::with_pool(config, pool, clock)
    }

    /// Builds the engine around an existing pool.
    pub fn with_pool(config: &Config, pool: DbPool, clock: SharedClock) -> Result<Self, StartupError> {
        let provider = ai::provider_from_config(config)?;
        let engine = Self::assemble(config, pool, clock, provider);
        Ok(match &config.moderation_phrases_file {
            Some(path) => engine.with_moderation(Moderation::from_file(path)?),
            None => engine,
        })
    }

    /// Builds the engine with a given model provider (tests, the simulator).
    pub fn assemble(config: &Config, pool: DbPool, clock: SharedClock, provider: Arc<dyn ai::Provider>) -> Self {
        let limiter = RateLimiter::new(pool.clone(), clock.clone(), "gemini", config.gemini.max_requests_per_minute);
        let storage: Arc<dyn Storage> = match &config.supabase {
            Some(supabase) => Arc::new(SupabaseStorage::from_config(supabase)),
            None => Arc::new(LocalDirStorage::new(config.image.local_dir.clone())),
        };
        Self {
            queue: Queue::new(clock.clone(), config.queue.lease, config.queue.max_retries),
            model: ModelClient::new(provider, Some(limiter)),
            storage,
            moderation: Arc::new(Moderation::with_default_phrases()),
            settings: Settings {
                limits: Limits {
                    actions_per_hour: config.limits.max_actions_per_hour,
                    posts_per_day: config.limits.max_posts_per_day,
                },
                image: ImageSettings {
                    max_width: config.image.max_width,
                    quality: config.image.quality,
                    format: config.image.format,
                },
                conversation: config.conversation.clone(),
                delays: config.delays.clone(),
                scheduler: config.scheduler.clone(),
                rng_salt: 0,
            },
            config: Arc::new(config.clone()),
            kinds: Arc::new(Registry::standard()),
            metrics: crate::metrics::Metrics::from_setting(config.metrics_emf),
            pool,
            clock,
        }
    }

    /// What a kind may use while it runs (never the engine itself).
    pub fn services(&self) -> Services<'_> {
        Services {
            pool: &self.pool,
            clock: &self.clock,
            queue: &self.queue,
            model: &self.model,
            storage: self.storage.as_ref(),
            moderation: &self.moderation,
            limits: self.settings.limits,
            image: self.settings.image,
            video: self.config.video,
            disclosure: self.config.disclosure.mode,
            persona_weight: self.config.trends.persona_weight,
            signer: self.config.media_signer.as_ref(),
            conversation: &self.settings.conversation,
            budget: &self.config.budget,
            kinds: &self.kinds,
        }
    }

    /// Runs a claimed task to its end and records the outcome on it (see [`kinds::run_task`]).
    pub async fn run_task(&self, task: &Task) -> TaskReport {
        kinds::run_task(&self.services(), task).await
    }

    /// Replaces the publish gate's rules.
    pub fn with_moderation(mut self, moderation: Moderation) -> Self {
        self.moderation = Arc::new(moderation);
        self
    }

    /// Replaces the kinds it runs (a kind of one's own; a test's).
    pub fn with_kinds(mut self, kinds: Registry) -> Self {
        self.kinds = Arc::new(kinds);
        self
    }

    /// Replaces the storage backend (tests).
    pub fn with_storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = storage;
        self
    }
}
