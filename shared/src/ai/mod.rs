//! The model layer: one seam, three providers (Gemini, any OpenAI-compatible server, and an offline
//! template writer that is not a language model), every failure classified for the queue, a global
//! request limit kept in Postgres, and typed, validated outputs.

pub mod cost;
pub mod gemini;
pub mod offline;
pub mod openai_compat;
pub mod parse;
pub mod rate_limit;
pub mod similarity;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::config::{Config, LlmProvider};
use crate::db::DbError;

pub use crate::routing::{ModelClass, Models, Thinking};
pub use rate_limit::RateLimiter;

/// What the model is asked to produce.
#[derive(Debug, Clone, Serialize)]
pub struct Prompt {
    /// The persona's system instruction.
    pub system: String,
    /// The user turn: context and the action's instructions.
    pub user: String,
    /// The JSON schema the answer must follow (Gemini's OpenAPI subset).
    pub schema: serde_json::Value,
    /// The class of model that answers (a text class: decision, writing or vision).
    pub class: ModelClass,
    /// Sampling temperature.
    pub temperature: f32,
    /// Output budget, thinking included.
    pub max_output_tokens: u32,
    /// Varies the offline writer's choices (and changes when an answer is asked for again).
    pub seed: u64,
    /// What the offline writer answers to this request; the other providers read `system`/`user`.
    #[serde(skip)]
    pub offline: Option<OfflineAnswer>,
    /// A picture shown with the user turn (a vision call); `None` for text alone.
    #[serde(skip)]
    pub image: Option<Attachment>,
}

impl Prompt {
    /// The same request asked again after an answer that could not be used: the reason is fed back
    /// and the seed moves, so the offline writer answers differently too.
    pub fn with_feedback(&self, problem: &str) -> Prompt {
        let mut next = self.clone();
        next.user.push_str(&format!(
            "\n\nYour previous answer could not be used ({problem}). Write a different answer that avoids this."
        ));
        next.seed = next.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        next
    }
}

/// A picture the model is shown with a prompt.
#[derive(Clone)]
pub struct Attachment {
    /// `image/jpeg`, `image/webp` or `image/png`.
    pub mime_type: &'static str,
    /// The encoded picture.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Attachment({}, {} bytes)", self.mime_type, self.bytes.len())
    }
}

/// The answer the offline writer gives to one request, as the kind that asks writes it: a function of
/// the prompt's seed.
#[derive(Clone)]
pub struct OfflineAnswer(Arc<dyn Fn(u64) -> serde_json::Value + Send + Sync>);

impl OfflineAnswer {
    /// An answer written by `write` for a seed.
    pub fn new(write: impl Fn(u64) -> serde_json::Value + Send + Sync + 'static) -> Self {
        Self(Arc::new(write))
    }

    /// The answer for `seed`.
    pub fn answer(&self, seed: u64) -> serde_json::Value {
        (self.0)(seed)
    }
}

impl std::fmt::Debug for OfflineAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OfflineAnswer")
    }
}

/// An image to generate.
#[derive(Debug, Clone, Serialize)]
pub struct ImagePrompt {
    /// What to draw.
    pub prompt: String,
    /// `"4:3"`, `"1:1"`, …
    pub aspect_ratio: String,
    /// Varies the offline painter's picture.
    pub seed: u64,
    /// A head-and-shoulders picture of someone (an avatar), not a scene: the offline painter paints a
    /// portrait; a model reads what to draw from `prompt`.
    pub portrait: bool,
}

/// A short clip to make, from a start frame.
#[derive(Debug, Clone)]
pub struct VideoPrompt {
    /// What happens in the clip.
    pub prompt: String,
    /// The first frame (an encoded image) and its MIME type: the clip starts from the picture the
    /// post shows, so it shows the same people and place.
    pub start_frame: Option<(Vec<u8>, String)>,
    /// `"16:9"` or `"9:16"`.
    pub aspect_ratio: String,
    /// Its length.
    pub seconds: u32,
    /// Varies the offline provider's clip.
    pub seed: u64,
}

/// Where the making of a clip stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoStatus {
    /// Still being made.
    Pending,
    /// Made: where to download it.
    Ready {
        /// The clip's address, on the provider's own host.
        uri: String,
    },
    /// The provider gave up.
    Failed {
        /// Its reason.
        reason: String,
    },
    /// The provider's safety filters kept the clip back.
    Blocked {
        /// Their reasons.
        reason: String,
    },
}

