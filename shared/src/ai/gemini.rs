//! Google Gemini over its REST API (`v1beta` `generateContent`), as Google documents it: the key in the
//! `x-goog-api-key` header (never in a URL), JSON output with a schema, thinking held down so it cannot
//! eat the output budget, images scanned for in every part, clips through `predictLongRunning` and its
//! operation, and every failure classified.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::cost::PriceTable;
use super::{
    DownloadedClip, Generated, GeneratedImage, ImagePrompt, ModelError, Prompt, Provider, Usage, VideoPrompt,
    VideoStatus,
};
use crate::config::GeminiConfig;
use crate::media::{ImageSlot, MAX_RESPONSE_BYTES};
use crate::routing::{ModelClass, Models, Thinking, ThinkingSetting, is_gemini_3_or_later};

/// A Gemini client. Its `Debug` output never shows the key.
pub struct GeminiClient {
    http: reqwest::Client,
    download: reqwest::Client,
    base_url: String,
    api_key: SecretString,
    models: Models,
    prices: PriceTable,
}

impl std::fmt::Debug for GeminiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiClient")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .field("models", &self.models)
            .finish()
    }
}

impl GeminiClient {
    /// A client from configuration (`GEMINI_*`).
    pub fn from_config(config: &GeminiConfig) -> Result<Self, ModelError> {
        let api_key = config
            .api_key
            .clone()
            .ok_or_else(|| ModelError::Unsupported("GEMINI_API_KEY is not set; the gemini provider needs it".into()))?;
        Ok(Self::new(&config.base_url, api_key, "", "", config.timeout)?.with_models(config.models.clone()))
    }

    /// Routes each class of work to `models` instead.
    pub fn with_models(mut self, models: Models) -> Self {
        self.models = models;
        self
    }

    /// Prices calls with `prices` instead of the defaults.
    pub fn with_prices(mut self, prices: PriceTable) -> Self {
        self.prices = prices;
        self
    }

