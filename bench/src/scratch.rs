//! Where a benchmark's databases live: the server at `DATABASE_URL`, or a private throwaway cluster
//! under target/ (stopped and deleted when the benchmark ends).

use anyhow::{Context, Result};
use shared::db;
use testkit::db::with_database;
use tooling::local_postgres::LocalPostgres;

/// A server to create benchmark databases on.
pub struct Scratch {
    admin_url: String,
    cluster: Option<LocalPostgres>,
}

impl Scratch {
    /// `DATABASE_URL`'s server, or a private cluster started with `settings` (`-c name=value`).
    pub fn start(settings: &[(&str, &str)]) -> Result<Self> {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return Ok(Self { admin_url: url, cluster: None });
        }
        Self::start_private(settings)
    }

    /// A private cluster started with `settings`, whatever `DATABASE_URL` says.
    pub fn start_private(settings: &[(&str, &str)]) -> Result<Self> {
        let dir = std::path::Path::new("target").join(format!("bench-pg-{}", std::process::id()));
        let cluster = LocalPostgres::start_fresh_with(&dir, true, settings).context("starting a private PostgreSQL")?;
        eprintln!("· private PostgreSQL on port {} (DATABASE_URL unset)", cluster.port());
        Ok(Self { admin_url: cluster.url("postgres"), cluster: Some(cluster) })
    }

    /// Our own cluster (which may be restarted), `None` when running on `DATABASE_URL`'s server.
    pub fn cluster(&mut self) -> Option<&mut LocalPostgres> {
        self.cluster.as_mut()
    }

    /// A new, migrated database `name` (an earlier one of that name is dropped first); its URL.
    pub async fn fresh_database(&self, name: &str) -> Result<String> {
        let admin = db::connect_one(&self.admin_url, None).await.context("connecting to DATABASE_URL")?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        admin.batch_execute(&format!("CREATE DATABASE {name}")).await?;
        let url = with_database(&self.admin_url, name);
        let mut client = db::connect_one(&url, None).await?;
        db::migrate::run(&mut client).await?;
        Ok(url)
    }

    /// Drops `name`.
    pub async fn drop_database(&self, name: &str) -> Result<()> {
        let admin = db::connect_one(&self.admin_url, None).await?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        Ok(())
    }
}