/// A downloaded clip, as the provider sent it (checked before it is stored).
#[derive(Debug)]
pub struct DownloadedClip {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The `content-type` it came with.
    pub content_type: String,
}

/// Tokens a call used, as the provider reported them, and what they cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Usage {
    /// Input tokens (cached ones included).
    pub prompt_tokens: u32,
    /// Of the input, tokens served from the cache (billed at the cached rate).
    pub cached_tokens: u32,
    /// Output tokens, excluding thinking.
    pub output_tokens: u32,
    /// Of the output, image tokens (billed at the image rate).
    pub image_tokens: u32,
    /// Thinking tokens (billed as output).
    pub thoughts_tokens: u32,
    /// What the calls cost, in micro-USD, at the price table's rates for the model that answered.
    pub cost_micros: u64,
    /// How long the model took to answer, in milliseconds, over every call.
    pub model_millis: u64,
}

impl Usage {
    /// Billed output: answer plus thinking.
    pub fn completion_tokens(&self) -> u32 {
        self.output_tokens + self.thoughts_tokens
    }

    /// The sum of two calls' usage.
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens.saturating_add(other.prompt_tokens),
            cached_tokens: self.cached_tokens.saturating_add(other.cached_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
            image_tokens: self.image_tokens.saturating_add(other.image_tokens),
            thoughts_tokens: self.thoughts_tokens.saturating_add(other.thoughts_tokens),
            cost_micros: self.cost_micros.saturating_add(other.cost_micros),
            model_millis: self.model_millis.saturating_add(other.model_millis),
        }
    }

    /// This usage priced for `model`.
    pub fn priced(mut self, prices: &cost::PriceTable, model: &str) -> Usage {
        self.cost_micros = prices.cost_micros(model, &self);
        self
    }
}

/// A text answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The answer (JSON text, per the prompt's schema).
    pub text: String,
    /// Tokens used, retries included.
    pub usage: Usage,
}

/// An image answer.
#[derive(Debug)]
pub struct GeneratedImage {
    /// Encoded image bytes.
    pub bytes: Vec<u8>,
    /// Their MIME type as the provider declared it.
    pub mime_type: String,
    /// Tokens used.
    pub usage: Usage,
    /// The process's image slot, when the provider took it to read a full-size answer; processing
    /// keeps it (or takes it) until the image is encoded.
    pub slot: Option<crate::media::ImageSlot>,
}

/// What the queue should do with a task whose model call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Disposition {
    /// Try again later without using a retry (rate limits).
    Reschedule {
        /// How long to wait.
        after: Duration,
    },
    /// Try again with backoff, using a retry.
    Retry,
    /// Give up: it will not work without an operator.
    Fail,
    /// Not applicable: the model declined (safety) — SKIPPED with the reason.
    Skip,
}

/// Why a model call failed, classified so the queue knows what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A per-minute limit: the server (or our own global limit) says wait.
    #[error("rate limited, retry in {}s: {message}", retry_after.as_secs())]
    RateLimited {
        /// How long to wait.
        retry_after: Duration,
        /// The server's message.
        message: String,
    },
    /// A per-day quota: it will not clear for hours, so fail fast.
    #[error("quota exhausted ({quota}): {message}")]
    QuotaExhausted {
        /// The quota id the server named.
        quota: String,
        /// The server's message.
        message: String,
    },
    /// A temporary failure: 408, 5xx, a timeout or a lost connection.
    #[error("temporary model failure{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Transient {
        /// HTTP status, when there was a response.
        status: Option<u16>,
        /// What happened.
        message: String,
    },
    /// The request was refused and will be refused again (400, 403).
    #[error("model request refused (HTTP {status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The API key was rejected: a configuration error.
    #[error("the model API key was rejected ({message}); check {var}")]
    BadApiKey {
        /// The variable holding the key.
        var: &'static str,
        /// The server's message.
        message: String,
    },
    /// The model does not exist (retired or misspelt): a configuration error.
    #[error("model {model} is not available ({message}); set {var} to a current model")]
    ModelNotFound {
        /// The model id asked for.
        model: String,
        /// The variable that chose it.
        var: &'static str,
        /// The server's message.
        message: String,
    },
    /// The model declined for safety or recitation.
    #[error("the model declined: {reason}")]
    Blocked {
        /// Block or finish reason.
        reason: String,
    },
    /// The answer was cut at the output limit even with a larger budget.
    #[error("the answer was cut off at the output limit ({limit} tokens) even after a retry with a larger budget")]
    Truncated {
        /// The last budget tried.
        limit: u32,
    },
    /// The answer had no content, twice.
    #[error("the model returned no content (finish reason {finish_reason})")]
    Empty {
        /// What the model said.
        finish_reason: String,
    },
    /// The image model answered without an image.
    #[error("the image model answered without an image (finish reason {finish_reason})")]
    NoImage {
        /// What the model said.
        finish_reason: String,
    },
    /// The response could not be read.
    #[error("unreadable model response: {0}")]
    InvalidResponse(String),
    /// The answer was larger than anything we accept (it would be again, and each try is billed).
    #[error("the model's answer is larger than {limit} bytes; refused without reading the rest")]
    TooLarge {
        /// The most we read.
        limit: usize,
    },
    /// The provider cannot do this (e.g. images without Gemini).
    #[error("{0}")]
    Unsupported(String),
    /// The global request limit could not be consulted.
    #[error("global request limit unavailable: {0}")]
    Limiter(#[from] DbError),
}

