//! A Gemini fake: a local HTTP server speaking `v1beta` `generateContent` (and `GET models/{model}`) as
//! Google documents them — real response shapes and verbatim error bodies —
//! scriptable per test, and strict about what it receives (key header, path, required fields, unknown
//! fields refused with the real 400).
//!
//! Replies are served from a script (first in, first out); when the script is empty the default reply
//! answers (by default [`Reply::Auto`]: a plausible answer following the request's schema).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Follows the request: JSON per its schema, or an image when it asks for one.
    Auto,
    /// A text answer (one part, STOP).
    Text(String),
    /// A JSON answer, sent as the text part's string.
    Json(Value),
    /// An image answer: a text part, then (optionally a thought image, then) the image part.
    Image {
        /// The image bytes (PNG, as every observed Gemini response).
        png: Vec<u8>,
        /// Put a `thought: true` image before the real one.
        thought_image_first: bool,
    },
    /// Text only from an image request, `finishReason` STOP: no image.
    ImageMissing,
    /// A per-minute 429 with `RetryInfo`.
    RateLimitedPerMinute {
        /// The `retryDelay` seconds.
        retry_secs: u64,
    },
    /// A per-day quota 429 (`QuotaFailure` with a `…PerDay…` quota id).
    QuotaPerDay,
    /// A 429 without details.
    Bare429,
    /// 400 `API_KEY_INVALID`.
    BadKey,
    /// 400 `INVALID_ARGUMENT` with this message.
    InvalidArgument(String),
    /// 404: the model is retired.
    ModelRetired,
    /// A bare error of this status (500, 502, 503, 504, 408…) with the real body where one is known.
    Status(u16),
    /// HTTP 200, `promptFeedback.blockReason`, no candidates.
    PromptBlocked(String),
    /// A candidate with this `finishReason` and no content (SAFETY, RECITATION, PROHIBITED_CONTENT…).
    Finish(String),
    /// `finishReason` MAX_TOKENS with no content (thinking ate the budget).
    MaxTokens,
    /// `finishReason` STOP and no parts.
    EmptyCandidate,
    /// The inner reply after a delay.
    Slow(Duration, Box<Reply>),
    /// The inner reply with fields the client does not know, at every level.
    WithUnknownFields(Box<Reply>),
    /// The inner reply with this usage metadata.
    WithUsage {
        /// Reply.
        reply: Box<Reply>,
        /// `promptTokenCount`.
        prompt: u32,
        /// `candidatesTokenCount`.
        candidates: u32,
        /// `thoughtsTokenCount`.
        thoughts: u32,
        /// `cachedContentTokenCount` (part of `promptTokenCount`, as Google reports it).
        cached: u32,
    },
}

/// How one submitted clip goes: `pending` polls answer "not done", then `end`.
#[derive(Debug, Clone)]
pub struct VideoScript {
    /// Polls that answer `done: false` first.
    pub pending: usize,
    /// What the operation ends with.
    pub end: VideoEnd,
}

/// How a clip's operation ends.
#[derive(Debug, Clone)]
pub enum VideoEnd {
    /// Done: the clip, downloadable with this `content-type`.
    Clip {
        /// Its bytes.
        bytes: Vec<u8>,
        /// Its `content-type`.
        content_type: String,
    },
    /// Done with an `error` (as Google's `google.rpc.Status`).
    Error {
        /// `code`.
        code: i64,
        /// `message`.
        message: String,
    },
    /// Done, but the safety filters kept the clip back (`raiMediaFilteredCount`, `raiMediaFilteredReasons`).
    Blocked(String),
}

impl VideoScript {
    /// Ready after `pending` polls, with a small real MP4.
    pub fn ready_after(pending: usize) -> Self {
        Self { pending, end: VideoEnd::Clip { bytes: sample_mp4(4), content_type: "video/mp4".into() } }
    }
}

/// A small, playable MP4 of `frames` quarter-second frames (256×144).
pub fn sample_mp4(frames: u32) -> Vec<u8> {
    let frames: Vec<shared::media::clip::Frame> = (0..frames.max(1))
        .map(|i| shared::media::clip::Frame {
            width: 256,
            height: 144,
            rgb: (0..256 * 144u32).flat_map(|p| [(p % 256) as u8, (i * 40) as u8, (p / 256) as u8]).collect(),
        })
        .collect();
    shared::media::clip::mp4(&frames, 250).expect("a sample clip")
}

/// What the fake knows of one operation.
#[derive(Debug)]
struct Operation {
    script: VideoScript,
    polls: usize,
}

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The model of the path.
    pub model: String,
    /// The raw path and query.
    pub path_and_query: String,
    /// Whether the `x-goog-api-key` header carried the expected key.
    pub key_header_ok: bool,
    /// The JSON body.
    pub body: Value,
}

#[derive(Debug, Default)]
struct State {
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
    received: Mutex<Vec<Received>>,
    violations: Mutex<Vec<String>>,
    retired: Mutex<HashSet<String>>,
    routes: Mutex<Vec<Route>>,
    expected_key: String,
    base: Mutex<String>,
    videos: Mutex<VecDeque<VideoScript>>,
    operations: Mutex<Vec<Operation>>,
    downloads: Mutex<usize>,
}

/// Replies for the requests that mention a marker (a persona's username, say), ahead of the script.
#[derive(Debug)]
struct Route {
    marker: String,
    script: VecDeque<Reply>,
    then: Reply,
}