    /// A client for `base_url` (Google's, or a fake's) that writes and decides with `model` and draws
    /// with `image_model`.
    pub fn new(
        base_url: &str,
        api_key: SecretString,
        model: &str,
        image_model: &str,
        timeout: Duration,
    ) -> Result<Self, ModelError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("persona-engine/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ModelError::Unsupported(format!("HTTP client setup failed: {e}")))?;
        // Downloads follow redirects by hand, so the key never leaves the API's host.
        let download = reqwest::Client::builder()
            .timeout(timeout.max(Duration::from_secs(120)))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("persona-engine/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ModelError::Unsupported(format!("HTTP client setup failed: {e}")))?;
        Ok(Self {
            http,
            download,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            models: Models::uniform(model, image_model),
            prices: PriceTable::default(),
        })
    }

    /// Sends a request and waits for the answer's headers (the model's time goes here).
    async fn send(&self, model: &str, body: &Request) -> Result<reqwest::Response, ModelError> {
        let url = format!("{}/v1beta/models/{}:generateContent", self.base_url, model);
        self.http
            .post(&url)
            .header("x-goog-api-key", self.api_key.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(transport_error)
    }

    /// The answer of `class`'s model, at most `limit` bytes of it, parsed, or its failure naming the variable that chose the model.
    async fn read(&self, class: ModelClass, response: reqwest::Response, limit: usize) -> Result<Response, ModelError> {
        let model = self.models.model(class);
        let status = response.status();
        let bytes = read_capped(response, limit).await?;
        if !status.is_success() {
            return Err(classify_http_error(status.as_u16(), &bytes, model, self.models.variable(class)));
        }
        serde_json::from_slice(&bytes).map_err(|e| ModelError::InvalidResponse(format!("{e}")))
    }

    /// The body of a video endpoint's answer (at most `limit` bytes), or its error classified against
    /// `GEMINI_VIDEO_MODEL`.
    async fn video_body(
        &self,
        status: reqwest::StatusCode,
        response: reqwest::Response,
        limit: usize,
    ) -> Result<Vec<u8>, ModelError> {
        let bytes = read_capped(response, limit).await?;
        if !status.is_success() {
            return Err(classify_http_error(
                status.as_u16(),
                &bytes,
                self.models.model(ModelClass::Video),
                self.models.variable(ModelClass::Video),
            ));
        }
        Ok(bytes)
    }

    /// A video endpoint's JSON answer (an operation), or its error.
    async fn video_answer(&self, response: reqwest::Response) -> Result<Vec<u8>, ModelError> {
        self.video_body(response.status(), response, MAX_TEXT_RESPONSE_BYTES).await
    }

    async fn call(&self, class: ModelClass, body: &Request) -> Result<Response, ModelError> {
        let model = self.models.model(class);
        let response = self.send(model, body).await?;
        self.read(class, response, MAX_TEXT_RESPONSE_BYTES).await
    }

    /// Which model does which class of work.
    pub fn models(&self) -> &Models {
        &self.models
    }

    /// Whether `model` exists for this key (`GET /v1beta/models/{model}`): a retired model answers 404,
    /// a bad key 400, both classified as the worker would.
    pub async fn check_model(&self, model: &str) -> Result<(), ModelError> {
        let url = format!("{}/v1beta/models/{}", self.base_url, model);
        let response = self
            .http
            .get(&url)
            .header("x-goog-api-key", self.api_key.expose_secret())
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let bytes = read_capped(response, MAX_TEXT_RESPONSE_BYTES).await?;
        if status.is_success() {
            return Ok(());
        }
        Err(classify_http_error(status.as_u16(), &bytes, model, self.models.variable_for(model)))
    }
}

#[async_trait]
impl Provider for GeminiClient {
    fn name(&self) -> &'static str {
        "gemini"
    }

    fn makes_images(&self) -> bool {
        true
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn model_for(&self, class: ModelClass) -> &str {
        self.models.model(class)
    }

    fn video_model(&self) -> Option<&str> {
        Some(self.models.model(ModelClass::Video))
    }

    fn video_cost_micros(&self, seconds: u32) -> u64 {
        self.prices
            .video_per_second(self.models.model(ModelClass::Video))
            .map_or(0, |usd| (usd * 1e6 * f64::from(seconds)).round() as u64)
    }

    async fn submit_video(&self, prompt: &VideoPrompt) -> Result<String, ModelError> {
        let url =
            format!("{}/v1beta/models/{}:predictLongRunning", self.base_url, self.models.model(ModelClass::Video));
        let response = self
            .http
            .post(&url)
            .header("x-goog-api-key", self.api_key.expose_secret())
            .json(&video::request(prompt))
            .send()
            .await
            .map_err(transport_error)?;
        video::operation_name(&self.video_answer(response).await?)
    }

    async fn poll_video(&self, operation: &str) -> Result<VideoStatus, ModelError> {
        let path = video::checked_operation(operation)?;
        let response = self
            .http
            .get(format!("{}/v1beta/{path}", self.base_url))
            .header("x-goog-api-key", self.api_key.expose_secret())
            .send()
            .await
            .map_err(transport_error)?;
        video::status(&self.video_answer(response).await?)
    }

    async fn download_video(&self, uri: &str, limit: usize) -> Result<DownloadedClip, ModelError> {
        // The key goes only to the API's own host; a redirect elsewhere (a signed storage address) is
        // followed without it.
        let mut next = video::same_origin(&self.base_url, uri)?;
        let mut with_key = true;
        for _ in 0..4 {
            let mut request = self.download.get(&next);
            if with_key {
                request = request.header("x-goog-api-key", self.api_key.expose_secret());
            }
            let response = request.send().await.map_err(transport_error)?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| ModelError::InvalidResponse("a redirect without a location".into()))?;
                let target = reqwest::Url::parse(&next)
                    .and_then(|base| base.join(location))
                    .map_err(|e| ModelError::InvalidResponse(format!("a redirect to an unreadable address: {e}")))?;
                with_key = with_key && video::same_origin(&self.base_url, target.as_str()).is_ok();
                next = target.to_string();
                continue;
            }
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|c| c.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let bytes = self.video_body(status, response, limit).await?;
            return Ok(DownloadedClip { bytes, content_type });
        }
        Err(ModelError::InvalidResponse("the clip's download redirected too many times".into()))
    }

