//! One typed configuration, parsed once from the environment at start.
//!
//! Every variable is listed, with its default and bounds, in docs/configuration.md. A
//! malformed value is an error that names the variable; a secret's value is never repeated in an error
//! or in `Debug` output.

use std::collections::HashMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::disclosure::Disclosure;
use crate::prices::PriceTable;
use crate::routing::{ModelClass, Models};
use crate::signing::{CredentialsError, Signer};

/// The largest width or height we decode: image models emit about 4096 pixels a side at most.
pub const MAX_IMAGE_DIMENSION: u32 = 4096;

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A variable is set but cannot be parsed.
    #[error("{var} is invalid: {reason}")]
    Invalid {
        /// The variable's name.
        var: &'static str,
        /// What was wrong, without echoing secrets.
        reason: String,
    },
    /// A variable the chosen mode needs is not set.
    #[error("{var} must be set: {why}")]
    Missing {
        /// The variable's name.
        var: &'static str,
        /// Which setting needs it.
        why: &'static str,
    },
}

impl ConfigError {
    fn invalid(var: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { var, reason: reason.into() }
    }
}

/// An inclusive range of delays (the variables give them in milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayRange {
    /// Shortest delay.
    pub min: Duration,
    /// Longest delay.
    pub max: Duration,
}

/// Which model provider writes the personas' text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmProvider {
    /// Google Gemini over its REST API.
    Gemini,
    /// Any server speaking OpenAI's chat-completions API (OpenAI, Ollama, llama.cpp, vLLM).
    OpenAiCompatible,
    /// Deterministic text from templates, no network. Not a language model.
    Offline,
}

impl FromStr for LlmProvider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gemini" => Ok(Self::Gemini),
            "openai" | "openai-compatible" | "openai_compatible" => Ok(Self::OpenAiCompatible),
            "offline" => Ok(Self::Offline),
            other => Err(format!("expected one of gemini, openai, offline; got {other:?}")),
        }
    }
}

/// Output format of processed images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// JPEG (mozjpeg).
    Jpeg,
    /// Lossy WebP (libwebp).
    Webp,
}

impl FromStr for ImageFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" => Ok(Self::Jpeg),
            "webp" => Ok(Self::Webp),
            other => Err(format!("expected jpeg or webp; got {other:?}")),
        }
    }
}

/// Spending caps, in micro-USD a UTC day; `None`: no cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BudgetConfig {
    /// `DAILY_BUDGET_USD`: the whole engine.
    pub daily_micros: Option<u64>,
    /// `PERSONA_DAILY_BUDGET_USD`: each persona.
    pub persona_daily_micros: Option<u64>,
}

/// Database connection settings.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL`; `None` when unset (the demo then starts a private PostgreSQL).
    pub url: Option<SecretString>,
    /// `DATABASE_CA_CERT`: a PEM file with the CA that signs the server's certificate (Supabase's
    /// `prod-supabase.cer`), added to the public roots.
    pub ca_cert: Option<PathBuf>,
    /// `DATABASE_POOL_SIZE`: connections per process.
    pub pool_size: usize,
}

/// Gemini settings.
#[derive(Debug, Clone)]
pub struct GeminiConfig {
    /// `GEMINI_API_KEY`.
    pub api_key: Option<SecretString>,
    /// The model and thinking for each class of work: `GEMINI_MODEL_{DECISION,WRITING,VISION,IMAGE,VIDEO}`
    /// and `GEMINI_THINKING_{DECISION,WRITING,VISION}` (`GEMINI_MODEL`, `GEMINI_IMAGE_MODEL` and
    /// `GEMINI_VIDEO_MODEL` still name the writing, image and video models).
    pub models: Models,
    /// `GEMINI_BASE_URL`, for fakes and proxies.
    pub base_url: String,
    /// `GEMINI_MAX_REQUESTS_PER_MINUTE`, across every process.
    pub max_requests_per_minute: u32,
    /// `GEMINI_TIMEOUT_MS`: per request.
    pub timeout: Duration,
}

/// OpenAI-compatible provider settings.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// `OPENAI_BASE_URL`.
    pub base_url: String,
    /// `OPENAI_API_KEY` (optional: local servers need none).
    pub api_key: Option<SecretString>,
    /// `OPENAI_MODEL`.
    pub model: String,
}

/// Supabase Storage settings; `None` when `SUPABASE_URL` is unset (images then go to a local directory).
#[derive(Debug, Clone)]
pub struct SupabaseConfig {
    /// `SUPABASE_URL`.
    pub url: String,
    /// `SUPABASE_SERVICE_ROLE_KEY`.
    pub service_role_key: SecretString,
    /// `SUPABASE_STORAGE_BUCKET`.
    pub bucket: String,
}

/// Scheduler and worker sizing.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// `SCHEDULER_ENABLED`.
    pub enabled: bool,
    /// `SCHEDULER_INTERVAL_MS`.
    pub interval: Duration,
    /// `MAX_CONCURRENT_TASKS`.
    pub max_concurrent_tasks: usize,
    /// `MAX_TASKS_PER_TICK`.
    pub max_tasks_per_tick: usize,
    /// `TASK_TIMEOUT_MS`: one task's time limit inside the worker.
    pub task_timeout: Duration,
    /// `WORKER_LOCAL_BUDGET_MS`: how long a worker batch may run when its invocation has no usable
    /// deadline (the local Lambda emulator sends one in the past).
    pub local_budget: Duration,
}

