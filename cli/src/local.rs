//! The database the demo and the simulator run on: `DATABASE_URL` when set (it must not hold a real
//! platform's personas), otherwise a private, throwaway PostgreSQL.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use secrecy::ExposeSecret;
use shared::config::Config;
use shared::db::{self, Type};
use tooling::demo_world::DemoWorld;
use tooling::local_postgres::LocalPostgres;

/// Under the project's target/ when run from a checkout, else the system's temporary directory.
pub fn scratch_dir(name: &str) -> PathBuf {
    let base = if PathBuf::from("target").is_dir() { PathBuf::from("target") } else { std::env::temp_dir() };
    base.join(name)
}

/// A migrated database with no personas but the demo world's; the cluster handle (if one was started)
/// stops and removes it when dropped.
pub async fn database(config: &Config) -> Result<(String, Option<LocalPostgres>)> {
    let (url, cluster) = match &config.database.url {
        Some(url) => (url.expose_secret().to_owned(), None),
        None => {
            eprintln!("· DATABASE_URL is not set: starting a private, throwaway PostgreSQL …");
            let cluster = LocalPostgres::start_fresh(&scratch_dir(&format!("demo-pg-{}", std::process::id())), true)?;
            (cluster.url("postgres"), Some(cluster))
        }
    };
    let mut client =
        db::connect_one(&url, config.database.ca_cert.as_deref()).await.context("connecting to the database")?;
    db::migrate::run(&mut client).await?;
    let world = DemoWorld::embedded();
    let known: Vec<&str> = world.persona_usernames().collect();
    let foreign: i64 = client
        .query_typed_one(
            "SELECT count(*) FROM personas WHERE NOT (username = ANY($1)) AND username NOT LIKE 'sim\\_persona\\_%'",
            &[(&known, Type::TEXT_ARRAY)],
        )
        .await?
        .get(0);
    if foreign > 0 {
        bail!(
            "DATABASE_URL points at a database with personas of its own; this command writes simulated activity \
             into it. Unset DATABASE_URL (a private PostgreSQL is used) or point it at an empty database."
        );
    }
    Ok((url, cluster))
}
