//! A Supabase Storage fake: `POST /storage/v1/object/{bucket}/{key}` (and `GET /storage/v1/bucket/{id}`,
//! which `doctor` asks) as Supabase's storage server answers them — 200 `{Id, Key}` on success, and
//! errors as HTTP 400 with the real status as a string `statusCode` in the body. It keeps what it stores, honours `x-upsert`, and checks the headers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::json;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// A scripted answer to the next upload.
#[derive(Debug, Clone)]
pub enum StorageReply {
    /// Answer as the server would (to script a later upload's failure).
    Accept,
    /// A real HTTP 5xx (gateway trouble).
    ServerError(u16),
    /// 400 with body `statusCode` "503" (database read-only or lock timeout).
    Unavailable,
    /// 400 `statusCode` "413".
    TooLarge,
    /// 400 `statusCode` "403" (row-level security, wrong key).
    Unauthorized,
}

/// One upload received.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The key inside the bucket.
    pub key: String,
    /// Its `content-type`.
    pub content_type: String,
    /// Whether `x-upsert: true` was sent.
    pub upsert: bool,
    /// The body's size.
    pub bytes: usize,
}

#[derive(Debug, Default)]
struct State {
    bucket: String,
    key: String,
    max_bytes: usize,
    objects: Mutex<HashMap<String, Vec<u8>>>,
    script: Mutex<VecDeque<StorageReply>>,
    uploads: Mutex<Vec<Upload>>,
    violations: Mutex<Vec<String>>,
}

/// The running fake.
pub struct StorageFake {
    server: MockServer,
    state: Arc<State>,
}

/// The service-role key the fake expects (a JWT-shaped legacy key).
pub const FAKE_SERVICE_KEY: &str = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.fake-signature";

impl StorageFake {
    /// A fake with one bucket, accepting objects up to `max_bytes`.
    pub async fn start(bucket: &str, max_bytes: usize) -> Self {
        let state =
            Arc::new(State { bucket: bucket.into(), key: FAKE_SERVICE_KEY.into(), max_bytes, ..State::default() });
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(Responder(state.clone())).mount(&server).await;
        Self { server, state }
    }

    /// The project URL to configure (`SUPABASE_URL`).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Queues an answer for the next upload.
    pub fn push(&self, reply: StorageReply) -> &Self {
        self.state.script.lock().unwrap().push_back(reply);
        self
    }

    /// The stored object at `key`.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.state.objects.lock().unwrap().get(key).cloned()
    }

    /// How many objects are stored.
    pub fn object_count(&self) -> usize {
        self.state.objects.lock().unwrap().len()
    }

    /// Every upload received.
    pub fn uploads(&self) -> Vec<Upload> {
        self.state.uploads.lock().unwrap().clone()
    }

    /// Requests that broke the documented protocol.
    pub fn violations(&self) -> Vec<String> {
        self.state.violations.lock().unwrap().clone()
    }
}