    async fn generate(&self, prompt: &Prompt) -> Result<Generated, ModelError> {
        let mut budget = prompt.max_output_tokens;
        let mut usage = Usage::default();
        let mut empty_once = false;
        let model = self.models.model(prompt.class);
        let thinking = self.models.thinking(prompt.class);
        loop {
            let response = self.call(prompt.class, &text_request(prompt, model, thinking, budget)).await?;
            usage = usage.plus(response.usage().priced(&self.prices, model));
            match response.text_answer() {
                Ok(text) => return Ok(Generated { text, usage }),
                // Thinking or a long answer hit the limit: never publish cut text; one retry with twice
                // the budget.
                Err(Answer::Truncated) if budget == prompt.max_output_tokens => budget = budget.saturating_mul(2),
                Err(Answer::Truncated) => return Err(ModelError::Truncated { limit: budget }),
                Err(Answer::Empty(reason)) if !empty_once => {
                    tracing::warn!(finish_reason = %reason, "empty answer from Gemini; asking once more");
                    empty_once = true;
                }
                Err(Answer::Empty(finish_reason)) => return Err(ModelError::Empty { finish_reason }),
                Err(Answer::Blocked(reason)) => return Err(ModelError::Blocked { reason }),
            }
        }
    }

    async fn generate_image(&self, prompt: &ImagePrompt) -> Result<GeneratedImage, ModelError> {
        let image_model = self.models.model(ModelClass::Image);
        let response = self.send(image_model, &image_request(prompt)).await?;
        // The image is read (and later decoded) under the process's one image slot: several image
        // tasks may wait for the model at once, but only one holds a full-size image in memory.
        let slot = ImageSlot::acquire().await;
        let response = self.read(ModelClass::Image, response, MAX_RESPONSE_BYTES).await?;
        let usage = response.usage().priced(&self.prices, image_model);
        match response.image_answer() {
            Ok((mime_type, bytes)) => Ok(GeneratedImage { bytes, mime_type, usage, slot: Some(slot) }),
            Err(ImageAnswer::Blocked(reason)) => Err(ModelError::Blocked { reason }),
            Err(ImageAnswer::Invalid(e)) => Err(ModelError::InvalidResponse(e)),
            Err(ImageAnswer::NoImage(finish_reason)) => Err(ModelError::NoImage { finish_reason }),
        }
    }
}

/// The largest text answer read: a structured answer is a few kilobytes.
const MAX_TEXT_RESPONSE_BYTES: usize = 2 * 1024 * 1024;