impl ModelError {
    /// Whether the same call may succeed later (after a wait or with backoff).
    pub fn is_retryable(&self) -> bool {
        matches!(self.disposition(), Disposition::Retry | Disposition::Reschedule { .. })
    }

    /// What the queue should do.
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::RateLimited { retry_after, .. } => Disposition::Reschedule { after: *retry_after },
            Self::Transient { .. }
            | Self::Truncated { .. }
            | Self::Empty { .. }
            | Self::NoImage { .. }
            | Self::InvalidResponse(_) => Disposition::Retry,
            Self::Limiter(e) if e.is_retryable() => Disposition::Retry,
            Self::Limiter(_)
            | Self::QuotaExhausted { .. }
            | Self::Refused { .. }
            | Self::BadApiKey { .. }
            | Self::ModelNotFound { .. }
            | Self::TooLarge { .. }
            | Self::Unsupported(_) => Disposition::Fail,
            Self::Blocked { .. } => Disposition::Skip,
        }
    }
}

/// A model provider.
#[async_trait]
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// `gemini`, `openai` or `offline`.
    fn name(&self) -> &'static str;
    /// Whether it can generate images.
    fn makes_images(&self) -> bool;
    /// Whether calls leave the machine (and so count against the global request limit).
    fn is_remote(&self) -> bool;
    /// A JSON answer to `prompt`.
    async fn generate(&self, prompt: &Prompt) -> Result<Generated, ModelError>;
    /// An image for `prompt`.
    async fn generate_image(&self, prompt: &ImagePrompt) -> Result<GeneratedImage, ModelError>;
    /// The model that does `class` of work (for logs, provenance and prices).
    fn model_for(&self, _class: ModelClass) -> &str {
        self.name()
    }
    /// The model that makes clips, when this provider makes them.
    fn video_model(&self) -> Option<&str> {
        None
    }
    /// What `seconds` of clip cost at the video model's price, micro-USD.
    fn video_cost_micros(&self, _seconds: u32) -> u64 {
        0
    }
    /// Starts making a clip; the operation's name, to poll.
    async fn submit_video(&self, _prompt: &VideoPrompt) -> Result<String, ModelError> {
        Err(ModelError::Unsupported(format!("the {} provider makes no video", self.name())))
    }
    /// Where the clip of `operation` stands.
    async fn poll_video(&self, _operation: &str) -> Result<VideoStatus, ModelError> {
        Err(ModelError::Unsupported(format!("the {} provider makes no video", self.name())))
    }
    /// The clip at `uri`, at most `limit` bytes of it.
    async fn download_video(&self, _uri: &str, _limit: usize) -> Result<DownloadedClip, ModelError> {
        Err(ModelError::Unsupported(format!("the {} provider makes no video", self.name())))
    }
}

/// The configured provider behind the global request limit. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ModelClient {
    provider: Arc<dyn Provider>,
    limiter: Option<RateLimiter>,
}

impl ModelClient {
    /// A client for `provider`; remote providers go through `limiter` when given.
    pub fn new(provider: Arc<dyn Provider>, limiter: Option<RateLimiter>) -> Self {
        let limiter = if provider.is_remote() { limiter } else { None };
        Self { provider, limiter }
    }