fn error(semantic: &str, error: &str, message: &str, code: &str) -> ResponseTemplate {
    let http = if semantic == "500" { 500 } else { 400 };
    ResponseTemplate::new(http)
        .set_body_json(json!({"statusCode": semantic, "error": error, "message": message, "code": code}))
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

struct Responder(Arc<State>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = &self.0;
        let violation = |v: String| state.violations.lock().unwrap().push(v);
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let path = request.url.path().to_owned();
        match header("apikey") {
            None => {
                return ResponseTemplate::new(401).set_body_json(json!({"message": "No API key found in request",
                    "hint": "No `apikey` request header or url param was found."}));
            }
            Some(k) if k != state.key => {
                return ResponseTemplate::new(401)
                    .set_body_json(json!({"message": "Invalid API key", "hint": "Double check your Supabase `anon` or `service_role` API key."}));
            }
            Some(_) => {}
        }
        if header("authorization").as_deref() != Some(&format!("Bearer {}", state.key)) {
            violation("a JWT service key must also be sent as Authorization: Bearer".into());
            return error("403", "Unauthorized", "invalid signature", "AccessDenied");
        }
        // `GET /storage/v1/bucket/{id}` (storage-js getBucket): the bucket's row, or "Bucket not found".
        if let Some(id) = path.strip_prefix("/storage/v1/bucket/") {
            if request.method.as_str() != "GET" {
                violation(format!("{} on a bucket", request.method));
                return ResponseTemplate::new(405);
            }
            if percent_decode(id) != state.bucket {
                return error("404", "Bucket not found", "Bucket not found", "NoSuchBucket");
            }
            return ResponseTemplate::new(200).set_body_json(json!({"id": state.bucket, "name": state.bucket,
                "owner": "", "public": true, "type": "STANDARD", "file_size_limit": state.max_bytes,
                "allowed_mime_types": null, "created_at": "2026-11-01T00:00:00.000Z",
                "updated_at": "2026-11-01T00:00:00.000Z"}));
        }
        let Some(rest) = path.strip_prefix("/storage/v1/object/") else {
            violation(format!("unexpected path {path}"));
            return ResponseTemplate::new(404);
        };
        if request.method.as_str() == "DELETE" {
            // storage-api's `DELETE /object/{bucket}/{key}`: 200 with a message, or its 404 as a 400.
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket != state.bucket {
                return error("404", "Bucket not found", "Bucket not found", "NoSuchBucket");
            }
            return match state.objects.lock().unwrap().remove(&percent_decode(key)) {
                Some(_) => ResponseTemplate::new(200).set_body_json(json!({"message": "Successfully deleted"})),
                None => error("404", "not_found", "Object not found", "NoSuchKey"),
            };
        }
        if request.method.as_str() != "POST" && request.method.as_str() != "PUT" {
            violation(format!("{} upload", request.method));
            return ResponseTemplate::new(405);
        }
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let key = percent_decode(key);
        let upsert = header("x-upsert").as_deref() == Some("true");
        state.uploads.lock().unwrap().push(Upload {
            key: key.clone(),
            content_type: header("content-type").unwrap_or_default(),
            upsert,
            bytes: request.body.len(),
        });
        let scripted = state.script.lock().unwrap().pop_front();
        if let Some(reply) = scripted.filter(|r| !matches!(r, StorageReply::Accept)) {
            return match reply {
                StorageReply::Accept => unreachable!("filtered out above"),
                StorageReply::ServerError(code) => ResponseTemplate::new(code).set_body_string("upstream error"),
                StorageReply::Unavailable => {
                    error("503", "DatabaseReadOnly", "The database is in read-only mode", "DatabaseReadOnly")
                }
                StorageReply::TooLarge => {
                    error("413", "Payload too large", "The object exceeded the maximum allowed size", "EntityTooLarge")
                }
                StorageReply::Unauthorized => {
                    error("403", "Unauthorized", "new row violates row-level security policy", "AccessDenied")
                }
            };
        }
        if bucket != state.bucket {
            return error("404", "Bucket not found", "Bucket not found", "NoSuchBucket");
        }
        if key.is_empty() {
            return error("400", "InvalidKey", &format!("Invalid key: {key}"), "InvalidKey");
        }
        if request.body.len() > state.max_bytes {
            return error("413", "Payload too large", "The object exceeded the maximum allowed size", "EntityTooLarge");
        }
        if request.body.is_empty() {
            return error("400", "InvalidRequest", "No content provided", "InvalidRequest");
        }
        let mut objects = state.objects.lock().unwrap();
        if objects.contains_key(&key) && !upsert {
            return error("409", "Duplicate", "The resource already exists", "KeyAlreadyExists");
        }
        objects.insert(key.clone(), request.body.clone());
        ResponseTemplate::new(200).set_body_json(json!({"Id": uuid::Uuid::new_v4(), "Key": format!("{bucket}/{key}")}))
    }
}