/// The running fake. Stops when dropped.
pub struct GeminiFake {
    server: MockServer,
    state: Arc<State>,
}

/// The key the fake expects unless told otherwise.
pub const FAKE_KEY: &str = "AIzaFAKE-test-key-0123456789abcdef";

impl GeminiFake {
    /// Starts a fake that expects [`FAKE_KEY`].
    pub async fn start() -> Self {
        Self::start_with_key(FAKE_KEY).await
    }

    /// Starts a fake that expects `key` in `x-goog-api-key`.
    pub async fn start_with_key(key: &str) -> Self {
        let state = Arc::new(State { expected_key: key.to_owned(), ..State::default() });
        let server = MockServer::start().await;
        *state.base.lock().unwrap() = server.uri();
        Mock::given(any()).respond_with(Responder(state.clone())).mount(&server).await;
        Self { server, state }
    }

    /// How the next submitted clip goes (after these, [`VideoScript::ready_after`]`(1)`).
    pub fn push_video(&self, script: VideoScript) -> &Self {
        self.state.videos.lock().unwrap().push_back(script);
        self
    }

    /// Clips submitted so far (each is paid for).
    pub fn video_submissions(&self) -> usize {
        self.state.operations.lock().unwrap().len()
    }

    /// Polls of every operation so far.
    pub fn video_polls(&self) -> usize {
        self.state.operations.lock().unwrap().iter().map(|o| o.polls).sum()
    }

    /// Clip downloads so far.
    pub fn video_downloads(&self) -> usize {
        *self.state.downloads.lock().unwrap()
    }

    /// The base URL to give the client (`GEMINI_BASE_URL`).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Queues a reply.
    pub fn push(&self, reply: Reply) -> &Self {
        self.state.script.lock().unwrap().push_back(reply);
        self
    }

    /// Queues `n` copies of a reply.
    pub fn push_n(&self, reply: Reply, n: usize) -> &Self {
        for _ in 0..n {
            self.push(reply.clone());
        }
        self
    }

    /// What to answer when the script is empty (initially [`Reply::Auto`]).
    pub fn set_default(&self, reply: Reply) {
        *self.state.default.lock().unwrap() = Some(reply);
    }

    /// Answers every request whose body contains `marker` with `script` in order, then with `then` for
    /// good — a fault that follows one persona (or one prompt) through its retries.
    pub fn route(&self, marker: &str, script: Vec<Reply>, then: Reply) -> &Self {
        let route = Route { marker: marker.to_owned(), script: script.into(), then };
        self.state.routes.lock().unwrap().push(route);
        self
    }