/// Queue behaviour.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// `TASK_LEASE_SECONDS`: how long a claim holds a task before it can be rescued. Must exceed the
    /// worker's time limit, or a slow but live worker's task is rescued under it.
    pub lease: Duration,
    /// `TASK_MAX_RETRIES`: the `max_retries` given to new tasks.
    pub max_retries: i32,
}

/// Per-persona limits.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// `PERSONA_MAX_ACTIONS_PER_HOUR`.
    pub max_actions_per_hour: u32,
    /// `PERSONA_MAX_POSTS_PER_DAY`.
    pub max_posts_per_day: u32,
}

/// Human-like delays. What a session chooses is done within its sitting; this is how long a person
/// waits for an answer.
#[derive(Debug, Clone)]
pub struct DelaysConfig {
    /// `DELAY_REPLY_MIN` / `DELAY_REPLY_MAX`: people are answered within the first half of it.
    pub reply: DelayRange,
}

/// Conversation limits.
#[derive(Debug, Clone)]
pub struct ConversationConfig {
    /// `CONVERSATION_MAX_DEPTH`.
    pub max_depth: u32,
    /// `CONVERSATION_MAX_REPLIES_PER_THREAD`.
    pub max_replies_per_thread: u32,
    /// `CONVERSATION_ANSWER_PEOPLE`: the offline policy's chance that a persona answers a person who
    /// answered it, for a persona of median chattiness that feels neutral about them (chattier and
    /// warmer personas answer more often, see `kinds::browse::answers_person`). A model decides freely.
    pub answer_people: f64,
}

/// Admin API settings.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// `ADMIN_HOST`: the local server's address (the Lambda uses its Function URL).
    pub host: String,
    /// `ADMIN_PORT`.
    pub port: u16,
    /// `ADMIN_API_KEY`; without it every route but `/health` refuses.
    pub api_key: Option<AdminKey>,
}

/// The admin API's bearer key: at least [`AdminKey::MIN_CHARS`] characters, so it cannot be guessed.
/// Its `Debug` output never shows it.
#[derive(Clone)]
pub struct AdminKey(SecretString);

impl AdminKey {
    /// The shortest key accepted.
    pub const MIN_CHARS: usize = 32;

    /// The key, or why it is refused (without repeating it).
    pub fn new(key: SecretString) -> Result<Self, String> {
        use secrecy::ExposeSecret;
        let chars = key.expose_secret().chars().count();
        if chars < Self::MIN_CHARS {
            return Err(format!(
                "must be at least {} characters, got {chars} (for example: openssl rand -hex 32)",
                Self::MIN_CHARS
            ));
        }
        Ok(Self(key))
    }

    /// The secret.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminKey([redacted])")
    }
}

/// Image processing and storage.
#[derive(Debug, Clone)]
pub struct ImageConfig {
    /// `IMAGE_MAX_WIDTH`.
    pub max_width: u32,
    /// `IMAGE_QUALITY` (1–100).
    pub quality: u8,
    /// `IMAGE_FORMAT` (`jpeg` or `webp`).
    pub format: ImageFormat,
    /// `MEDIA_DIR`: where images go when Supabase Storage is not configured.
    pub local_dir: PathBuf,
}

/// Tags and trends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendsConfig {
    /// `TREND_PERSONA_WEIGHT` (0–1, default 0.5): what a persona's vote or comment counts for, beside a
    /// person's, in trends and in the `post_rankings` view.
    pub persona_weight: f64,
    /// `TAG_HUMAN_POSTS` (default off): people's posts get tags too, a batch per model call.
    pub tag_human_posts: bool,
}

/// Video posts.
#[derive(Debug, Clone, Copy)]
pub struct VideoConfig {
    /// `VIDEO_MAX_BYTES`: the largest clip downloaded.
    pub max_bytes: usize,
    /// `VIDEO_MAX_WAIT_MS`: how long a clip may take before its task ends.
    pub max_wait: Duration,
    /// `VIDEO_MAX_PER_PERSONA_PER_WEEK`.
    pub per_persona_per_week: u32,
}

/// What personas say about being AI, and how their accounts are labelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosureConfig {
    /// `PERSONA_DISCLOSURE`: `honest` (default), `labelled` or `none`.
    pub mode: Disclosure,
    /// `PERSONA_LABEL`: the label `persona_accounts` carries in `labelled` mode (default `AI persona`).
    pub label: String,
    /// `PERSONA_BIO_LABEL`: in `labelled` mode, a suffix added to every persona's public bio; unset, none.
    pub bio_suffix: Option<String>,
}

