//! The database layer: connection pool (TLS for remote hosts), migrations, and every runtime query as a
//! named function. It sits below the domain: nothing here imports an engine module above it.
//!
//! Every runtime statement goes through `query_typed*`: it sends one unnamed statement with explicit
//! parameter types, so it works through Supabase's transaction-mode pooler, which cannot keep named
//! prepared statements between transactions.

pub mod accounts;
pub mod activity;
pub mod audit;
pub mod content;
pub mod memory;
#[cfg(feature = "migrations")]
pub mod migrate;
pub mod personas;
pub mod planner;
pub mod request_limits;
pub mod schema;
pub mod sessions;
pub mod spend;
pub mod steps;
pub mod tasks;
mod tls;
pub mod trail;
pub mod trends;
pub mod video;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::error::SqlState;

pub use tokio_postgres::GenericClient;
pub use tokio_postgres::types::Type;

/// A pool of connections.
pub type DbPool = Pool;
/// One pooled connection.
pub type PooledClient = deadpool_postgres::Object;

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `DATABASE_URL` (or a TLS setting) cannot be used.
    #[error("database configuration: {0}")]
    Config(String),
    /// No connection could be had from the pool.
    #[error("could not get a database connection: {}", describe_pool(.0))]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A statement or the connection failed.
    #[error("database error: {}", describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
}

impl DbError {
    /// Whether trying again later may succeed. Bad data, constraint violations, missing privileges and
    /// schema errors will not heal by themselves; everything else (lost connections, restarts,
    /// serialization failures, deadlocks, errors raised by triggers) may.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Config(_) | Self::Migration(_) => false,
            Self::Pool(_) => true,
            Self::Postgres(e) => match e.code() {
                None => true, // I/O or a closed connection
                Some(code) => !is_permanent_sql_state(code),
            },
        }
    }

    /// The SQLSTATE, when the server reported one.
    pub fn sql_state(&self) -> Option<&SqlState> {
        match self {
            Self::Postgres(e) => e.code(),
            _ => None,
        }
    }

    /// Whether this is a unique violation on `table` (whatever its constraint is called there).
    pub fn is_unique_violation_on(&self, table: &str) -> bool {
        match self {
            Self::Postgres(e) => {
                e.code() == Some(&SqlState::UNIQUE_VIOLATION) && e.as_db_error().and_then(|d| d.table()) == Some(table)
            }
            _ => false,
        }
    }

    /// Whether this is a unique violation of the named constraint or index.
    pub fn is_unique_violation_of(&self, constraint: &str) -> bool {
        match self {
            Self::Postgres(e) => {
                e.code() == Some(&SqlState::UNIQUE_VIOLATION)
                    && e.as_db_error().and_then(|d| d.constraint()) == Some(constraint)
            }
            _ => false,
        }
    }
}

/// The pool's error with the connection failure behind it (deadpool's own `Display` of a failed
/// connect ends at tokio-postgres' "db error").
fn describe_pool(e: &deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(inner) => format!("connecting failed: {}", describe(inner)),
        other => other.to_string(),
    }
}

/// The server's message, code and constraint, or the client-side cause: tokio-postgres' own `Display`
/// says only "db error".
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{} ({})", db.message(), db.code().code());
        if let Some(constraint) = db.constraint() {
            text.push_str(&format!(" on {constraint}"));
        }
        if let Some(detail) = db.detail() {
            text.push_str(&format!(": {detail}"));
        }
        return text;
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

fn is_permanent_sql_state(code: &SqlState) -> bool {
    // 0A feature not supported, 22 data exception, 23 integrity violation, 28 invalid authorization,
    // 3D/3F missing database/schema, 42 syntax error or access rule violation.
    matches!(&code.code()[..2], "0A" | "22" | "23" | "28" | "3D" | "3F" | "42")
}

/// How to reach the database.
#[derive(Clone)]
pub struct ConnectOptions {
    /// A libpq-style URL or key=value string.
    pub url: SecretString,
    /// Extra CA certificate (PEM) for verifying the server, e.g. Supabase's.
    pub ca_cert: Option<std::path::PathBuf>,
    /// Pool size.
    pub pool_size: usize,
}

/// Builds a pool. No connection is made until the first checkout, so a Lambda's init stays short.
pub fn connect_pool(opts: &ConnectOptions) -> Result<DbPool, DbError> {
    let (pg_config, tls) = tls::configure(opts.url.expose_secret(), opts.ca_cert.as_deref())?;
    let manager = Manager::from_config(
        pg_config,
        tls,
        // Fast recycling sends nothing on checkout: no session state to reset, nothing the pooler minds.
        ManagerConfig { recycling_method: RecyclingMethod::Fast },
    );
    Pool::builder(manager)
        .max_size(opts.pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(30)))
        .create_timeout(Some(Duration::from_secs(15)))
        .build()
        .map_err(|e| DbError::Config(e.to_string()))
}

pub use tls::{Endpoint, TlsMode};

/// Where `url` points and how the connection is protected, without its credentials.
pub fn endpoint(url: &str, ca_cert: Option<&std::path::Path>) -> Result<Endpoint, DbError> {
    tls::endpoint(url, ca_cert)
}

/// Opens one connection outside any pool (for migrations and administrative statements).
pub async fn connect_one(url: &str, ca_cert: Option<&std::path::Path>) -> Result<tokio_postgres::Client, DbError> {
    let (pg_config, tls) = tls::configure(url, ca_cert)?;
    let (client, connection) = pg_config.connect(tls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "database connection closed");
        }
    });
    Ok(client)
}

/// Begins a transaction on a pooled connection.
pub async fn begin(client: &mut PooledClient) -> Result<tokio_postgres::Transaction<'_>, DbError> {
    Ok(tokio_postgres::Client::transaction(client).await?)
}
