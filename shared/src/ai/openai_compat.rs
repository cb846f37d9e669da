//! Any server speaking OpenAI's chat-completions API — OpenAI, Ollama, a llama.cpp server, vLLM — for
//! text. Structured output is asked for with `response_format: json_schema`; images need Gemini.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{Generated, GeneratedImage, ImagePrompt, ModelError, Prompt, Provider, Usage};
use crate::config::OpenAiConfig;

/// An OpenAI-compatible client. Its `Debug` output never shows the key.
pub struct OpenAiClient {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<SecretString>,
    model: String,
    prices: super::cost::PriceTable,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("model", &self.model)
            .finish()
    }
}

impl OpenAiClient {
    /// A client from configuration (`OPENAI_*`).
    pub fn from_config(config: &OpenAiConfig) -> Result<Self, ModelError> {
        Self::new(&config.base_url, config.api_key.clone(), &config.model, Duration::from_secs(120))
    }

    /// A client for `base_url` (ending in `/v1` for most servers).
    pub fn new(
        base_url: &str,
        api_key: Option<SecretString>,
        model: &str,
        timeout: Duration,
    ) -> Result<Self, ModelError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ModelError::Unsupported(format!("HTTP client setup failed: {e}")))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            model: model.to_owned(),
            prices: super::cost::PriceTable::default(),
        })
    }

    /// Prices calls with `prices` (a local model is free unless `MODEL_PRICES` names it).
    pub fn with_prices(mut self, prices: super::cost::PriceTable) -> Self {
        self.prices = prices;
        self
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<Message>,
    temperature: f32,
    max_tokens: u32,
    response_format: serde_json::Value,
}