/// The longest account label or bio suffix (the web app shows it beside a name).
pub const MAX_LABEL_CHARS: usize = 60;

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Disclosure.
    pub disclosure: DisclosureConfig,
    /// `MODEL_PRICES` over Google's published prices.
    pub prices: PriceTable,
    /// `DAILY_BUDGET_USD`, `PERSONA_DAILY_BUDGET_USD`.
    pub budget: BudgetConfig,
    /// `METRICS`: `emf` writes CloudWatch Embedded Metric Format lines to standard output; `off` (the
    /// default) writes none.
    pub metrics_emf: bool,
    /// Database.
    pub database: DatabaseConfig,
    /// `LLM_PROVIDER` (default `gemini` when `GEMINI_API_KEY` is set, else `offline`).
    pub llm_provider: LlmProvider,
    /// Gemini.
    pub gemini: GeminiConfig,
    /// OpenAI-compatible provider.
    pub openai: OpenAiConfig,
    /// Supabase Storage.
    pub supabase: Option<SupabaseConfig>,
    /// Scheduler and worker.
    pub scheduler: SchedulerConfig,
    /// Queue.
    pub queue: QueueConfig,
    /// Per-persona limits.
    pub limits: LimitsConfig,
    /// Delays.
    pub delays: DelaysConfig,
    /// Conversations.
    pub conversation: ConversationConfig,
    /// Admin API.
    pub admin: AdminConfig,
    /// Images.
    pub image: ImageConfig,
    /// Video posts.
    pub video: VideoConfig,
    /// Tags and trends.
    pub trends: TrendsConfig,
    /// `MODERATION_BANNED_PHRASES_FILE`: one phrase per line, replacing the built-in list.
    pub moderation_phrases_file: Option<PathBuf>,
    /// `C2PA_SIGNING_CERT` and `C2PA_SIGNING_KEY`: who signs generated media's Content Credentials
    /// (none: the media carries the unsigned XMP mark only).
    pub media_signer: Option<Arc<Signer>>,
}

/// The longest `DELAY_*` value: a week.
const MAX_DELAY_MS: u64 = 7 * 24 * 3_600_000;

/// Gemini's public endpoint.
pub const DEFAULT_GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// Reads variables from somewhere: the process environment or, in tests, a map.
struct Vars<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Vars<'_> {
    /// The variable's value, with surrounding whitespace removed; empty counts as unset.
    fn get(&self, var: &str) -> Option<String> {
        (self.lookup)(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn parsed<T>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e| ConfigError::invalid(var, format!("{e} (got {raw:?})"))),
        }
    }

    fn bool(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
            Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
            Some(v) => Err(ConfigError::invalid(var, format!("expected true or false, got {v:?}"))),
        }
    }

    /// A number within `bounds`: every count and duration has one, so no value can overflow a time
    /// computation later or mean something absurd (a negative retry count, a zero timeout).
    fn bounded<T>(&self, var: &'static str, default: T, bounds: RangeInclusive<T>) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + fmt::Display + Copy,
        T::Err: fmt::Display,
    {
        let value = self.parsed(var, default)?;
        if !bounds.contains(&value) {
            return Err(ConfigError::invalid(
                var,
                format!("must be between {} and {}, got {value}", bounds.start(), bounds.end()),
            ));
        }
        Ok(value)
    }

    /// An amount in US dollars (up to a million a day), as micro-USD; unset is `None`.
    fn usd(&self, var: &'static str) -> Result<Option<u64>, ConfigError> {
        let Some(raw) = self.get(var) else { return Ok(None) };
        let dollars: f64 =
            raw.parse().map_err(|_| ConfigError::invalid(var, format!("{raw:?} is not a number of dollars")))?;
        if !dollars.is_finite() || !(0.0..=1_000_000.0).contains(&dollars) {
            return Err(ConfigError::invalid(var, "must be between 0 and 1000000 (US dollars a day)"));
        }
        Ok(Some((dollars * 1_000_000.0).round() as u64))
    }

    fn millis(&self, var: &'static str, default_ms: u64, bounds: RangeInclusive<u64>) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(self.bounded(var, default_ms, bounds)?))
    }

    fn delay(
        &self,
        min_var: &'static str,
        max_var: &'static str,
        defaults: (u64, u64),
    ) -> Result<DelayRange, ConfigError> {
        let range = DelayRange {
            min: self.millis(min_var, defaults.0, 0..=MAX_DELAY_MS)?,
            max: self.millis(max_var, defaults.1, 0..=MAX_DELAY_MS)?,
        };
        if range.min > range.max {
            return Err(ConfigError::invalid(
                max_var,
                format!("must be at least {min_var} ({} ms)", range.min.as_millis()),
            ));
        }
        Ok(range)
    }

    /// A short plain-text label: the web app shows it as it is, so no markup and no line breaks.
    fn label(&self, var: &'static str) -> Result<Option<String>, ConfigError> {
        let Some(value) = self.get(var) else { return Ok(None) };
        if value.chars().count() > MAX_LABEL_CHARS {
            return Err(ConfigError::invalid(var, format!("must be at most {MAX_LABEL_CHARS} characters")));
        }
        if value.chars().any(|c| c.is_control() || matches!(c, '<' | '>' | '&' | '[' | ']')) {
            return Err(ConfigError::invalid(var, "must be plain text: no line breaks, <, >, &, [ or ]"));
        }
        Ok(Some(value))
    }

    /// Each class's model and thinking. A class's own variable wins; the variables from before classes
    /// existed still name the writing, image and video models; vision follows writing.
    fn models(&self) -> Result<Models, ConfigError> {
        let mut models = Models::default();
        for (class, older) in [
            (ModelClass::Decision, None),
            (ModelClass::Writing, Some("GEMINI_MODEL")),
            (ModelClass::Image, Some("GEMINI_IMAGE_MODEL")),
            (ModelClass::Video, Some("GEMINI_VIDEO_MODEL")),
            (ModelClass::Vision, None),
        ] {
            let chosen =
                [Some(class.variable()), older].into_iter().flatten().find_map(|var| Some((self.get(var)?, var)));
            let (model, var) = match (chosen, class) {
                (Some(chosen), _) => chosen,
                // Vision follows writing (every current text model reads pictures).
                (None, ModelClass::Vision) => {
                    (models.model(ModelClass::Writing).to_owned(), models.variable(ModelClass::Writing))
                }
                (None, _) => (class.default_model().to_owned(), class.variable()),
            };
            models = models.with(class, &model).chosen_by(class, var);
            if let Some(var) = class.thinking_variable() {
                models = models.thinking_for(class, self.parsed(var, class.default_thinking())?);
            }
        }
        Ok(models)
    }

    fn secret(&self, var: &str) -> Option<SecretString> {
        self.get(var).map(SecretString::from)
    }

    fn url(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        let value = self.get(var).unwrap_or_else(|| default.to_owned());
        if !(value.starts_with("http://") || value.starts_with("https://")) {
            return Err(ConfigError::invalid(var, format!("expected an http:// or https:// URL, got {value:?}")));
        }
        Ok(value.trim_end_matches('/').to_owned())
    }
}

