//! Where processed images go: Supabase Storage over its REST API, or a local directory for
//! development. Keys derive from the task, so a retried upload overwrites instead of duplicating.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::config::SupabaseConfig;

/// A stored object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredObject {
    /// The key inside the bucket or directory.
    pub path: String,
    /// Where readers fetch it.
    pub url: String,
}

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object is larger than the bucket or project allows.
    #[error("storage refused the object as too large ({0})")]
    TooLarge(String),
    /// The bucket does not exist: a configuration error.
    #[error("storage bucket {bucket:?} does not exist; create it or set SUPABASE_STORAGE_BUCKET ({message})")]
    BucketMissing {
        /// The bucket.
        bucket: String,
        /// The server's message.
        message: String,
    },
    /// The key was refused (401/403: wrong key, or row-level security without the service role).
    #[error("storage refused the credentials ({0}); check SUPABASE_SERVICE_ROLE_KEY")]
    Unauthorized(String),
    /// Any other refusal that will not change by retrying.
    #[error("storage refused the upload (HTTP {status}, {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The body's `statusCode`/`code`.
        code: String,
        /// The server's message.
        message: String,
    },
    /// A temporary failure (5xx, 429, timeouts), after the client's own retries.
    #[error("storage is temporarily unavailable: {0}")]
    Unavailable(String),
    /// The local directory could not be written.
    #[error("could not write {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl StorageError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// A place to put images.
#[async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` at `key` (overwriting), returning where readers find it.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<StoredObject, StorageError>;
    /// Removes the object at `key`; one that is not there is already removed.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
}

/// Supabase Storage: `POST {SUPABASE_URL}/storage/v1/object/{bucket}/{key}` with `x-upsert: true`.
pub struct SupabaseStorage {
    http: reqwest::Client,
    base_url: String,
    key: SecretString,
    bucket: String,
    retry_delay: Duration,
}

impl std::fmt::Debug for SupabaseStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupabaseStorage")
            .field("base_url", &self.base_url)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// Attempts per upload before a temporary failure is reported.
const UPLOAD_ATTEMPTS: u32 = 3;

impl SupabaseStorage {
    /// A client from configuration.
    pub fn from_config(config: &SupabaseConfig) -> Self {
        Self::new(&config.url, config.service_role_key.clone(), &config.bucket, Duration::from_millis(500))
    }

    /// A client for `base_url` (the project URL, or a fake's), waiting `retry_delay`·attempt between tries.
    pub fn new(base_url: &str, key: SecretString, bucket: &str, retry_delay: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("a reqwest client with rustls builds");
        Self { http, base_url: base_url.trim_end_matches('/').to_owned(), key, bucket: bucket.to_owned(), retry_delay }
    }

    fn object_url(&self, key: &str) -> String {
        format!("{}/storage/v1/object/{}/{}", self.base_url, encode_segment(&self.bucket), encode_path(key))
    }

    fn public_url(&self, key: &str) -> String {
        format!("{}/storage/v1/object/public/{}/{}", self.base_url, encode_segment(&self.bucket), encode_path(key))
    }

    /// `request` with the service key: as `apikey` always, and as a bearer token when it is a legacy
    /// JWT key (the new `sb_secret_` keys must not go in Authorization).
    fn authorised(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let secret = self.key.expose_secret();
        request = request.header("apikey", secret);
        if secret.starts_with("eyJ") {
            request = request.bearer_auth(secret);
        }
        request
    }