#[derive(Debug, Serialize)]
struct Message {
    role: &'static str,
    /// A string, or text and image parts when the prompt shows a picture.
    content: serde_json::Value,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ChatResponse {
    choices: Vec<Choice>,
    usage: Option<ChatUsage>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Choice {
    message: Option<ChoiceMessage>,
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ChoiceMessage {
    content: Option<String>,
    refusal: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ChatUsage {
    prompt_tokens: u32,
    completion_tokens: u32,
    prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct PromptTokensDetails {
    cached_tokens: u32,
}

/// Converts Gemini's schema dialect (upper-case type names) to JSON Schema (lower-case).
fn to_json_schema(schema: &serde_json::Value) -> serde_json::Value {
    match schema {
        serde_json::Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, value) in map {
                match key.as_str() {
                    "type" => {
                        out.insert(
                            key.clone(),
                            serde_json::Value::String(value.as_str().unwrap_or("string").to_lowercase()),
                        );
                    }
                    "propertyOrdering" => {}
                    _ => {
                        out.insert(key.clone(), to_json_schema(value));
                    }
                }
            }
            if out.get("type").and_then(|t| t.as_str()) == Some("object") {
                out.insert("additionalProperties".into(), serde_json::Value::Bool(false));
            }
            serde_json::Value::Object(out)
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

/// The user message: plain text, or text and the picture as a data URL (the vision message format).
fn user_content(prompt: &Prompt) -> serde_json::Value {
    use base64::Engine;
    match &prompt.image {
        None => serde_json::Value::String(prompt.user.clone()),
        Some(image) => {
            let data = base64::engine::general_purpose::STANDARD.encode(&image.bytes);
            serde_json::json!([
                { "type": "text", "text": prompt.user },
                { "type": "image_url", "image_url": { "url": format!("data:{};base64,{data}", image.mime_type) } }
            ])
        }
    }
}

/// The body of a chat request.
pub(crate) fn chat_request<'a>(prompt: &'a Prompt, model: &'a str, max_tokens: u32) -> ChatRequest<'a> {
    ChatRequest {
        model,
        messages: vec![
            Message { role: "system", content: serde_json::Value::String(prompt.system.clone()) },
            Message { role: "user", content: user_content(prompt) },
        ],
        temperature: prompt.temperature,
        max_tokens,
        response_format: serde_json::json!({
            "type": "json_schema",
            "json_schema": { "name": "answer", "strict": true, "schema": to_json_schema(&prompt.schema) }
        }),
    }
}

fn classify(status: u16, retry_after: Option<Duration>, body: &[u8], model: &str) -> ModelError {
    let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let message = parsed
        .pointer("/error/message")
        .and_then(|m| m.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_owned());
    match status {
        429 if parsed.pointer("/error/code").and_then(|c| c.as_str()) == Some("insufficient_quota") => {
            ModelError::QuotaExhausted { quota: "insufficient_quota".into(), message }
        }
        429 => ModelError::RateLimited { retry_after: retry_after.unwrap_or(Duration::from_secs(60)), message },
        401 => ModelError::BadApiKey { var: "OPENAI_API_KEY", message },
        404 => ModelError::ModelNotFound { model: model.to_owned(), var: "OPENAI_MODEL", message },
        408 | 409 => ModelError::Transient { status: Some(status), message },
        s if s >= 500 => ModelError::Transient { status: Some(s), message },
        s => ModelError::Refused { status: s, message },
    }
}

#[async_trait]
impl Provider for OpenAiClient {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn makes_images(&self) -> bool {
        false
    }

    fn is_remote(&self) -> bool {
        true
    }

    /// One model (`OPENAI_MODEL`) does every class of text work.
    fn model_for(&self, _class: super::ModelClass) -> &str {
        &self.model
    }

    async fn generate(&self, prompt: &Prompt) -> Result<Generated, ModelError> {
        let mut budget = prompt.max_output_tokens;
        let mut usage = Usage::default();
        for attempt in 0..2 {
            let mut request = self.http.post(format!("{}/chat/completions", self.base_url)).json(&chat_request(
                prompt,
                &self.model,
                budget,
            ));
            if let Some(key) = &self.api_key {
                request = request.bearer_auth(key.expose_secret());
            }
            let response = request.send().await.map_err(|e| ModelError::Transient {
                status: None,
                message: if e.is_timeout() { "the request timed out".into() } else { e.without_url().to_string() },
            })?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(Duration::from_secs_f64);
            let body = response
                .bytes()
                .await
                .map_err(|e| ModelError::Transient { status: None, message: e.without_url().to_string() })?;
            if !(200..300).contains(&status) {
                return Err(classify(status, retry_after, &body, &self.model));
            }
            let parsed: ChatResponse =
                serde_json::from_slice(&body).map_err(|e| ModelError::InvalidResponse(e.to_string()))?;
            if let Some(u) = &parsed.usage {
                let reported = Usage {
                    prompt_tokens: u.prompt_tokens,
                    cached_tokens: u.prompt_tokens_details.as_ref().map_or(0, |d| d.cached_tokens),
                    output_tokens: u.completion_tokens,
                    ..Usage::default()
                };
                usage = usage.plus(reported.priced(&self.prices, &self.model));
            }
            let choice = parsed.choices.into_iter().next().unwrap_or_default();
            let message = choice.message.unwrap_or_default();
            if let Some(refusal) = message.refusal.filter(|r| !r.is_empty()) {
                return Err(ModelError::Blocked { reason: format!("refused: {refusal}") });
            }
            match choice.finish_reason.as_deref() {
                Some("content_filter") => return Err(ModelError::Blocked { reason: "content_filter".into() }),
                Some("length") if attempt == 0 => {
                    budget = budget.saturating_mul(2);
                    continue;
                }
                Some("length") => return Err(ModelError::Truncated { limit: budget }),
                _ => {}
            }
            match message.content.filter(|c| !c.trim().is_empty()) {
                Some(text) => return Ok(Generated { text, usage }),
                None if attempt == 0 => continue,
                None => {
                    return Err(ModelError::Empty {
                        finish_reason: choice.finish_reason.unwrap_or_else(|| "none".into()),
                    });
                }
            }
        }
        Err(ModelError::Empty { finish_reason: "none".into() })
    }

    async fn generate_image(&self, _prompt: &ImagePrompt) -> Result<GeneratedImage, ModelError> {
        Err(ModelError::Unsupported(
            "image posts need LLM_PROVIDER=gemini (or offline); the OpenAI-compatible provider writes text only".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_schemas_become_json_schemas() {
        let schema = serde_json::json!({"type": "OBJECT", "properties": {"body": {"type": "STRING"}}, "required": ["body"], "propertyOrdering": ["body"]});
        assert_eq!(
            to_json_schema(&schema),
            serde_json::json!({"type": "object", "properties": {"body": {"type": "string"}}, "required": ["body"], "additionalProperties": false})
        );
    }

    #[test]
    fn statuses_classify() {
        assert!(matches!(classify(401, None, b"{}", "m"), ModelError::BadApiKey { .. }));
        assert!(matches!(classify(404, None, b"{}", "m"), ModelError::ModelNotFound { .. }));
        assert!(
            matches!(classify(429, Some(Duration::from_secs(7)), b"{}", "m"), ModelError::RateLimited { retry_after, .. } if retry_after.as_secs() == 7)
        );
        assert!(matches!(
            classify(429, None, br#"{"error":{"code":"insufficient_quota","message":"x"}}"#, "m"),
            ModelError::QuotaExhausted { .. }
        ));
        assert!(matches!(classify(502, None, b"bad gateway", "m"), ModelError::Transient { .. }));
        assert!(matches!(classify(400, None, b"{}", "m"), ModelError::Refused { .. }));
    }
}