/// The signer `C2PA_SIGNING_CERT` (PEM certificates, leaf first) and `C2PA_SIGNING_KEY` (a PEM PKCS#8
/// P-256 key) make, if both are set.
fn media_signer(v: &Vars<'_>) -> Result<Option<Arc<Signer>>, ConfigError> {
    match (v.get("C2PA_SIGNING_CERT"), v.secret("C2PA_SIGNING_KEY")) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::invalid("C2PA_SIGNING_KEY", "must be set with C2PA_SIGNING_CERT")),
        (None, Some(_)) => Err(ConfigError::invalid("C2PA_SIGNING_CERT", "must be set with C2PA_SIGNING_KEY")),
        (Some(cert), Some(key)) => {
            use secrecy::ExposeSecret as _;
            let signer = Signer::from_pem(&cert, key.expose_secret()).map_err(|e| match e {
                CredentialsError::Certificate(why) => ConfigError::invalid("C2PA_SIGNING_CERT", why),
                CredentialsError::Key(why) => ConfigError::invalid("C2PA_SIGNING_KEY", why),
            })?;
            Ok(Some(Arc::new(signer)))
        }
    }
}

/// Variables earlier releases read and this one does not, with what replaced them. Set, each gets one
/// warning line when the configuration is read: a setting that silently changes nothing is a trap.
pub const RETIRED: &[(&str, &str)] = &[
    ("DELAY_COMMENT_MIN", "a persona's sessions decide when it comments"),
    ("DELAY_COMMENT_MAX", "a persona's sessions decide when it comments"),
    ("DELAY_VOTE_MIN", "a persona's sessions decide when it votes"),
    ("DELAY_VOTE_MAX", "a persona's sessions decide when it votes"),
    ("DELAY_POST_MIN", "a persona's sessions decide when it posts"),
    ("DELAY_POST_MAX", "a persona's sessions decide when it posts"),
    ("CONVERSATION_REPLY_PROBABILITY", "a persona's session chooses whether to answer"),
];