    /// Makes `model` answer 404 "no longer available".
    pub fn retire(&self, model: &str) {
        self.state.retired.lock().unwrap().insert(model.to_owned());
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Requests that broke the wire format or leaked the key (the fake answered them as the real API
    /// would; tests assert this stays empty).
    pub fn violations(&self) -> Vec<String> {
        self.state.violations.lock().unwrap().clone()
    }
}

struct Responder(Arc<State>);

const TOP_LEVEL: &[&str] = &[
    "contents",
    "systemInstruction",
    "system_instruction",
    "generationConfig",
    "generation_config",
    "safetySettings",
    "safety_settings",
    "tools",
    "toolConfig",
    "cachedContent",
];
const GENERATION_CONFIG: &[&str] = &[
    "candidateCount",
    "stopSequences",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "responseModalities",
    "speechConfig",
    "thinkingConfig",
    "imageConfig",
    "mediaResolution",
];

fn unknown_field(name: &str, at: &str) -> ResponseTemplate {
    let message = format!("Invalid JSON payload received. Unknown name \"{name}\" at '{at}': Cannot find field.");
    ResponseTemplate::new(400).set_body_json(json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": at, "description": message}]}]}}))
}

fn invalid_argument(message: &str) -> ResponseTemplate {
    ResponseTemplate::new(400)
        .set_body_json(json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}))
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = &self.0;
        let path = request.url.path().to_owned();
        let path_and_query = match request.url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let violation = |v: String| state.violations.lock().unwrap().push(v);
        if let Some(answer) = video_protocol(state, request, &path, &path_and_query) {
            return answer;
        }

        // `GET /v1beta/models/{model}`: the model's description, 404 when retired, 400 for a wrong key.
        if request.method.as_str() == "GET"
            && let Some(model) = path.strip_prefix("/v1beta/models/").filter(|m| !m.contains(':'))
        {
            let key = request.headers.get("x-goog-api-key").and_then(|v| v.to_str().ok());
            if key != Some(state.expected_key.as_str()) {
                return bad_key();
            }
            if state.retired.lock().unwrap().contains(model) {
                return not_found_model(model);
            }
            return ResponseTemplate::new(200).set_body_json(json!({"name": format!("models/{model}"),
                "version": "001", "displayName": model, "description": "A fake of a current Gemini model.",
                "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
                "temperature": 1.0, "topP": 0.95, "topK": 64, "thinking": true}));
        }
        let Some(model) = path.strip_prefix("/v1beta/models/").and_then(|rest| rest.strip_suffix(":generateContent"))
        else {
            violation(format!("unexpected path {path}"));
            return ResponseTemplate::new(404).set_body_string("Not Found");
        };
        if request.method.as_str() != "POST" {
            violation(format!("{} instead of POST", request.method));
            return ResponseTemplate::new(405);
        }
        if request.url.query_pairs().any(|(k, _)| k == "key") {
            violation("the API key was sent in the URL".into());
        }
        let header_key = request.headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(v) => v,
            Err(e) => {
                violation(format!("body is not JSON: {e}"));
                return invalid_argument(&format!("Invalid JSON payload received. {e}"));
            }
        };
        state.received.lock().unwrap().push(Received {
            model: model.to_owned(),
            path_and_query,
            key_header_ok: header_key.as_deref() == Some(state.expected_key.as_str()),
            body: body.clone(),
        });
        match header_key {
            None => {
                violation("no x-goog-api-key header".into());
                return ResponseTemplate::new(403).set_body_json(json!({"error": {"code": 403,
                    "message": "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                    "status": "PERMISSION_DENIED"}}));
            }
            Some(k) if k != state.expected_key => return bad_key(),
            Some(_) => {}
        }
        if let Some(err) = check_shape(&body) {
            violation(format!("malformed request: {err:?}"));
            return err.1;
        }
        if state.retired.lock().unwrap().contains(model) {
            return retired(model);
        }
        let routed = {
            let text = body.to_string();
            let mut routes = state.routes.lock().unwrap();
            routes
                .iter_mut()
                .find(|r| text.contains(&r.marker))
                .map(|r| r.script.pop_front().unwrap_or_else(|| r.then.clone()))
        };
        let reply = routed
            .or_else(|| state.script.lock().unwrap().pop_front())
            .or_else(|| state.default.lock().unwrap().clone())
            .unwrap_or(Reply::Auto);
        render(&reply, &body, model)
    }
}

/// The parameters Veo takes through the Gemini API (as the official SDK writes them).
const VIDEO_PARAMETERS: &[&str] = &[
    "aspectRatio",
    "durationSeconds",
    "sampleCount",
    "negativePrompt",
    "personGeneration",
    "resolution",
    "enhancePrompt",
];

/// Veo's long-running protocol: `POST models/{m}:predictLongRunning` → an operation's name; `GET` of the
/// name → `done: false` for the scripted polls, then the clip's address, an `error`, or the safety
/// filter's count and reasons; `GET files/{id}:download?alt=media` → the clip. `None`: not a video request.
fn video_protocol(state: &State, request: &Request, path: &str, path_and_query: &str) -> Option<ResponseTemplate> {
    let violation = |v: String| state.violations.lock().unwrap().push(v);
    let key = request.headers.get("x-goog-api-key").and_then(|v| v.to_str().ok());
    let key_ok = key == Some(state.expected_key.as_str());
    if request.url.query_pairs().any(|(k, _)| k == "key") {
        violation("the API key was sent in the URL".into());
    }
    let base = state.base.lock().unwrap().clone();
    if let Some(model) = path.strip_prefix("/v1beta/models/").and_then(|r| r.strip_suffix(":predictLongRunning")) {
        if request.method.as_str() != "POST" {
            violation(format!("{} instead of POST for predictLongRunning", request.method));
            return Some(ResponseTemplate::new(405));
        }
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(v) => v,
            Err(e) => {
                violation(format!("body is not JSON: {e}"));
                return Some(invalid_argument(&format!("Invalid JSON payload received. {e}")));
            }
        };
        state.received.lock().unwrap().push(Received {
            model: model.to_owned(),
            path_and_query: path_and_query.to_owned(),
            key_header_ok: key_ok,
            body: body.clone(),
        });
        if !key_ok {
            return Some(bad_key());
        }
        if state.retired.lock().unwrap().contains(model) {
            return Some(retired(model));
        }
        for name in body.as_object().into_iter().flat_map(|o| o.keys()) {
            if name != "instances" && name != "parameters" {
                violation(format!("unknown field {name} in a predictLongRunning request"));
                return Some(unknown_field(name, name));
            }
        }
        for name in body["parameters"].as_object().into_iter().flat_map(|o| o.keys()) {
            if !VIDEO_PARAMETERS.contains(&name.as_str()) {
                violation(format!("unknown parameter {name}"));
                return Some(unknown_field(name, &format!("parameters.{name}")));
            }
        }
        let instances = body["instances"].as_array().cloned().unwrap_or_default();
        let well_formed = instances.len() == 1
            && instances[0]["prompt"].as_str().is_some_and(|p| !p.is_empty())
            && instances[0].get("image").is_none_or(|image| {
                image["bytesBase64Encoded"].as_str().is_some_and(|b| !b.is_empty())
                    && image["mimeType"].as_str().is_some_and(|m| m.starts_with("image/"))
            })
            && body["parameters"]["durationSeconds"].as_u64().is_some_and(|s| [4, 6, 8].contains(&s))
            && ["16:9", "9:16"].contains(&body["parameters"]["aspectRatio"].as_str().unwrap_or(""));
        if !well_formed {
            violation(format!("malformed predictLongRunning request: {body}"));
            return Some(invalid_argument("The request's instances or parameters are invalid."));
        }
        let script = state.videos.lock().unwrap().pop_front().unwrap_or_else(|| VideoScript::ready_after(1));
        let mut operations = state.operations.lock().unwrap();
        operations.push(Operation { script, polls: 0 });
        let name = format!("models/{model}/operations/op{}", operations.len());
        return Some(ResponseTemplate::new(200).set_body_json(json!({ "name": name })));
    }
    if let Some(index) = path
        .strip_prefix("/v1beta/models/")
        .and_then(|r| r.split_once("/operations/op"))
        .and_then(|(_, n)| n.parse::<usize>().ok())
    {
        if request.method.as_str() != "GET" {
            violation(format!("{} instead of GET for an operation", request.method));
            return Some(ResponseTemplate::new(405));
        }
        if !key_ok {
            return Some(bad_key());
        }
        let mut operations = state.operations.lock().unwrap();
        let Some(operation) = index.checked_sub(1).and_then(|i| operations.get_mut(i)) else {
            return Some(ResponseTemplate::new(404).set_body_json(json!({"error": {"code": 404,
                "message": "Operation not found.", "status": "NOT_FOUND"}})));
        };
        operation.polls += 1;
        let name = path.trim_start_matches("/v1beta/");
        if operation.polls <= operation.script.pending {
            return Some(ResponseTemplate::new(200).set_body_json(json!({ "name": name, "done": false })));
        }
        let done = match &operation.script.end {
            VideoEnd::Clip { .. } => json!({ "name": name, "done": true, "response": {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                "generateVideoResponse": { "generatedSamples": [
                    { "video": { "uri": format!("{base}/v1beta/files/clip{index}:download?alt=media") } }
                ] } } }),
            VideoEnd::Error { code, message } => {
                json!({ "name": name, "done": true, "error": { "code": code, "message": message } })
            }
            VideoEnd::Blocked(reason) => json!({ "name": name, "done": true, "response": {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                "generateVideoResponse": { "raiMediaFilteredCount": 1, "raiMediaFilteredReasons": [reason] } } }),
        };
        return Some(ResponseTemplate::new(200).set_body_json(done));
    }
    if let Some(index) = path
        .strip_prefix("/v1beta/files/clip")
        .and_then(|r| r.strip_suffix(":download"))
        .and_then(|n| n.parse::<usize>().ok())
    {
        if !key_ok {
            violation("a clip download without the key".into());
            return Some(bad_key());
        }
        *state.downloads.lock().unwrap() += 1;
        let operations = state.operations.lock().unwrap();
        return Some(match index.checked_sub(1).and_then(|i| operations.get(i)).map(|o| &o.script.end) {
            Some(VideoEnd::Clip { bytes, content_type }) => ResponseTemplate::new(200)
                .insert_header("content-type", content_type.as_str())
                .set_body_bytes(bytes.clone()),
            _ => ResponseTemplate::new(404).set_body_string("Not Found"),
        });
    }
    None
}

struct ShapeError(String, ResponseTemplate);
impl std::fmt::Debug for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_shape(body: &Value) -> Option<ShapeError> {
    let Some(object) = body.as_object() else {
        return Some(ShapeError(
            "not an object".into(),
            invalid_argument("Invalid JSON payload received. Expected an object."),
        ));
    };
    for key in object.keys() {
        if !TOP_LEVEL.contains(&key.as_str()) {
            return Some(ShapeError(format!("unknown field {key}"), unknown_field(key, "")));
        }
    }
    let contents = object.get("contents").and_then(|c| c.as_array());
    if contents.is_none_or(|c| c.is_empty()) {
        return Some(ShapeError(
            "no contents".into(),
            invalid_argument("* GenerateContentRequest.contents: contents is not specified\n"),
        ));
    }
    for content in contents.into_iter().flatten() {
        let parts = content.get("parts").and_then(|p| p.as_array());
        if parts.is_none_or(|p| p.is_empty()) {
            return Some(ShapeError(
                "content without parts".into(),
                invalid_argument("* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n"),
            ));
        }
    }
    if let Some(config) = object.get("generationConfig").and_then(|g| g.as_object()) {
        for key in config.keys() {
            if !GENERATION_CONFIG.contains(&key.as_str()) {
                return Some(ShapeError(
                    format!("unknown generationConfig field {key}"),
                    unknown_field(key, "generation_config"),
                ));
            }
        }
        if config.contains_key("responseSchema")
            && config.get("responseMimeType").and_then(|m| m.as_str()) != Some("application/json")
        {
            return Some(ShapeError(
                "responseSchema without JSON mime type".into(),
                invalid_argument("response_mime_type must be application/json when response_schema is set"),
            ));
        }
        if let Some(thinking) = config.get("thinkingConfig")
            && thinking.get("thinkingBudget").is_some()
            && thinking.get("thinkingLevel").is_some()
        {
            return Some(ShapeError(
                "thinkingBudget and thinkingLevel together".into(),
                invalid_argument("You can only set one of thinking budget and thinking level."),
            ));
        }
        // The SDK's ThinkingLevel enum (google-genai `types.ThinkingLevel`).
        if let Some(level) = config.get("thinkingConfig").and_then(|t| t.get("thinkingLevel"))
            && !level
                .as_str()
                .is_some_and(|l| ["MINIMAL", "LOW", "MEDIUM", "HIGH"].contains(&l.to_ascii_uppercase().as_str()))
        {
            return Some(ShapeError(
                format!("thinkingLevel {level}"),
                invalid_argument(&format!(
                    "Invalid value at 'generation_config.thinking_config.thinking_level' ({level})"
                )),
            ));
        }
    }
    None
}

fn bad_key() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
             "metadata": {"service": "generativelanguage.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": "API key not valid. Please pass a valid API key."}]}}))
}

