//! Secrets through the AWS Parameters and Secrets Lambda Extension, against a local server answering
//! as the extension does (Secrets Manager's GetSecretValue JSON; the session token in a header).

use shared::secrets::{SecretsError, fetch};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:persona-engine-AbCdEf";

async fn extension(secret_string: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/secretsmanager/get"))
        .and(query_param("secretId", ARN))
        .and(header("X-Aws-Parameters-Secrets-Token", "session-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "ARN": ARN, "Name": "persona-engine", "SecretString": secret_string,
            "VersionId": "a1b2c3", "VersionStages": ["AWSCURRENT"], "CreatedDate": "2026-11-30T10:00:00.000Z"
        })))
        .mount(&server)
        .await;
    // Anything else: the extension's own refusal.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_string("missing or invalid X-Aws-Parameters-Secrets-Token"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn the_secret_fills_the_configuration_and_wins_over_plain_variables() {
    let secret = r#"{"GEMINI_API_KEY": "AIza-from-secrets-manager-0123456789", "ADMIN_API_KEY": "admin-key-from-secrets-manager-0123456789"}"#;
    let server = extension(serde_json::Value::String(secret.into())).await;
    let vars = fetch(&server.uri(), ARN, "session-token").await.unwrap();
    assert_eq!(vars["GEMINI_API_KEY"], "AIza-from-secrets-manager-0123456789");

    let mut environment = std::collections::HashMap::from([
        ("GEMINI_API_KEY".to_string(), "AIza-plain-variable".to_string()),
        ("GEMINI_MODEL".to_string(), "gemini-3.5-flash".to_string()),
    ]);
    environment.extend(vars);
    let config = shared::config::Config::from_map(&environment).unwrap();
    assert_eq!(config.llm_provider, shared::config::LlmProvider::Gemini);
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(config.gemini.api_key.as_ref().unwrap()),
        "AIza-from-secrets-manager-0123456789"
    );
    assert_eq!(
        config.gemini.models.model(shared::ai::ModelClass::Writing),
        "gemini-3.5-flash",
        "what the secret does not hold comes from the environment"
    );
    assert!(config.admin.api_key.is_some());
}

#[tokio::test]
async fn a_bad_token_or_a_malformed_secret_is_a_clear_error_without_the_value() {
    let server = extension(serde_json::Value::String(r#"{"GEMINI_API_KEY": 42}"#.into())).await;
    let err = fetch(&server.uri(), ARN, "wrong-token").await.unwrap_err();
    assert!(matches!(&err, SecretsError::Unavailable(m) if m.contains("400") && m.contains("Token")), "{err}");
    let err = fetch(&server.uri(), ARN, "session-token").await.unwrap_err();
    assert!(matches!(&err, SecretsError::Malformed(m) if m.contains("GEMINI_API_KEY is not a string")), "{err}");
    let plain = extension(serde_json::Value::String("hunter2-plain-text".into())).await;
    let err = fetch(&plain.uri(), ARN, "session-token").await.unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "the value never appears: {err}");
    let down = fetch("http://127.0.0.1:9", ARN, "session-token").await.unwrap_err();
    assert!(matches!(down, SecretsError::Unavailable(_)));
}