    /// The provider's name.
    pub fn provider_name(&self) -> &'static str {
        self.provider.name()
    }

    /// Whether image posts are possible.
    pub fn makes_images(&self) -> bool {
        self.provider.makes_images()
    }

    /// The model that draws.
    pub fn image_model(&self) -> &str {
        self.provider.model_for(ModelClass::Image)
    }

    /// The model that does `class` of work.
    pub fn model_for(&self, class: ModelClass) -> &str {
        self.provider.model_for(class)
    }

    /// The model that makes clips, if any.
    pub fn video_model(&self) -> Option<&str> {
        self.provider.video_model()
    }

    /// What `seconds` of clip cost, micro-USD.
    pub fn video_cost_micros(&self, seconds: u32) -> u64 {
        self.provider.video_cost_micros(seconds)
    }

    /// Starts a clip, after taking a slot of the global request limit.
    #[tracing::instrument(name = "video_submit", skip_all, fields(model = self.provider.video_model().unwrap_or("none"), seconds = prompt.seconds))]
    pub async fn submit_video(&self, prompt: &VideoPrompt) -> Result<String, ModelError> {
        self.take_slot().await?;
        self.provider.submit_video(prompt).await
    }

    /// Where a clip stands (a cheap read: it takes no slot of the request limit).
    #[tracing::instrument(name = "video_poll", skip_all, fields(operation = %operation))]
    pub async fn poll_video(&self, operation: &str) -> Result<VideoStatus, ModelError> {
        self.provider.poll_video(operation).await
    }

    /// A made clip, at most `limit` bytes.
    #[tracing::instrument(name = "video_download", skip_all)]
    pub async fn download_video(&self, uri: &str, limit: usize) -> Result<DownloadedClip, ModelError> {
        self.provider.download_video(uri, limit).await
    }

    /// A JSON answer, after taking a slot of the global request limit. Its span (inside the task's)
    /// carries the model, the tokens and the time it took.
    #[tracing::instrument(name = "model_call", skip_all,
        fields(model = self.provider.model_for(prompt.class), class = prompt.class.name(), tokens_in = tracing::field::Empty,
               tokens_out = tracing::field::Empty, latency_ms = tracing::field::Empty))]
    pub async fn generate(&self, prompt: &Prompt) -> Result<Generated, ModelError> {
        self.take_slot().await?;
        let started = std::time::Instant::now();
        let mut generated = self.provider.generate(prompt).await?;
        generated.usage.model_millis = started.elapsed().as_millis() as u64;
        let span = tracing::Span::current();
        span.record("tokens_in", generated.usage.prompt_tokens);
        span.record("tokens_out", generated.usage.completion_tokens());
        span.record("latency_ms", generated.usage.model_millis);
        tracing::info!("model answered");
        Ok(generated)
    }

    /// An image, after taking a slot of the global request limit.
    #[tracing::instrument(name = "model_call", skip_all,
        fields(model = self.provider.model_for(ModelClass::Image), latency_ms = tracing::field::Empty))]
    pub async fn generate_image(&self, prompt: &ImagePrompt) -> Result<GeneratedImage, ModelError> {
        self.take_slot().await?;
        let started = std::time::Instant::now();
        let mut generated = self.provider.generate_image(prompt).await?;
        generated.usage.model_millis = started.elapsed().as_millis() as u64;
        tracing::Span::current().record("latency_ms", generated.usage.model_millis);
        tracing::info!("image model answered");
        Ok(generated)
    }

    async fn take_slot(&self) -> Result<(), ModelError> {
        if let Some(limiter) = &self.limiter {
            limiter.acquire().await?.map_err(|wait| ModelError::RateLimited {
                retry_after: wait,
                message: format!("GEMINI_MAX_REQUESTS_PER_MINUTE ({}) reached", limiter.per_minute()),
            })?;
        }
        Ok(())
    }
}

/// The provider `config` selects. The offline provider says so in the log: it is not a language model.
pub fn provider_from_config(config: &Config) -> Result<Arc<dyn Provider>, ModelError> {
    Ok(match config.llm_provider {
        LlmProvider::Gemini => {
            Arc::new(gemini::GeminiClient::from_config(&config.gemini)?.with_prices(config.prices.clone()))
        }
        LlmProvider::OpenAiCompatible => {
            Arc::new(openai_compat::OpenAiClient::from_config(&config.openai)?.with_prices(config.prices.clone()))
        }
        LlmProvider::Offline => {
            tracing::info!(
                "LLM_PROVIDER=offline: text comes from deterministic templates, not a language model \
                 (set GEMINI_API_KEY for Gemini)"
            );
            Arc::new(offline::OfflineWriter)
        }
    })
}