fn retired(model: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({"error": {"code": 404,
        "message": format!("This model models/{model} is no longer available to new users. Please update your code to use a newer model for the latest features and improvements."),
        "status": "NOT_FOUND"}}))
}

/// What `GET /v1beta/models/{model}` answers for a model that is gone.
fn not_found_model(model: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({"error": {"code": 404,
        "message": format!("models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."),
        "status": "NOT_FOUND"}}))
}

fn usage_json(prompt: u32, candidates: u32, thoughts: u32) -> Value {
    let mut usage = json!({"promptTokenCount": prompt, "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]});
    if thoughts > 0 {
        usage["thoughtsTokenCount"] = json!(thoughts);
    }
    usage
}

fn candidate_response(parts: Vec<Value>, finish: &str, usage: Value) -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
           "usageMetadata": usage, "modelVersion": "fake", "responseId": "fake-response"})
}

fn wants_image(body: &Value) -> bool {
    body.pointer("/generationConfig/responseModalities")
        .and_then(|m| m.as_array())
        .is_some_and(|m| m.iter().any(|v| v == "IMAGE"))
}

/// A plausible answer following the request's schema, varied by the request (so answers to different
/// prompts are not near duplicates of each other).
fn auto_answer(body: &Value) -> Value {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.to_string().hash(&mut hasher);
    let h = hasher.finish() as usize;
    const OPENINGS: [&str; 8] = [
        "I tried this last week and the second attempt went much better.",
        "Funny, my neighbour asked me about exactly this on Sunday.",
        "Took me three tries before it clicked.",
        "Honestly the cheap version worked fine for me.",
        "My first instinct was wrong here, so take this with salt.",
        "We argued about this at dinner and nobody won.",
        "Short answer: slow down and do less at once.",
        "The manual says one thing, experience says another.",
    ];
    const MIDDLES: [&str; 8] = [
        "Changing one variable at a time is what finally told me what mattered.",
        "Most of the fuss online is about details that never made a difference.",
        "Writing down what I did each time helped more than any video.",
        "The boring fix turned out to be the right one.",
        "A friend showed me the trick and I haven't looked back.",
        "Patience did more than any new gear would have.",
        "I'd check the simplest thing first before buying anything.",
        "It is easy to overthink, so I stopped measuring everything.",
    ];
    const CLOSINGS: [&str; 8] = [
        "Curious what others found.",
        "Would love to hear if that matches yours.",
        "Anyway, good luck with it.",
        "Report back if you try it.",
        "That's my experience, at least.",
        "Happy to be proven wrong.",
        "Hope it goes better next time.",
        "Let us know how it turns out.",
    ];
    // A detail of its own too: with three parts alone, two of a handful of concurrent answers often
    // shared two and were refused as near-duplicates of each other.
    const DETAILS: [&str; 8] = [
        "It took about {n} minutes the second time.",
        "I have done it {n} times now.",
        "Mine cost {n} euros, second hand.",
        "That was {n} weeks ago and it still holds.",
        "The first {n} attempts were not pretty.",
        "Our group tried it {n} times last month.",
        "It saved me {n} hours over the winter.",
        "Around {n} people asked me about it since.",
    ];
    let detail = DETAILS[(h >> 28) % 8].replace("{n}", &(2 + (h >> 32) % 40).to_string());
    let body_text = format!("{} {} {detail} {}", OPENINGS[h % 8], MIDDLES[(h >> 8) % 8], CLOSINGS[(h >> 16) % 8]);
    let properties = body.pointer("/generationConfig/responseSchema/properties").and_then(|p| p.as_object());
    if properties.is_some_and(|p| p.contains_key("voice_bank")) {
        return profile_answer(body);
    }
    let mut answer = serde_json::Map::new();
    for key in properties.map(|p| p.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
        let value = match key.as_str() {
            "direction" => json!("up"),
            "decision" => json!("reply"),
            "title" => json!(format!("{} (a question for the board)", OPENINGS[(h >> 24) % 8].trim_end_matches('.'))),
            "image_prompt" => json!("A quiet street after rain, soft morning light, realistic photograph"),
            "frame_prompt" => json!("A pot of soup on a stove, steam rising, kitchen window light"),
            "video_prompt" => json!("Steam curls up as a wooden spoon stirs slowly; the camera holds still"),
            "body" => json!(body_text),
            // A session: answer whoever answered the persona (the first notification), else just read.
            "actions" if body.to_string().contains(r#"id=\"N1\""#) => {
                json!([{ "action": "reply", "on": "N1", "why": "they answered me" }])
            }
            "actions" => json!([]),
            "note" => json!("I have been talking about testing lately, and I stand by snapshots."),
            "tags" => json!(fake_tags(body, h)),
            // Tagging people's posts: every post shown, by the id it was shown with.
            "posts" => json!(
                shown_post_ids(body)
                    .iter()
                    .map(|id| json!({ "id": id, "tags": fake_tags(body, h) }))
                    .collect::<Vec<_>>()
            ),
            "shows_me" => json!(true),
            "description" => json!(DESCRIPTION),
            _ => json!("ok"),
        };
        answer.insert(key, value);
    }
    Value::Object(answer)
}

