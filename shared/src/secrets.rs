//! Secrets from AWS Secrets Manager through the AWS Parameters and Secrets Lambda Extension: a local
//! HTTP call (`GET http://localhost:2773/secretsmanager/get?secretId=…` with the function's session
//! token), no SDK. When `SECRETS_ARN` is set, the secret's JSON object (variable name → value) fills the
//! configuration: a variable the secret holds wins over the plain environment, anything else still
//! comes from the environment.

use std::collections::HashMap;
use std::time::Duration;

/// Where the extension listens unless `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 2773;

/// Why the secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The extension could not be reached or answered with an error.
    #[error("could not read SECRETS_ARN through the Parameters and Secrets extension: {0}")]
    Unavailable(String),
    /// The secret is not a JSON object of strings.
    #[error("the secret in SECRETS_ARN must be a JSON object of variable names to strings: {0}")]
    Malformed(String),
}

/// The variables in the secret `arn`, read through the extension at `base_url` with `token`.
pub async fn fetch(base_url: &str, arn: &str, token: &str) -> Result<HashMap<String, String>, SecretsError> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| SecretsError::Unavailable(e.to_string()))?;
    let id = percent_encoding::utf8_percent_encode(arn, percent_encoding::NON_ALPHANUMERIC);
    let response = http
        .get(format!("{}/secretsmanager/get?secretId={id}", base_url.trim_end_matches('/')))
        .header("X-Aws-Parameters-Secrets-Token", token)
        .send()
        .await
        .map_err(|e| SecretsError::Unavailable(e.without_url().to_string()))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| SecretsError::Unavailable(e.without_url().to_string()))?;
    if !status.is_success() {
        // The extension's errors name the secret and the cause, never its value.
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_owned();
        return Err(SecretsError::Unavailable(format!("HTTP {status}: {text}")));
    }
    #[derive(serde::Deserialize)]
    struct GetSecretValue {
        #[serde(rename = "SecretString")]
        secret_string: Option<String>,
    }
    let answer: GetSecretValue =
        serde_json::from_slice(&body).map_err(|e| SecretsError::Malformed(format!("the answer is not JSON ({e})")))?;
    let text = answer.secret_string.ok_or_else(|| SecretsError::Malformed("it has no SecretString".into()))?;
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|_| SecretsError::Malformed("SecretString is not a JSON object".into()))?;
    object
        .into_iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(s) => Ok((name, s)),
            _ => Err(SecretsError::Malformed(format!("{name} is not a string"))),
        })
        .collect()
}

/// The process environment, with the secret named by `SECRETS_ARN` over it when set.
pub async fn environment() -> Result<HashMap<String, String>, SecretsError> {
    let mut vars: HashMap<String, String> = std::env::vars().collect();
    let Some(arn) = vars.get("SECRETS_ARN").filter(|a| !a.trim().is_empty()).cloned() else {
        return Ok(vars);
    };
    let port =
        vars.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT").and_then(|p| p.parse::<u16>().ok()).unwrap_or(DEFAULT_PORT);
    let token = vars.get("AWS_SESSION_TOKEN").cloned().unwrap_or_default();
    let secret = fetch(&format!("http://localhost:{port}"), arn.trim(), &token).await?;
    vars.extend(secret);
    Ok(vars)
}
