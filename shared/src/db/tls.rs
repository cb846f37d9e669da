//! TLS for remote databases (rustls, no OpenSSL on Lambda).
//!
//! `sslmode` as libpq users know it: `disable` never encrypts; `require` encrypts without verifying the
//! certificate unless `DATABASE_CA_CERT` is given; `verify-ca`/`verify-full` encrypt and verify. When no
//! mode is given, loopback and unix-socket hosts go unencrypted and every other host gets verified TLS.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::DbError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verification {
    Full,
    EncryptOnly,
}

/// Parses the connection string and builds the TLS connector it calls for.
pub(super) fn configure(
    url: &str,
    ca_cert: Option<&Path>,
) -> Result<(tokio_postgres::Config, MakeRustlsConnect), DbError> {
    // tokio-postgres only knows disable/prefer/require; verification is the connector's job.
    let wants_verification = url.contains("sslmode=verify-full") || url.contains("sslmode=verify-ca");
    let normalised =
        url.replace("sslmode=verify-full", "sslmode=require").replace("sslmode=verify-ca", "sslmode=require");
    let mut config: tokio_postgres::Config = normalised
        .parse()
        .map_err(|e: tokio_postgres::Error| DbError::Config(format!("DATABASE_URL cannot be parsed: {e}")))?;
    if config.get_hosts().is_empty() {
        return Err(DbError::Config("DATABASE_URL names no host".into()));
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("persona-engine");
    }
    config.keepalives(true);

    let all_local = config.get_hosts().iter().all(|h| match h {
        Host::Tcp(name) => matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1"),
        Host::Unix(_) => true,
    });
    let verification = match config.get_ssl_mode() {
        SslMode::Disable => Verification::Full, // unused
        SslMode::Prefer if all_local => {
            config.ssl_mode(SslMode::Disable);
            Verification::Full
        }
        SslMode::Prefer => {
            config.ssl_mode(SslMode::Require);
            Verification::Full
        }
        SslMode::Require if wants_verification || ca_cert.is_some() => Verification::Full,
        SslMode::Require => {
            tracing::warn!(
                "sslmode=require: the connection is encrypted but the server certificate is not verified; \
                 set DATABASE_CA_CERT or use sslmode=verify-full"
            );
            Verification::EncryptOnly
        }
        _ => Verification::Full,
    };
    Ok((config, MakeRustlsConnect::new(client_config(verification, ca_cert)?)))
}

/// How a connection to the database is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Not encrypted (`sslmode=disable`, or a loopback host).
    Off,
    /// Encrypted, the server's certificate not checked (`sslmode=require` without a CA).
    Unverified,
    /// Encrypted and verified.
    Verified,
}

/// Where a connection string points, without its credentials.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Endpoint {
    /// Host names (or socket directories).
    pub hosts: Vec<String>,
    /// The first port.
    pub port: u16,
    /// The database name.
    pub database: Option<String>,
    /// Whether every host is this machine.
    pub local: bool,
    /// How the connection is protected.
    pub tls: TlsMode,
}

/// Describes `url` as [`configure`] would connect to it.
pub(super) fn endpoint(url: &str, ca_cert: Option<&Path>) -> Result<Endpoint, DbError> {
    let (config, _) = configure(url, ca_cert)?;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let local = config.get_hosts().iter().all(|h| match h {
        Host::Tcp(name) => matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1"),
        Host::Unix(_) => true,
    });
    let verified = url.contains("sslmode=verify-full") || url.contains("sslmode=verify-ca") || ca_cert.is_some();
    let tls = match config.get_ssl_mode() {
        SslMode::Disable => TlsMode::Off,
        SslMode::Require if !verified && url.contains("sslmode=require") => TlsMode::Unverified,
        _ => TlsMode::Verified,
    };
    Ok(Endpoint {
        hosts,
        port: config.get_ports().first().copied().unwrap_or(5432),
        database: config.get_dbname().map(str::to_owned),
        local,
        tls,
    })
}

fn client_config(verification: Verification, ca_cert: Option<&Path>) -> Result<ClientConfig, DbError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Config(format!("TLS setup: {e}")))?;
    let config = match verification {
        Verification::Full => {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            if let Some(path) = ca_cert {
                add_pem_file(&mut roots, path)?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Verification::EncryptOnly => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// `DATABASE_CA_CERT` is a PEM file's path, or (for Lambda, where files are awkward) the PEM text itself.
fn add_pem_file(roots: &mut RootCertStore, path: &Path) -> Result<(), DbError> {
    let inline_pem = path.to_str().filter(|s| s.trim_start().starts_with("-----BEGIN"));
    let shown = if inline_pem.is_some() { "(inline PEM)".to_owned() } else { path.display().to_string() };
    let pem = match inline_pem {
        Some(text) => text.as_bytes().to_vec(),
        None => std::fs::read(path).map_err(|e| DbError::Config(format!("DATABASE_CA_CERT {shown}: {e}")))?,
    };
    let mut added = 0;
    for cert in rustls_pemfile_certs(&pem) {
        roots.add(cert).map_err(|e| DbError::Config(format!("DATABASE_CA_CERT {shown}: {e}")))?;
        added += 1;
    }
    if added == 0 {
        return Err(DbError::Config(format!("DATABASE_CA_CERT {shown} holds no PEM certificate")));
    }
    Ok(())
}

/// Extracts the DER bodies of every `CERTIFICATE` block in a PEM file.
fn rustls_pemfile_certs(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem).filter_map(Result::ok).collect()
}

/// `sslmode=require` without a CA: encrypt, as libpq does, but accept whatever certificate is shown.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_without_sslmode_is_unencrypted() {
        let (c, _) = configure("postgres://u@127.0.0.1:5432/db", None).unwrap();
        assert_eq!(c.get_ssl_mode(), SslMode::Disable);
    }

    #[test]
    fn a_remote_host_without_sslmode_requires_tls() {
        let (c, _) = configure("postgres://u:p@aws-0-eu-central-1.pooler.supabase.com:6543/postgres", None).unwrap();
        assert_eq!(c.get_ssl_mode(), SslMode::Require);
    }

    #[test]
    fn verify_full_is_accepted_and_means_tls() {
        let (c, _) = configure("postgres://u@db.example.com/db?sslmode=verify-full", None).unwrap();
        assert_eq!(c.get_ssl_mode(), SslMode::Require);
    }

    #[test]
    fn a_missing_ca_file_is_a_clear_error() {
        let err = configure("postgres://u@db.example.com/db", Some(Path::new("/nonexistent/ca.pem"))).err().unwrap();
        assert!(err.to_string().contains("DATABASE_CA_CERT /nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn an_inline_pem_without_a_certificate_is_refused_clearly() {
        let err =
            configure("postgres://u@db.example.com/db", Some(Path::new("-----BEGIN NOTHING-----\n"))).err().unwrap();
        assert!(err.to_string().contains("DATABASE_CA_CERT (inline PEM) holds no PEM certificate"), "{err}");
    }

    #[test]
    fn a_garbage_url_is_a_configuration_error_without_the_password() {
        let err = configure("postgres://user:hunter2@host:notaport/db", None).err().unwrap();
        assert!(matches!(err, DbError::Config(_)));
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