/// Tags as a model following the prompt gives them: a trending topic shown to the persona first (the
/// prompt offers only those in its interests), then a niche and a broad one that vary by request.
fn fake_tags(body: &Value, h: usize) -> Vec<String> {
    const NICHE: [&str; 6] = ["cast iron", "weeknight dinners", "rice", "knife skills", "meal prep", "soup"];
    // The user turn only: the system turn names the tag too, in its note on data.
    let text = body.get("contents").map(Value::to_string).unwrap_or_default();
    let mut tags = Vec::new();
    if let Some(start) = text.find("<trending>") {
        let rest = &text[start + "<trending>".len()..];
        if let Some(first) = rest.split("</trending>").next().and_then(|list| list.split(", ").next()) {
            tags.push(first.to_owned());
        }
    }
    tags.push(NICHE[(h >> 12) % NICHE.len()].to_owned());
    tags.push("cooking".to_owned());
    tags
}

/// The ids of the posts a tagging prompt shows (`<post id="…"`).
fn shown_post_ids(body: &Value) -> Vec<String> {
    let text = body.to_string();
    text.split(r#"<post id=\""#)
        .skip(1)
        .filter_map(|rest| rest.split(r#"\""#).next())
        .filter(|id| id.len() == 36)
        .map(str::to_owned)
        .collect()
}

/// What the fake "sees" in a picture it is shown: 130 words, as a character reference.
pub const DESCRIPTION: &str = "A woman in her late thirties photographed head and shoulders against a pale green \
wall, facing the camera. She has a round face with warm olive skin, a few freckles across the nose, dark brown \
eyes and thick eyebrows. Her hair is black, shoulder length and slightly wavy, tucked behind the left ear. She \
wears small silver hoop earrings and a mustard yellow knitted jumper with a rolled collar over a white shirt. \
Her expression is relaxed, with a closed-mouth half smile that lifts the right corner more than the left. The \
light comes from a window on her right, leaving soft shadows on the left side of her face. The picture is a \
casual phone photograph with natural colours, a shallow depth of field and a slightly warm tone, nothing posed \
about it, the kind of picture a friend takes on a weekend.";

/// A profile for the persona studio, as a model following the prompt would answer: each persona of a
/// prompt's forum (the ones listed as already there or made before) gets its own slot, so handles,
/// interests, voices and examples differ from everyone the prompt names.
fn profile_answer(body: &Value) -> Value {
    const NAMES: [(&str, &str); 10] = [
        ("ines_bakes", "Ines Moreau"),
        ("kwame_rides", "Kwame Mensah"),
        ("hana_reads", "Hana Tanaka"),
        ("oskar_fixes", "Oskar Lindqvist"),
        ("leila_grows", "Leila Haddad"),
        ("bram_climbs", "Bram Achterberg"),
        ("noor_plays", "Noor Rahman"),
        ("mateo_brews", "Mateo Castillo"),
        ("orla_knits", "Orla Brennan"),
        ("tariq_runs", "Tariq Yilmaz"),
    ];
    const INTERESTS: [&str; 30] = [
        "sourdough",
        "pastry",
        "flour",
        "cycling",
        "bike repair",
        "commuting",
        "novels",
        "libraries",
        "poetry",
        "home repair",
        "old radios",
        "soldering",
        "gardening",
        "tomatoes",
        "compost",
        "bouldering",
        "ropes",
        "stretching",
        "chess",
        "board games",
        "puzzles",
        "coffee",
        "espresso",
        "roasting",
        "knitting",
        "wool",
        "patterns",
        "running",
        "marathons",
        "trail shoes",
    ];
    const VOICES: [&str; 10] = [
        "Short, dry sentences, mostly lowercase, never explains a joke.",
        "Warm storyteller who gives exact numbers and dates from memory.",
        "Blunt about technique, answers only the question asked.",
        "Long careful paragraphs, hedges once then commits to an opinion.",
        "Playful asides in brackets and no exclamation marks at all.",
        "Terse skeptic who asks what happens when it fails.",
        "Eager about small details and compares everything with last year.",
        "Polite corrector of facts who signs off with nothing.",
        "Folksy sayings borrowed from a grandmother in run-on sentences.",
        "Precise, cites manuals, admits mistakes without fuss.",
    ];
    const SHORTS: [&str; 10] = [
        "Two coats, always.",
        "Nope, tried that.",
        "Oh, the smell of it.",
        "Worth every cent.",
        "Mine too, sadly.",
        "Not in this weather.",
        "Slower is faster.",
        "Ha, my first week.",
        "Cheap and it works.",
        "Still the best advice.",
    ];
    const MIDDLES: [&str; 20] = [
        "I got into this by accident after a neighbour left a box of old gear on the pavement.",
        "The thread last week changed how I do it, slower now but it actually works.",
        "My first attempt was a disaster and my sister still brings it up at dinner.",
        "Everybody says the gear matters, and mostly it doesn't, practice does.",
        "I keep a notebook of every try and reading the early pages is humbling.",
        "Half of what gets written about this online is someone selling you a course.",
        "Spent the whole evening on it again and forgot to eat until ten.",
        "Start small and cheap, you will know within a month whether it sticks.",
        "I went back to the old way my uncle showed me and it is simply better.",
        "The people who taught me never wrote anything down, which explains a lot.",
        "Did it with the kids on Saturday and they were better at it than me.",
        "There is a shop by the station that runs evening classes for beginners.",
        "A stranger at the market showed me one trick that fixed two years of mistakes.",
        "Winter is when I actually get better, nothing else to do in the evenings.",
        "I broke my own rule about rushing and of course that was the one time it mattered.",
        "The second hand version has outlasted two new ones my friends bought.",
        "Every club has one person who knows everything and ours is called Gerda.",
        "I timed it once out of curiosity and it took four hours, not the forty minutes promised.",
        "Rain ruined the plan so we did the indoor version and nobody complained.",
        "My landlord asked what the noise was and now he wants to learn too.",
    ];
    const LONGS: [&str; 10] = [
        "I have been at this for about eleven years now and the biggest change was not a tool or a book. It was \
         learning to stop halfway and look at what I had instead of pushing through to the end out of stubbornness.",
        "When I started I thought it was about talent, and I was jealous of people who seemed to just get it. Then \
         I watched one of them practise on a Tuesday night, badly, for two hours, and I stopped being jealous.",
        "My neighbour got me into it during a wet winter when neither of us could go anywhere. We argued about \
         everything, from the order of the steps to the right temperature, and we are still friends somehow.",
        "I used to be the person who argued about this online until two in the morning. These days I just do it, \
         take a bad photo of the result, and go to bed, which has been better for everyone involved.",
        "Something happened last month that I keep thinking about. A kid at the club asked me why I do it the long \
         way, and I realised I had no answer except that someone did it that way in front of me once.",
        "The first time I tried it properly was after a terrible week at work, and it was the only thing that \
         made my head go quiet. That is still mostly why I do it, the results are a bonus.",
        "For nine years I did it exactly the way my dad showed me, and last spring I finally tried the modern \
         method everyone swears by. It is faster, fine, but I missed the fiddling, so I went back.",
        "I wrote down every attempt for a whole season, with the date and the weather and what went wrong. \
         The pattern was embarrassingly obvious on paper: I was always rushing on Sundays before dinner.",
        "It cost me more money than I admit to my partner and a lot of evenings, and I would do it again. \
         The friends I made through it are the main reason, the rest is just a nice excuse to meet.",
        "A friend laughed at my setup, fairly, and then spent a whole Sunday afternoon helping me rebuild it. \
         I paid him in soup and bad coffee, and he still brings it up whenever I get too confident.",
    ];
    let text = body.to_string();
    // Everyone the prompt names: a bullet per persona already there or made before this one.
    let named = text.matches("\\n- @").count();
    let w = named % 10;
    let (username, display_name) = NAMES[w];
    const CHATTINESS: [&str; 4] = ["lurker", "occasional", "regular", "very_active"];
    const TEMPERAMENTS: [&str; 3] = ["generous", "balanced", "critical"];
    let interests: Vec<&str> = INTERESTS[w * 3..w * 3 + 3].to_vec();
    json!({
        "username": username,
        "display_name": display_name,
        "bio": format!("{display_name} lives in Lisbon and works nights at a hospital. Weekends go to {}.", interests.join(" and ")),
        "voice": VOICES[w],
        "traits": ["patient", "stubborn", "curious"],
        "interests": interests,
        "timezone": "Europe/Lisbon",
        "active_hours_start": 7,
        "active_hours_end": 23,
        "chattiness": CHATTINESS[w % 4],
        "voting_temperament": TEMPERAMENTS[w % 3],
        "voice_bank": [SHORTS[w], MIDDLES[2 * w], LONGS[w], MIDDLES[2 * w + 1]],
        "looks": format!("{display_name}, late thirties, dark wavy hair, a mustard jumper, a green wall behind"),
        "picture": "photo"
    })
}

/// A small real PNG (decodable), for image answers.
pub fn sample_png(width: u32, height: u32) -> Vec<u8> {
    encode_png(image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])))
}