    /// Sends `request`; `Ok` on a 2xx, else the classified error.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(), StorageError> {
        let response = self.authorised(request).send().await.map_err(|e| {
            StorageError::Unavailable(if e.is_timeout() { "timed out".into() } else { e.without_url().to_string() })
        })?;
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(self.classify(status, &body))
    }

    async fn upload_once(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), StorageError> {
        let request = self
            .http
            .post(self.object_url(key))
            .header("content-type", content_type)
            .header("cache-control", "max-age=31536000")
            .header("x-upsert", "true")
            .body(bytes.to_vec());
        self.send(request).await
    }

    /// Whether the bucket exists and the key may use it (`GET /storage/v1/bucket/{bucket}`).
    pub async fn check_bucket(&self) -> Result<(), StorageError> {
        let url = format!("{}/storage/v1/bucket/{}", self.base_url, encode_segment(&self.bucket));
        self.send(self.http.get(url)).await
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Storage answers most errors as HTTP 400 with the real status as a string `statusCode` in the body.
    fn classify(&self, status: u16, body: &[u8]) -> StorageError {
        let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let field = |name: &str| parsed.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let semantic = field("statusCode");
        let code = if field("code").is_empty() { semantic.clone() } else { field("code") };
        let message = match (field("message"), field("error")) {
            (m, _) if !m.is_empty() => m,
            (_, e) if !e.is_empty() => e,
            _ => String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_owned(),
        };
        let effective = semantic.parse::<u16>().unwrap_or(status);
        match effective {
            413 => StorageError::TooLarge(message),
            404 if code == "NoSuchBucket" || message.contains("Bucket not found") => {
                StorageError::BucketMissing { bucket: self.bucket.clone(), message }
            }
            401 | 403 => StorageError::Unauthorized(message),
            423 | 429 | 503 | 544 => StorageError::Unavailable(format!("{effective} {code}: {message}")),
            s if s >= 500 => StorageError::Unavailable(format!("{s} {code}: {message}")),
            s => StorageError::Refused { status: s, code, message },
        }
    }
}

#[async_trait]
impl Storage for SupabaseStorage {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<StoredObject, StorageError> {
        let mut attempt = 1;
        loop {
            match self.upload_once(key, &bytes, content_type).await {
                Ok(()) => return Ok(StoredObject { path: key.to_owned(), url: self.public_url(key) }),
                // The key derives from the task: an existing object is this task's earlier upload.
                Err(StorageError::Refused { code, .. }) if code == "KeyAlreadyExists" || code == "409" => {
                    return Ok(StoredObject { path: key.to_owned(), url: self.public_url(key) });
                }
                Err(e) if e.is_retryable() && attempt < UPLOAD_ATTEMPTS => {
                    tracing::warn!(attempt, error = %e, "storage upload failed; retrying");
                    tokio::time::sleep(self.retry_delay * attempt).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.send(self.http.delete(self.object_url(key))).await {
            Err(StorageError::Refused { status: 404, .. }) => Ok(()),
            other => other,
        }
    }
}

/// Everything but RFC 3986's unreserved characters is encoded in a path segment (Storage allows `?`,
/// spaces and `+` in keys; URLs do not).
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encodes one path segment.
fn encode_segment(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, SEGMENT).to_string()
}

fn encode_path(key: &str) -> String {
    key.split('/').map(encode_segment).collect::<Vec<_>>().join("/")
}

/// A local directory (`MEDIA_DIR`), for development and self-hosting without Supabase.
#[derive(Debug, Clone)]
pub struct LocalDirStorage {
    root: PathBuf,
}

impl LocalDirStorage {
    /// Storage under `root` (created when needed).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

#[async_trait]
impl Storage for LocalDirStorage {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<StoredObject, StorageError> {
        if key.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
            return Err(StorageError::Refused {
                status: 400,
                code: "InvalidKey".into(),
                message: format!("invalid key {key:?}"),
            });
        }
        let path = self.root.join(key);
        let io = |source| StorageError::Io { path: path.clone(), source };
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        // Write then rename: a reader never sees half an image, and a retry overwrites. Each write has
        // its own partial file, so two workers storing the same object (a stale claim beside a live one)
        // never rename each other's.
        let partial = path.with_extension(format!("partial-{}", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&partial, &bytes)
            .await
            .map_err(|source| StorageError::Io { path: partial.clone(), source })?;
        tokio::fs::rename(&partial, &path).await.map_err(io)?;
        let absolute = std::path::absolute(&path).unwrap_or(path.clone());
        Ok(StoredObject { path: key.to_owned(), url: format!("file://{}", absolute.display()) })
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.root.join(key);
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StorageError::Io { path, source: e }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_percent_encoded_per_segment() {
        assert_eq!(encode_path("a b/c?d+e.jpg"), "a%20b/c%3Fd%2Be.jpg");
    }
}