/// The retired variables `lookup` has set, each with what replaced it.
pub fn retired_in_use(lookup: &dyn Fn(&str) -> Option<String>) -> Vec<(&'static str, &'static str)> {
    RETIRED.iter().copied().filter(|(var, _)| lookup(var).is_some()).collect()
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|var| std::env::var(var).ok())
    }

    /// Reads from a map, for tests.
    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(&|var| map.get(var).cloned())
    }

    /// Reads variables through `lookup`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        for (var, instead) in retired_in_use(lookup) {
            tracing::warn!(variable = var, "{var} is set but no longer read ({instead}); remove it");
        }
        let v = Vars { lookup };

        let database_url = v.secret("DATABASE_URL");
        let gemini_key = v.secret("GEMINI_API_KEY");
        let llm_provider = match v.get("LLM_PROVIDER") {
            Some(raw) => raw.parse().map_err(|e: String| ConfigError::invalid("LLM_PROVIDER", e))?,
            None if gemini_key.is_some() => LlmProvider::Gemini,
            None => LlmProvider::Offline,
        };
        if llm_provider == LlmProvider::Gemini && gemini_key.is_none() {
            return Err(ConfigError::Missing { var: "GEMINI_API_KEY", why: "LLM_PROVIDER is gemini" });
        }

        let supabase = match v.get("SUPABASE_URL") {
            None => None,
            Some(_) => Some(SupabaseConfig {
                url: v.url("SUPABASE_URL", "")?,
                service_role_key: v.secret("SUPABASE_SERVICE_ROLE_KEY").ok_or(ConfigError::Missing {
                    var: "SUPABASE_SERVICE_ROLE_KEY",
                    why: "SUPABASE_URL is set, so images are uploaded to Supabase Storage",
                })?,
                bucket: v.get("SUPABASE_STORAGE_BUCKET").unwrap_or_else(|| "media".into()),
            }),
        };

        let quality: u8 = v.bounded("IMAGE_QUALITY", 82, 1..=100)?;
        let lease = Duration::from_secs(v.bounded("TASK_LEASE_SECONDS", 300u64, 1..=86_400)?);
        let task_timeout = v.millis("TASK_TIMEOUT_MS", 90_000, 1..=900_000)?;
        if task_timeout >= lease {
            return Err(ConfigError::invalid(
                "TASK_TIMEOUT_MS",
                format!("must be below TASK_LEASE_SECONDS ({} s), or a live task would be rescued", lease.as_secs()),
            ));
        }
        let admin_key = match v.secret("ADMIN_API_KEY") {
            Some(key) => Some(AdminKey::new(key).map_err(|reason| ConfigError::invalid("ADMIN_API_KEY", reason))?),
            None => None,
        };

        let prices = match v.get("MODEL_PRICES") {
            Some(spec) => PriceTable::with_overrides(&spec).map_err(|e| ConfigError::invalid("MODEL_PRICES", e))?,
            None => PriceTable::default(),
        };
        let budget = BudgetConfig {
            daily_micros: v.usd("DAILY_BUDGET_USD")?,
            persona_daily_micros: v.usd("PERSONA_DAILY_BUDGET_USD")?,
        };

        let metrics_emf = match v.get("METRICS").as_deref() {
            None | Some("off") => false,
            Some("emf") => true,
            Some(other) => return Err(ConfigError::invalid("METRICS", format!("{other:?} is not emf or off"))),
        };

        let config = Self {
            prices,
            budget,
            metrics_emf,
            database: DatabaseConfig {
                url: database_url,
                ca_cert: v.get("DATABASE_CA_CERT").map(PathBuf::from),
                pool_size: v.bounded("DATABASE_POOL_SIZE", 4usize, 1..=100)?,
            },
            llm_provider,
            gemini: GeminiConfig {
                api_key: gemini_key,
                models: v.models()?,
                base_url: v.url("GEMINI_BASE_URL", DEFAULT_GEMINI_BASE_URL)?,
                max_requests_per_minute: v.bounded("GEMINI_MAX_REQUESTS_PER_MINUTE", 30, 1..=100_000)?,
                timeout: v.millis("GEMINI_TIMEOUT_MS", 60_000, 1..=900_000)?,
            },
            openai: OpenAiConfig {
                base_url: v.url("OPENAI_BASE_URL", "https://api.openai.com/v1")?,
                api_key: v.secret("OPENAI_API_KEY"),
                model: v.get("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
            },
            supabase,
            scheduler: SchedulerConfig {
                enabled: v.bool("SCHEDULER_ENABLED", true)?,
                interval: v.millis("SCHEDULER_INTERVAL_MS", 120_000, 1_000..=86_400_000)?,
                max_concurrent_tasks: v.bounded("MAX_CONCURRENT_TASKS", 3, 1..=256)?,
                max_tasks_per_tick: v.bounded("MAX_TASKS_PER_TICK", 5, 1..=1000)?,
                task_timeout,
                local_budget: v.millis("WORKER_LOCAL_BUDGET_MS", 120_000, 1..=86_400_000)?,
            },
            queue: QueueConfig { lease, max_retries: v.bounded("TASK_MAX_RETRIES", 3, 0..=100)? },
            limits: LimitsConfig {
                max_actions_per_hour: v.bounded("PERSONA_MAX_ACTIONS_PER_HOUR", 4, 0..=10_000)?,
                max_posts_per_day: v.bounded("PERSONA_MAX_POSTS_PER_DAY", 2, 0..=1_000)?,
            },
            delays: DelaysConfig { reply: v.delay("DELAY_REPLY_MIN", "DELAY_REPLY_MAX", (300_000, 3_600_000))? },
            conversation: ConversationConfig {
                max_depth: v.bounded("CONVERSATION_MAX_DEPTH", 4, 0..=1_000)?,
                max_replies_per_thread: v.bounded("CONVERSATION_MAX_REPLIES_PER_THREAD", 8, 0..=100_000)?,
                answer_people: v.bounded("CONVERSATION_ANSWER_PEOPLE", 0.55, 0.0..=1.0)?,
            },
            admin: AdminConfig {
                host: v.get("ADMIN_HOST").unwrap_or_else(|| "127.0.0.1".into()),
                port: v.parsed("ADMIN_PORT", 3001)?,
                api_key: admin_key,
            },
            image: ImageConfig {
                max_width: v.bounded("IMAGE_MAX_WIDTH", 1600, 1..=MAX_IMAGE_DIMENSION)?,
                quality,
                format: v.parsed("IMAGE_FORMAT", ImageFormat::Jpeg)?,
                local_dir: PathBuf::from(v.get("MEDIA_DIR").unwrap_or_else(|| "media".into())),
            },
            disclosure: DisclosureConfig {
                mode: v.parsed("PERSONA_DISCLOSURE", Disclosure::Honest)?,
                label: v.label("PERSONA_LABEL")?.unwrap_or_else(|| "AI persona".into()),
                bio_suffix: v.label("PERSONA_BIO_LABEL")?,
            },
            video: VideoConfig {
                max_bytes: v.bounded("VIDEO_MAX_BYTES", 64 * 1024 * 1024, 1024..=1024 * 1024 * 1024)?,
                max_wait: v.millis("VIDEO_MAX_WAIT_MS", 20 * 60_000, 60_000..=24 * 3_600_000)?,
                per_persona_per_week: v.bounded("VIDEO_MAX_PER_PERSONA_PER_WEEK", 1, 0..=1_000)?,
            },
            trends: TrendsConfig {
                persona_weight: v.bounded("TREND_PERSONA_WEIGHT", 0.5, 0.0..=1.0)?,
                tag_human_posts: v.bool("TAG_HUMAN_POSTS", false)?,
            },
            moderation_phrases_file: v.get("MODERATION_BANNED_PHRASES_FILE").map(PathBuf::from),
            media_signer: media_signer(&v)?,
        };
        if let Some(warning) = config.disclosure.mode.warning() {
            tracing::warn!(variable = "PERSONA_DISCLOSURE", "{warning}");
        }
        Ok(config)
    }

    /// The embedded defaults: what an empty environment gives.
    pub fn defaults() -> Self {
        Self::from_lookup(&|_| None).expect("the built-in defaults are valid")
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Jpeg => "jpeg",
            Self::Webp => "webp",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_map(&map)
    }

    #[test]
    fn disclosure_settings_are_read_and_a_label_with_markup_is_refused_by_name() {
        let defaults = parse(&[]).unwrap().disclosure;
        assert_eq!(
            (defaults.mode, defaults.label.as_str(), defaults.bio_suffix),
            (Disclosure::Honest, "AI persona", None)
        );
        let labelled = parse(&[("PERSONA_DISCLOSURE", "labelled"), ("PERSONA_BIO_LABEL", "(AI persona)")]).unwrap();
        assert_eq!(labelled.disclosure.bio_suffix.as_deref(), Some("(AI persona)"));
        for (var, value) in [
            ("PERSONA_DISCLOSURE", "sometimes"),
            ("PERSONA_LABEL", "<b>AI</b>"),
            ("PERSONA_BIO_LABEL", "AI\npersona"),
            ("PERSONA_LABEL", &"x".repeat(61)),
        ] {
            let err = parse(&[(var, value)]).unwrap_err().to_string();
            assert!(err.contains(var), "{err}");
        }
    }

    #[test]
    fn trend_settings_are_read_and_a_weight_outside_zero_to_one_is_refused_by_name() {
        assert_eq!(parse(&[]).unwrap().trends, TrendsConfig { persona_weight: 0.5, tag_human_posts: false });
        let set = parse(&[("TREND_PERSONA_WEIGHT", "0.25"), ("TAG_HUMAN_POSTS", "on")]).unwrap().trends;
        assert_eq!(set, TrendsConfig { persona_weight: 0.25, tag_human_posts: true });
        for (var, value) in [
            ("TREND_PERSONA_WEIGHT", "1.5"),
            ("TREND_PERSONA_WEIGHT", "NaN"),
            ("TREND_PERSONA_WEIGHT", "half"),
            ("TAG_HUMAN_POSTS", "maybe"),
        ] {
            match parse(&[(var, value)]) {
                Err(ConfigError::Invalid { var: named, .. }) => assert_eq!(named, var, "{value}"),
                other => panic!("{var}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_chance_of_answering_people_is_read_and_one_outside_zero_to_one_is_refused_by_name() {
        assert_eq!(parse(&[]).unwrap().conversation.answer_people, 0.55);
        assert_eq!(parse(&[("CONVERSATION_ANSWER_PEOPLE", "0.3")]).unwrap().conversation.answer_people, 0.3);
        for value in ["1.5", "-0.1", "NaN", "often"] {
            match parse(&[("CONVERSATION_ANSWER_PEOPLE", value)]) {
                Err(ConfigError::Invalid { var, .. }) => assert_eq!(var, "CONVERSATION_ANSWER_PEOPLE", "{value}"),
                other => panic!("CONVERSATION_ANSWER_PEOPLE={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_signing_certificate_needs_its_key_and_a_bad_key_is_named_but_never_repeated() {
        assert!(parse(&[]).unwrap().media_signer.is_none());
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = parse(&[("C2PA_SIGNING_CERT", cert)]).unwrap_err().to_string();
        assert!(err.contains("C2PA_SIGNING_KEY") && err.contains("must be set"), "{err}");
        let err = parse(&[("C2PA_SIGNING_KEY", "x")]).unwrap_err().to_string();
        assert!(err.contains("C2PA_SIGNING_CERT"), "{err}");
        let key = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n";
        let err = parse(&[("C2PA_SIGNING_CERT", cert), ("C2PA_SIGNING_KEY", key)]).unwrap_err().to_string();
        assert!(err.contains("C2PA_SIGNING_KEY") && !err.contains("c2VjcmV0"), "{err}");
    }

    #[test]
    fn each_class_has_its_model_and_the_older_variables_still_name_writing_images_and_clips() {
        use crate::ai::Thinking;
        let older = parse(&[
            ("GEMINI_MODEL", "gemini-3.6-flash"),
            ("GEMINI_IMAGE_MODEL", "gemini-3.1-flash-image"),
            ("GEMINI_VIDEO_MODEL", "veo-3.1-generate-preview"),
        ])
        .unwrap();
        let m = &older.gemini.models;
        assert_eq!(m.model(ModelClass::Writing), "gemini-3.6-flash");
        assert_eq!(m.model(ModelClass::Vision), "gemini-3.6-flash", "vision follows writing");
        assert_eq!(m.model(ModelClass::Image), "gemini-3.1-flash-image");
        assert_eq!(m.model(ModelClass::Video), "veo-3.1-generate-preview");
        assert_eq!(m.model(ModelClass::Decision), ModelClass::Decision.default_model(), "decisions keep their tier");
        assert_eq!(m.variable(ModelClass::Image), "GEMINI_IMAGE_MODEL", "the variable that chose it is named");
        assert_eq!(m.variable(ModelClass::Vision), "GEMINI_MODEL", "vision follows writing, variable and all");
        assert_eq!(m.variable(ModelClass::Decision), "GEMINI_MODEL_DECISION");
        let classes = parse(&[
            ("GEMINI_MODEL", "gemini-3.6-flash"),
            ("GEMINI_MODEL_WRITING", "gemini-3.8-flash"),
            ("GEMINI_MODEL_DECISION", "gemini-3.5-flash-lite"),
            ("GEMINI_MODEL_VISION", "gemini-3.5-flash"),
            ("GEMINI_THINKING_DECISION", "low"),
            ("GEMINI_THINKING_WRITING", "Medium"),
        ])
        .unwrap();
        let m = &classes.gemini.models;
        assert_eq!(m.model(ModelClass::Writing), "gemini-3.8-flash", "a class's own variable wins");
        assert_eq!(m.variable(ModelClass::Writing), "GEMINI_MODEL_WRITING");
        assert_eq!(m.model(ModelClass::Decision), "gemini-3.5-flash-lite");
        assert_eq!(m.model(ModelClass::Vision), "gemini-3.5-flash");
        assert_eq!(m.thinking(ModelClass::Decision), Thinking::Low);
        assert_eq!(m.thinking(ModelClass::Writing), Thinking::Medium);
        assert_eq!(m.thinking(ModelClass::Vision), Thinking::Low);
        let err = parse(&[("GEMINI_THINKING_DECISION", "none")]).unwrap_err().to_string();
        assert!(err.contains("GEMINI_THINKING_DECISION") && err.contains("\"none\""), "{err}");
    }

    #[test]
    fn prices_budgets_and_metrics_are_read_and_a_bad_one_is_named() {
        let config = parse(&[
            ("DAILY_BUDGET_USD", "2.5"),
            ("PERSONA_DAILY_BUDGET_USD", "0.10"),
            ("METRICS", "emf"),
            ("MODEL_PRICES", "my-model=1/0.1/4"),
        ])
        .unwrap();
        assert_eq!(config.budget.daily_micros, Some(2_500_000));
        assert_eq!(config.budget.persona_daily_micros, Some(100_000));
        assert!(config.metrics_emf);
        assert_eq!(config.prices.price("my-model").unwrap().output, 4.0);
        let defaults = parse(&[]).unwrap();
        assert_eq!((defaults.budget, defaults.metrics_emf), (BudgetConfig::default(), false));
        for (var, value) in [
            ("DAILY_BUDGET_USD", "lots"),
            ("DAILY_BUDGET_USD", "-1"),
            ("PERSONA_DAILY_BUDGET_USD", "2000000"),
            ("METRICS", "prometheus"),
            ("MODEL_PRICES", "my-model"),
        ] {
            match parse(&[(var, value)]) {
                Err(ConfigError::Invalid { var: named, .. }) => assert_eq!(named, var, "{value}"),
                other => panic!("{var}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_empty_environment_gives_the_documented_defaults() {
        let c = parse(&[]).unwrap();
        assert!(c.database.url.is_none());
        assert_eq!(c.llm_provider, LlmProvider::Offline);
        assert!(c.scheduler.enabled);
        assert_eq!(c.scheduler.interval, Duration::from_millis(120_000));
        assert_eq!(c.scheduler.max_concurrent_tasks, 3);
        assert_eq!(c.scheduler.max_tasks_per_tick, 5);
        assert_eq!(c.limits.max_actions_per_hour, 4);
        assert_eq!(c.limits.max_posts_per_day, 2);
        assert_eq!(c.gemini.max_requests_per_minute, 30);
        assert_eq!(c.delays.reply, DelayRange { min: Duration::from_secs(300), max: Duration::from_secs(3600) });
        assert_eq!(c.conversation.max_depth, 4);
        assert_eq!(c.conversation.max_replies_per_thread, 8);
        assert_eq!(c.admin.port, 3001);
        assert_eq!(c.image.max_width, 1600);
        assert_eq!(c.image.quality, 82);
        assert!(c.supabase.is_none());
        assert_eq!(c.gemini.models, Models::default());
        assert_ne!(c.gemini.models.model(ModelClass::Image), "gemini-2.0-flash");
        assert_eq!(c.queue.max_retries, 3);
    }

    #[test]
    fn a_malformed_number_names_the_variable() {
        let err = parse(&[("MAX_TASKS_PER_TICK", "five")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { var: "MAX_TASKS_PER_TICK", .. }), "{err}");
        assert!(err.to_string().starts_with("MAX_TASKS_PER_TICK is invalid"), "{err}");
    }

    #[test]
    fn zero_concurrency_is_refused() {
        let err = parse(&[("MAX_CONCURRENT_TASKS", "0")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { var: "MAX_CONCURRENT_TASKS", .. }));
    }

    #[test]
    fn a_delay_range_upside_down_is_refused() {
        let err = parse(&[("DELAY_REPLY_MIN", "5000"), ("DELAY_REPLY_MAX", "10")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { var: "DELAY_REPLY_MAX", .. }), "{err}");
    }

    #[test]
    fn a_gemini_key_selects_gemini_and_the_key_is_not_printed() {
        let c = parse(&[("GEMINI_API_KEY", "AIzaSecretValue123")]).unwrap();
        assert_eq!(c.llm_provider, LlmProvider::Gemini);
        assert!(!format!("{c:?}").contains("AIzaSecretValue123"));
    }

    #[test]
    fn gemini_without_a_key_is_a_missing_variable() {
        let err = parse(&[("LLM_PROVIDER", "gemini")]).unwrap_err();
        assert_eq!(err, ConfigError::Missing { var: "GEMINI_API_KEY", why: "LLM_PROVIDER is gemini" });
    }

    #[test]
    fn supabase_url_without_its_key_is_refused() {
        let err = parse(&[("SUPABASE_URL", "https://x.supabase.co")]).unwrap_err();
        assert!(matches!(err, ConfigError::Missing { var: "SUPABASE_SERVICE_ROLE_KEY", .. }));
    }

    #[test]
    fn a_task_timeout_longer_than_the_lease_is_refused() {
        let err = parse(&[("TASK_LEASE_SECONDS", "60"), ("TASK_TIMEOUT_MS", "120000")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { var: "TASK_TIMEOUT_MS", .. }));
    }

    #[test]
    fn every_count_and_duration_is_bounded_and_the_error_names_the_variable() {
        for (var, value) in [
            ("TASK_LEASE_SECONDS", "8300000000000"),
            ("DELAY_REPLY_MAX", "18446744073709551615"),
            ("DELAY_REPLY_MIN", "999999999999"),
            ("TASK_MAX_RETRIES", "-1"),
            ("GEMINI_TIMEOUT_MS", "0"),
            ("SCHEDULER_INTERVAL_MS", "5"),
            ("MAX_TASKS_PER_TICK", "100000"),
            ("DATABASE_POOL_SIZE", "0"),
            ("IMAGE_MAX_WIDTH", "100000"),
            ("IMAGE_QUALITY", "0"),
            ("PERSONA_MAX_ACTIONS_PER_HOUR", "-4"),
        ] {
            let err = parse(&[(var, value)]).unwrap_err();
            assert!(matches!(&err, ConfigError::Invalid { var: v, .. } if *v == var), "{var}={value}: {err}");
        }
        let err = parse(&[("TASK_MAX_RETRIES", "-1")]).unwrap_err();
        assert_eq!(err.to_string(), "TASK_MAX_RETRIES is invalid: must be between 0 and 100, got -1");
        // The largest accepted values still make valid times.
        let c = parse(&[("TASK_LEASE_SECONDS", "86400"), ("DELAY_REPLY_MAX", "604800000")]).unwrap();
        assert!(chrono::Duration::from_std(c.queue.lease).is_ok());
        assert!(chrono::Duration::from_std(c.delays.reply.max).is_ok());
    }

    #[test]
    fn a_short_admin_key_is_refused_without_being_repeated() {
        let err = parse(&[("ADMIN_API_KEY", "hunter2-hunter2")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { var: "ADMIN_API_KEY", .. }), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let c = parse(&[("ADMIN_API_KEY", &"k".repeat(32))]).unwrap();
        assert!(c.admin.api_key.is_some());
        assert!(!format!("{c:?}").contains(&"k".repeat(32)));
    }

    #[test]
    fn bad_booleans_and_urls_are_refused() {
        assert!(matches!(
            parse(&[("SCHEDULER_ENABLED", "maybe")]).unwrap_err(),
            ConfigError::Invalid { var: "SCHEDULER_ENABLED", .. }
        ));
        assert!(matches!(
            parse(&[("GEMINI_BASE_URL", "localhost:9")]).unwrap_err(),
            ConfigError::Invalid { var: "GEMINI_BASE_URL", .. }
        ));
    }

    /// The names a document lists as configuration: `NAME=` lines of .env.example (commented or not) and
    /// the backticked names in the first column of docs/configuration.md's table.
    fn documented() -> Vec<String> {
        let env = include_str!("../../.env.example");
        let mut names: Vec<String> = env
            .lines()
            .map(|l| l.trim_start_matches(['#', ' ']))
            .filter_map(|l| l.split_once('=').map(|(name, _)| name))
            .filter(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .map(str::to_owned)
            .collect();
        let readme = include_str!("../../docs/configuration.md");
        let table = readme.split("## Configuration").nth(1).expect("docs/configuration.md has a Configuration section");
        for row in table.lines().skip_while(|l| !l.starts_with("| `")).take_while(|l| l.starts_with('|')) {
            let first = row.split('|').nth(1).unwrap_or_default();
            names.extend(
                first
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .filter(|n| n.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
                    .map(str::to_owned),
            );
        }
        names
    }

    #[test]
    fn the_docs_list_only_variables_the_engine_reads() {
        // What the engine reads: every variable this module, the secrets reader or the model routing (a
        // variable per class of work) looks up by name.
        let code = format!("{}{}{}", include_str!("config.rs"), include_str!("secrets.rs"), include_str!("routing.rs"));
        let retired: Vec<&str> = RETIRED.iter().map(|(v, _)| *v).collect();
        let documented = documented();
        assert!(documented.len() >= 40, "{documented:?}");
        for name in documented {
            assert!(!retired.contains(&name.as_str()), "{name} is documented but retired");
            assert!(
                code.contains(&format!("\"{name}\"")) || name == "SECRETS_ARN",
                "{name} is documented but never read"
            );
        }
    }

    #[test]
    fn a_retired_variable_is_named_and_changes_nothing() {
        let with = parse(&[("DELAY_COMMENT_MIN", "NaN"), ("CONVERSATION_REPLY_PROBABILITY", "0.2")]).unwrap();
        assert_eq!(format!("{with:?}"), format!("{:?}", parse(&[]).unwrap()), "a retired variable changes nothing");
        let set: HashMap<String, String> = [("DELAY_COMMENT_MIN".to_owned(), "NaN".to_owned())].into();
        assert_eq!(retired_in_use(&|v| set.get(v).cloned()), vec![("DELAY_COMMENT_MIN", RETIRED[0].1)]);
    }
}