/// A square PNG that compresses like a photograph (gradients with noise), not like a flat test card:
/// for measuring what a generated image costs to store.
pub fn photo_png(side: u32) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    encode_png(image::RgbImage::from_fn(side, side, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 24) as u32;
        image::Rgb([
            ((x * 255 / side + noise) % 256) as u8,
            ((y * 255 / side + noise) % 256) as u8,
            (((x + y) * 128 / side + noise) % 256) as u8,
        ])
    }))
}

fn encode_png(img: image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("in-memory PNG");
    out.into_inner()
}

fn add_unknown_fields(value: &mut Value) {
    if let Some(object) = value.as_object_mut() {
        for (_, v) in object.iter_mut() {
            add_unknown_fields(v);
        }
        object.insert("serviceTier".into(), json!("standard"));
        object.insert("futureField".into(), json!({"nested": [1, 2, 3]}));
    } else if let Some(items) = value.as_array_mut() {
        for v in items {
            add_unknown_fields(v);
        }
    }
}

fn render(reply: &Reply, body: &Value, model: &str) -> ResponseTemplate {
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    let default_usage = usage_json(180, 42, 0);
    match reply {
        Reply::Auto if wants_image(body) => render(&Reply::Image { png: sample_png(64, 48), thought_image_first: false }, body, model),
        Reply::Auto => render(&Reply::Json(auto_answer(body)), body, model),
        Reply::Text(text) => ok(candidate_response(vec![json!({"text": text})], "STOP", default_usage)),
        Reply::Json(value) => ok(candidate_response(vec![json!({"text": format!("{value}\n")})], "STOP", default_usage)),
        Reply::Image { png, thought_image_first } => {
            let data = base64::engine::general_purpose::STANDARD.encode(png);
            let mut parts = vec![json!({"text": "Here is the picture."})];
            if *thought_image_first {
                parts.push(json!({"thought": true, "inlineData": {"mimeType": "image/png", "data": base64::engine::general_purpose::STANDARD.encode(sample_png(2, 2))}}));
            }
            parts.push(json!({"inlineData": {"mimeType": "image/png", "data": data}}));
            let mut usage = usage_json(264, 1291, 0);
            usage["candidatesTokensDetails"] = json!([{"modality": "IMAGE", "tokenCount": 1290}]);
            ok(candidate_response(parts, "STOP", usage))
        }
        Reply::ImageMissing => ok(candidate_response(vec![json!({"text": "Here is an image of a quiet street."})], "STOP", usage_json(20, 1304, 0))),
        Reply::RateLimitedPerMinute { retry_secs } => ResponseTemplate::new(429).set_body_json(json!({"error": {"code": 429,
            "message": format!("You exceeded your current quota, please check your plan and billing details. \n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: {model}\nPlease retry in {retry_secs}.2s."),
            "status": "RESOURCE_EXHAUSTED", "details": [
                {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "quotaDimensions": {"location": "global", "model": model}, "quotaValue": "10"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{retry_secs}s")}]}})),
        Reply::QuotaPerDay => ResponseTemplate::new(429).set_body_json(json!({"error": {"code": 429,
            "message": format!("You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/rate-limit. \n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 20, model: {model}\nPlease retry in 39.006833842s."),
            "status": "RESOURCE_EXHAUSTED", "details": [
                {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "quotaDimensions": {"location": "global", "model": model}, "quotaValue": "20"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "39s"}]}})),
        Reply::Bare429 => ResponseTemplate::new(429).set_body_json(json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}})),
        Reply::BadKey => bad_key(),
        Reply::InvalidArgument(message) => invalid_argument(message),
        Reply::ModelRetired => retired(model),
        Reply::Status(code) => {
            let (status, message) = match code {
                500 => ("INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"),
                503 => ("UNAVAILABLE", "The model is overloaded. Please try again later."),
                504 => ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
                408 => ("DEADLINE_EXCEEDED", "Request timed out."),
                _ => ("UNKNOWN", "Upstream error."),
            };
            if *code == 502 {
                ResponseTemplate::new(502).set_body_string("<html><body>502 Bad Gateway</body></html>")
            } else {
                ResponseTemplate::new(*code).set_body_json(json!({"error": {"code": code, "message": message, "status": status}}))
            }
        }
        Reply::PromptBlocked(reason) => ok(json!({"promptFeedback": {"blockReason": reason, "safetyRatings": [
            {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
            {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
            {"category": "HARM_CATEGORY_HARASSMENT", "probability": "MEDIUM"},
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "NEGLIGIBLE"}]},
            "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}})),
        Reply::Finish(reason) => ok(json!({"candidates": [{"finishReason": reason, "index": 0, "safetyRatings": [
            {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": true}]}],
            "usageMetadata": {"promptTokenCount": 171, "totalTokenCount": 171}})),
        Reply::MaxTokens => ok(json!({"candidates": [{"finishReason": "MAX_TOKENS", "index": 0}],
            "usageMetadata": {"promptTokenCount": 171, "thoughtsTokenCount": 2040, "totalTokenCount": 2211}})),
        Reply::EmptyCandidate => ok(json!({"candidates": [{"content": {"role": "model"}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 4589, "totalTokenCount": 4589}, "modelVersion": "fake", "responseId": "fake"})),
        Reply::Slow(delay, inner) => render(inner, body, model).set_delay(*delay),
        Reply::WithUnknownFields(inner) => {
            let mut value = response_json(inner, body);
            add_unknown_fields(&mut value);
            ok(value)
        }
        Reply::WithUsage { reply, prompt, candidates, thoughts, cached } => {
            let mut value = response_json(reply, body);
            let image = value["usageMetadata"]["candidatesTokensDetails"].clone();
            value["usageMetadata"] = usage_json(*prompt, *candidates, *thoughts);
            if *cached > 0 {
                value["usageMetadata"]["cachedContentTokenCount"] = json!(cached);
                value["usageMetadata"]["cacheTokensDetails"] = json!([{"modality": "TEXT", "tokenCount": cached}]);
            }
            if !image.is_null() {
                value["usageMetadata"]["candidatesTokensDetails"] = image;
            }
            ok(value)
        }
    }
}

/// The JSON body of a successful reply (for the wrappers that edit it).
fn response_json(reply: &Reply, body: &Value) -> Value {
    match reply {
        Reply::Auto | Reply::Json(_) | Reply::Text(_) | Reply::Image { .. } | Reply::ImageMissing => {
            let text = match reply {
                Reply::Auto if wants_image(body) => {
                    return response_json(&Reply::Image { png: sample_png(64, 48), thought_image_first: false }, body);
                }
                Reply::Auto => format!("{}\n", auto_answer(body)),
                Reply::Json(v) => format!("{v}\n"),
                Reply::Text(t) => t.clone(),
                Reply::ImageMissing => "Here is an image of a quiet street.".into(),
                Reply::Image { png, .. } => {
                    let mut usage = usage_json(264, 1291, 0);
                    usage["candidatesTokensDetails"] = json!([{"modality": "IMAGE", "tokenCount": 1290}]);
                    return candidate_response(
                        vec![
                            json!({"inlineData": {"mimeType": "image/png", "data": base64::engine::general_purpose::STANDARD.encode(png)}}),
                        ],
                        "STOP",
                        usage,
                    );
                }
                _ => unreachable!(),
            };
            candidate_response(vec![json!({"text": text})], "STOP", usage_json(180, 42, 0))
        }
        other => panic!("{other:?} is not a successful reply and cannot be decorated"),
    }
}