/// The body, refused as soon as it passes `limit` bytes (before it is all in memory).
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, ModelError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ModelError::TooLarge { limit });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if bytes.len() + chunk.len() > limit {
            return Err(ModelError::TooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn transport_error(e: reqwest::Error) -> ModelError {
    let e = e.without_url();
    let message = if e.is_timeout() {
        "the request timed out".to_owned()
    } else if e.is_connect() {
        format!("could not connect: {e}")
    } else {
        e.to_string()
    };
    ModelError::Transient { status: None, message }
}

/// Veo through the Gemini API: `POST models/{model}:predictLongRunning` with one instance (the prompt and
/// the start frame as base64) and the parameters, answered with an operation's name; `GET {name}` until
/// `done`; then the clip's address in `response.generateVideoResponse.generatedSamples[0].video.uri`, or
/// the safety filter's count and reasons, or the operation's `error`. (As the official `google-genai`
/// SDK's `_GenerateVideosParameters_to_mldev` and `_GenerateVideosOperation_from_mldev` write and read
/// them.)
pub(crate) mod video {
    use base64::Engine;
    use serde::Deserialize;

    use super::super::{ModelError, VideoPrompt, VideoStatus};

    /// The request body.
    pub(crate) fn request(prompt: &VideoPrompt) -> serde_json::Value {
        let mut instance = serde_json::json!({ "prompt": prompt.prompt });
        if let Some((bytes, mime_type)) = &prompt.start_frame {
            instance["image"] = serde_json::json!({
                "bytesBase64Encoded": base64::engine::general_purpose::STANDARD.encode(bytes),
                "mimeType": mime_type,
            });
        }
        serde_json::json!({
            "instances": [instance],
            "parameters": {
                "aspectRatio": prompt.aspect_ratio,
                "durationSeconds": prompt.seconds,
                "sampleCount": 1,
            }
        })
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Operation {
        #[serde(default)]
        name: String,
        #[serde(default)]
        done: bool,
        error: Option<Status>,
        response: Option<Response>,
    }

    #[derive(Debug, Default, Deserialize)]
    struct Status {
        #[serde(default)]
        code: i64,
        #[serde(default)]
        message: String,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Response {
        generate_video_response: Option<VideoResponse>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct VideoResponse {
        #[serde(default)]
        generated_samples: Vec<Sample>,
        #[serde(default)]
        rai_media_filtered_count: u32,
        #[serde(default)]
        rai_media_filtered_reasons: Vec<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    struct Sample {
        video: Option<Video>,
    }

    #[derive(Debug, Default, Deserialize)]
    struct Video {
        uri: Option<String>,
    }

    fn parse(bytes: &[u8]) -> Result<Operation, ModelError> {
        serde_json::from_slice(bytes).map_err(|e| ModelError::InvalidResponse(format!("an unreadable operation: {e}")))
    }

    /// The name of the operation a submission started.
    pub(crate) fn operation_name(bytes: &[u8]) -> Result<String, ModelError> {
        let name = parse(bytes)?.name;
        checked_operation(&name)?;
        Ok(name)
    }

    /// An operation's name as a path under `v1beta/`: letters, digits and `-_./` only, no `..`, so a
    /// stored name cannot send the key anywhere but the API.
    pub(crate) fn checked_operation(name: &str) -> Result<&str, ModelError> {
        let fine = !name.is_empty()
            && name.len() <= 512
            && !name.starts_with('/')
            && !name.contains("..")
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
        fine.then_some(name).ok_or_else(|| {
            let shown: String = name.chars().take(80).collect();
            ModelError::InvalidResponse(format!("not an operation name: {shown:?}"))
        })
    }

    /// Where the operation stands.
    pub(crate) fn status(bytes: &[u8]) -> Result<VideoStatus, ModelError> {
        let operation = parse(bytes)?;
        if let Some(error) = operation.error {
            return Ok(VideoStatus::Failed { reason: format!("{} (code {})", error.message.trim(), error.code) });
        }
        if !operation.done {
            return Ok(VideoStatus::Pending);
        }
        let response = operation.response.and_then(|r| r.generate_video_response).unwrap_or_default();
        if let Some(uri) = response.generated_samples.into_iter().find_map(|s| s.video.and_then(|v| v.uri)) {
            return Ok(VideoStatus::Ready { uri });
        }
        if response.rai_media_filtered_count > 0 || !response.rai_media_filtered_reasons.is_empty() {
            let reasons = response.rai_media_filtered_reasons.join("; ");
            let reason = if reasons.is_empty() { "the safety filters kept the clip back".to_owned() } else { reasons };
            return Ok(VideoStatus::Blocked { reason });
        }
        Ok(VideoStatus::Failed { reason: "the operation finished without a clip".into() })
    }

    /// `uri` when it is on the API's own scheme, host and port (where the key may go).
    pub(crate) fn same_origin(base: &str, uri: &str) -> Result<String, ModelError> {
        let (base, target) = (reqwest::Url::parse(base), reqwest::Url::parse(uri));
        match (base, target) {
            (Ok(base), Ok(target)) if base.origin() == target.origin() => Ok(target.to_string()),
            _ => {
                let shown: String = uri.chars().take(80).collect();
                Err(ModelError::InvalidResponse(format!("the clip's address is not on the API's host: {shown:?}")))
            }
        }
    }
}

// ---- request -------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Request {
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<Content>,
    contents: Vec<Content>,
    generation_config: GenerationConfig,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    safety_settings: Vec<SafetySetting>,
}

#[derive(Debug, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Content {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Debug, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Part {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inline_data: Option<Blob>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    thought: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Blob {
    mime_type: String,
    data: String,
}

#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_schema: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_modalities: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_config: Option<ThinkingConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_config: Option<ImageConfig>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ThinkingConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_budget: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_level: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageConfig {
    aspect_ratio: String,
}

#[derive(Debug, Serialize)]
struct SafetySetting {
    category: &'static str,
    threshold: &'static str,
}

/// The thinking setting sent for `thinking` on `model` (none for a model that does not think).
fn thinking_config(model: &str, thinking: Thinking) -> Option<ThinkingConfig> {
    thinking.for_model(model).map(|setting| match setting {
        ThinkingSetting::Level(level) => ThinkingConfig { thinking_budget: None, thinking_level: Some(level) },
        ThinkingSetting::Budget(budget) => ThinkingConfig { thinking_budget: Some(budget), thinking_level: None },
    })
}

/// The platform's publish gate starts here: block harassment, hate, sexual and dangerous content at
/// medium probability and above.
fn safety_settings() -> Vec<SafetySetting> {
    [
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
    ]
    .into_iter()
    .map(|category| SafetySetting { category, threshold: "BLOCK_MEDIUM_AND_ABOVE" })
    .collect()
}

/// The sampling temperature for `model`: Gemini 3 is tuned for its default of 1.0 and Google warns that
/// lower values can make it loop or degrade, so it always gets 1.0; older models get what was asked.
fn temperature_for(model: &str, asked: f32) -> f32 {
    if is_gemini_3_or_later(&model.to_ascii_lowercase()) { 1.0 } else { asked }
}

/// The body of a structured text request.
pub(crate) fn text_request(prompt: &Prompt, model: &str, thinking: Thinking, max_output_tokens: u32) -> Request {
    Request {
        system_instruction: Some(Content { role: None, parts: vec![text_part(&prompt.system)] }),
        contents: vec![Content { role: Some("user".into()), parts: user_parts(prompt) }],
        generation_config: GenerationConfig {
            temperature: Some(temperature_for(model, prompt.temperature)),
            max_output_tokens: Some(max_output_tokens),
            response_mime_type: Some("application/json"),
            response_schema: Some(prompt.schema.clone()),
            thinking_config: thinking_config(model, thinking),
            ..GenerationConfig::default()
        },
        safety_settings: safety_settings(),
    }
}

/// The body of an image request.
pub(crate) fn image_request(prompt: &ImagePrompt) -> Request {
    Request {
        system_instruction: None,
        contents: vec![Content { role: Some("user".into()), parts: vec![text_part(&prompt.prompt)] }],
        generation_config: GenerationConfig {
            response_modalities: Some(vec!["TEXT", "IMAGE"]),
            image_config: Some(ImageConfig { aspect_ratio: prompt.aspect_ratio.clone() }),
            ..GenerationConfig::default()
        },
        safety_settings: safety_settings(),
    }
}

/// The user turn: the picture first when there is one (Google's advice for a single image), then the text.
fn user_parts(prompt: &Prompt) -> Vec<Part> {
    let mut parts = Vec::with_capacity(2);
    if let Some(image) = &prompt.image {
        parts.push(Part {
            inline_data: Some(Blob {
                mime_type: image.mime_type.to_owned(),
                data: base64::engine::general_purpose::STANDARD.encode(&image.bytes),
            }),
            ..Part::default()
        });
    }
    parts.push(text_part(&prompt.user));
    parts
}

fn text_part(text: &str) -> Part {
    Part { text: Some(text.to_owned()), ..Part::default() }
}

// ---- response ------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Response {
    candidates: Vec<Candidate>,
    prompt_feedback: Option<PromptFeedback>,
    usage_metadata: Option<UsageMetadata>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PromptFeedback {
    block_reason: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct UsageMetadata {
    prompt_token_count: u32,
    cached_content_token_count: u32,
    candidates_token_count: u32,
    candidates_tokens_details: Vec<ModalityTokens>,
    thoughts_token_count: u32,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ModalityTokens {
    modality: String,
    token_count: u32,
}

enum Answer {
    Truncated,
    Empty(String),
    Blocked(String),
}

enum ImageAnswer {
    Blocked(String),
    NoImage(String),
    Invalid(String),
}

const BLOCKING_FINISH_REASONS: [&str; 9] = [
    "SAFETY",
    "PROHIBITED_CONTENT",
    "IMAGE_SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "SPII",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
    "LANGUAGE",
];

impl Response {
    fn usage(&self) -> Usage {
        self.usage_metadata
            .as_ref()
            .map(|u| Usage {
                prompt_tokens: u.prompt_token_count,
                cached_tokens: u.cached_content_token_count,
                output_tokens: u.candidates_token_count,
                image_tokens: u
                    .candidates_tokens_details
                    .iter()
                    .filter(|d| d.modality == "IMAGE")
                    .map(|d| d.token_count)
                    .sum(),
                thoughts_tokens: u.thoughts_token_count,
                cost_micros: 0,
                model_millis: 0,
            })
            .unwrap_or_default()
    }

    fn blocked_prompt(&self) -> Option<String> {
        self.prompt_feedback.as_ref()?.block_reason.as_ref().map(|r| format!("prompt blocked ({r})"))
    }

    fn finish_reason(&self) -> String {
        self.candidates.first().and_then(|c| c.finish_reason.clone()).unwrap_or_else(|| "none".into())
    }

    /// The visible text of the first candidate (thought parts skipped), or why there is none.
    fn text_answer(&self) -> Result<String, Answer> {
        if let Some(reason) = self.blocked_prompt() {
            return Err(Answer::Blocked(reason));
        }
        let finish = self.finish_reason();
        if BLOCKING_FINISH_REASONS.contains(&finish.as_str()) {
            return Err(Answer::Blocked(format!("answer stopped for {finish}")));
        }
        if finish == "MAX_TOKENS" {
            return Err(Answer::Truncated);
        }
        let text: String = self
            .candidates
            .first()
            .and_then(|c| c.content.as_ref())
            .map(|content| content.parts.iter().filter(|p| !p.thought).filter_map(|p| p.text.as_deref()).collect())
            .unwrap_or_default();
        if text.trim().is_empty() { Err(Answer::Empty(finish)) } else { Ok(text) }
    }

    /// The first non-thought inline image of the first candidate.
    fn image_answer(&self) -> Result<(String, Vec<u8>), ImageAnswer> {
        if let Some(reason) = self.blocked_prompt() {
            return Err(ImageAnswer::Blocked(reason));
        }
        let finish = self.finish_reason();
        if BLOCKING_FINISH_REASONS.contains(&finish.as_str()) {
            return Err(ImageAnswer::Blocked(format!("image stopped for {finish}")));
        }
        let image = self
            .candidates
            .iter()
            .filter_map(|c| c.content.as_ref())
            .flat_map(|c| c.parts.iter())
            .filter(|p| !p.thought)
            .find_map(|p| p.inline_data.as_ref());
        let Some(blob) = image else { return Err(ImageAnswer::NoImage(finish)) };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(blob.data.trim())
            .map_err(|e| ImageAnswer::Invalid(format!("image data is not base64: {e}")))?;
        if bytes.is_empty() {
            return Err(ImageAnswer::NoImage(finish));
        }
        Ok((blob.mime_type.clone(), bytes))
    }
}

// ---- errors --------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ErrorBody {
    code: u16,
    message: String,
    status: String,
    details: Vec<serde_json::Value>,
}

impl ErrorBody {
    fn details_of(&self, kind: &str) -> impl Iterator<Item = &serde_json::Value> {
        let suffix = format!("google.rpc.{kind}");
        self.details
            .iter()
            .filter(move |d| d.get("@type").and_then(|t| t.as_str()).is_some_and(|t| t.ends_with(&suffix)))
    }

    fn retry_delay(&self) -> Option<Duration> {
        let delay = self.details_of("RetryInfo").find_map(|d| d.get("retryDelay")?.as_str().map(str::to_owned))?;
        parse_proto_duration(&delay)
    }

    fn daily_quota(&self) -> Option<String> {
        self.details_of("QuotaFailure")
            .filter_map(|d| d.get("violations")?.as_array())
            .flatten()
            .filter_map(|v| v.get("quotaId")?.as_str())
            .find(|id| id.contains("PerDay"))
            .map(str::to_owned)
    }

    fn is_bad_key(&self) -> bool {
        self.details_of("ErrorInfo")
            .any(|d| d.get("reason").and_then(|r| r.as_str()).is_some_and(|r| r.starts_with("API_KEY_")))
            || self.message.contains("API key not valid")
            || self.message.contains("API Key not found")
    }
}

/// `"19s"` or `"39.006833842s"` → a duration.
fn parse_proto_duration(text: &str) -> Option<Duration> {
    let secs: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(24.0 * 3600.0)))
}

/// Turns a non-2xx answer into what the queue must do with it.
fn classify_http_error(status: u16, body: &[u8], model: &str, model_var: &'static str) -> ModelError {
    let envelope: ErrorEnvelope = serde_json::from_slice(body).unwrap_or_default();
    let error = envelope.error;
    let message = if error.message.is_empty() {
        format!("HTTP {status} {}", String::from_utf8_lossy(&body[..body.len().min(200)]).trim())
    } else {
        error.message.clone()
    };
    match status {
        429 => match error.daily_quota() {
            Some(quota) => ModelError::QuotaExhausted { quota, message },
            None => ModelError::RateLimited {
                // A bare 429 carries no delay: a minute is what a per-minute window needs at most.
                retry_after: error.retry_delay().unwrap_or(Duration::from_secs(60)),
                message,
            },
        },
        400 if error.is_bad_key() => ModelError::BadApiKey { var: "GEMINI_API_KEY", message },
        404 => ModelError::ModelNotFound { model: model.to_owned(), var: model_var, message },
        408 | 500 | 502 | 503 | 504 => ModelError::Transient { status: Some(status), message },
        s if s >= 500 => ModelError::Transient { status: Some(s), message },
        s => ModelError::Refused {
            status: s,
            message: if error.status.is_empty() { message } else { format!("{}: {message}", error.status) },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_video_operation_is_read_as_pending_ready_failed_or_blocked() {
        let read = |v: serde_json::Value| video::status(v.to_string().as_bytes()).unwrap();
        assert_eq!(read(serde_json::json!({"name": "models/veo/operations/a"})), VideoStatus::Pending);
        let ready = serde_json::json!({"name": "x", "done": true, "response": {"generateVideoResponse":
            {"generatedSamples": [{"video": {"uri": "https://h/v1beta/files/a:download?alt=media"}}]}}});
        assert_eq!(read(ready), VideoStatus::Ready { uri: "https://h/v1beta/files/a:download?alt=media".into() });
        let failed = serde_json::json!({"done": true, "error": {"code": 13, "message": " Internal "}});
        assert_eq!(read(failed), VideoStatus::Failed { reason: "Internal (code 13)".into() });
        let blocked = serde_json::json!({"done": true, "response": {"generateVideoResponse":
            {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": ["people"]}}});
        assert_eq!(read(blocked), VideoStatus::Blocked { reason: "people".into() });
        let empty = serde_json::json!({"done": true, "response": {}});
        assert!(matches!(read(empty), VideoStatus::Failed { .. }));
        assert!(matches!(video::status(b"<html>"), Err(ModelError::InvalidResponse(_))));
    }

    #[test]
    fn a_stored_operation_name_or_clip_address_cannot_send_the_key_elsewhere() {
        assert!(video::checked_operation("models/veo-3.1/operations/abc_1").is_ok());
        for bad in ["", "/models/x", "models/../../x", "https://evil.example/op", "models/x?key=1", "models/x y"] {
            let err = video::checked_operation(bad).unwrap_err();
            assert!(err.to_string().contains("not an operation name"), "{bad}: {err}");
        }
        let base = "https://generativelanguage.googleapis.com";
        assert!(video::same_origin(base, "https://generativelanguage.googleapis.com/v1beta/files/a:download").is_ok());
        for elsewhere in
            ["https://evil.example/v1beta/files/a", "http://generativelanguage.googleapis.com/x", "not a url"]
        {
            let err = video::same_origin(base, elsewhere).unwrap_err();
            assert!(err.to_string().contains("not on the API's host"), "{elsewhere}: {err}");
        }
    }

    #[test]
    fn proto_durations_parse_whole_and_fractional_seconds() {
        assert_eq!(parse_proto_duration("19s"), Some(Duration::from_secs(19)));
        assert_eq!(parse_proto_duration("39.5s"), Some(Duration::from_millis(39_500)));
        assert_eq!(parse_proto_duration("soon"), None);
        assert_eq!(parse_proto_duration("-3s"), None);
    }

    #[test]
    fn thinking_is_held_down_per_model_family() {
        assert_eq!(thinking_config("gemini-2.5-flash", Thinking::Low).unwrap().thinking_budget, Some(0));
        assert_eq!(thinking_config("gemini-2.5-pro", Thinking::Minimal).unwrap().thinking_budget, Some(128));
        assert_eq!(thinking_config("gemini-3.6-flash", Thinking::Low).unwrap().thinking_level, Some("LOW"));
        assert_eq!(
            thinking_config("gemini-3.1-flash-lite", Thinking::Minimal).unwrap().thinking_level,
            Some("MINIMAL")
        );
        assert!(thinking_config("gemini-2.0-flash", Thinking::Minimal).is_none());
        assert!(thinking_config("my-proxy-model", Thinking::Low).is_none());
    }

    #[test]
    fn gemini_3_always_samples_at_its_default_temperature() {
        assert_eq!(temperature_for("gemini-3.6-flash", 0.2), 1.0);
        assert_eq!(temperature_for("Gemini-3-pro", 0.7), 1.0);
        assert_eq!(temperature_for("gemini-2.5-flash", 0.2), 0.2);
        assert_eq!(temperature_for("my-proxy-model", 0.9), 0.9);
    }

    #[test]
    fn a_body_that_is_not_json_still_classifies_by_status() {
        assert!(matches!(
            classify_http_error(503, b"<html>overloaded</html>", "m", "GEMINI_MODEL"),
            ModelError::Transient { status: Some(503), .. }
        ));
        assert!(
            matches!(classify_http_error(429, b"", "m", "GEMINI_MODEL"), ModelError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(60))
        );
    }
}
