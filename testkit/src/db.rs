//! One database per test, cloned from a template migrated once per schema version.
//!
//! `DATABASE_URL` must reach a PostgreSQL server as a user allowed to create databases and roles (the
//! test script starts a private one). When `TEST_POOLER_URL` is also set, the tests' own connections go
//! through that pooler (PgBouncer in transaction mode) while databases are created and dropped directly.
//!
//! Every database looks like a Supabase project's before the engine arrives: the `anon`,
//! `authenticated` and `service_role` roles exist and the default privileges grant them ALL on every new
//! table, sequence and function in `public` ([`prepare_like_supabase`]), so a test sees exactly what the
//! web app's public key would reach.

use std::sync::atomic::{AtomicU32, Ordering};

use shared::db::{self, ConnectOptions, DbPool, PooledClient};
use tokio_postgres::NoTls;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Bumped whenever what a template holds besides the migrations changes (the roles and grants below),
/// so a long-lived server does not hand out templates made the old way.
const TEMPLATE_SETUP_VERSION: u32 = 2;

/// Supabase's API roles, created once per server (roles are cluster-wide): `anon` and `authenticated`
/// cannot log in and are subject to RLS; `service_role` bypasses it.
const SUPABASE_ROLES: &str = "
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN NOINHERIT; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- another test process created them at the same moment
END
$$;";

/// What Supabase does to `public` in every project: usage for the API roles, and default privileges
/// that grant them ALL on whatever is created there later.
const SUPABASE_DEFAULT_PRIVILEGES: &str = "
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;";

/// The web app's schema, policies and data, as [`TestDb::existing_platform`] lays them.
pub const EXISTING_PLATFORM: &str = include_str!("existing_platform.sql");

/// Makes the database `client` is connected to look like a fresh Supabase project (roles, schema usage,
/// default privileges). Run it before migrating.
pub async fn prepare_like_supabase(client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    client.batch_execute(SUPABASE_ROLES).await?;
    client.batch_execute(SUPABASE_DEFAULT_PRIVILEGES).await
}

/// A database of our own for one test. Dropped (with `FORCE`) when this value is dropped, unless
/// `PERSONA_TEST_KEEP_DB=1`.
pub struct TestDb {
    name: String,
    admin_url: String,
    url: String,
    pool: DbPool,
}

fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "DATABASE_URL is not set. Run the tests with ./scripts/test (it starts a private PostgreSQL), \
             or point DATABASE_URL at a server where this user may create databases."
        )
    })
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| scheme_end + i).unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], database);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

async fn admin_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at DATABASE_URL: {e}"));
    tokio::spawn(connection);
    client
}

async fn ensure_template(admin: &tokio_postgres::Client, admin_url: &str) -> String {
    let template = format!("persona_tpl_{:016x}_{TEMPLATE_SETUP_VERSION}", db::migrate::fingerprint());
    // Test processes run in parallel; one of them builds the template while the others wait.
    admin.batch_execute("SELECT pg_advisory_lock(762301)").await.expect("template lock");
    let exists = admin
        .query_typed("SELECT 1 FROM pg_database WHERE datname = $1", &[(&template, tokio_postgres::types::Type::TEXT)])
        .await
        .expect("look up the template");
    if exists.is_empty() {
        let building = format!("{template}_building");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .await
            .expect("drop stale template");
        admin.batch_execute(&format!("CREATE DATABASE {building}")).await.expect("create template");
        {
            let mut client = admin_client(&with_database(admin_url, &building)).await;
            prepare_like_supabase(&client).await.expect("Supabase's roles and default privileges");
            db::migrate::run(&mut client).await.expect("migrate the template");
        }
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {building} RENAME TO {template}; ALTER DATABASE {template} WITH IS_TEMPLATE true"
            ))
            .await
            .expect("publish the template");
    }
    admin.batch_execute("SELECT pg_advisory_unlock(762301)").await.expect("template unlock");
    template
}

impl TestDb {
    /// A fresh, migrated database.
    pub async fn new() -> Self {
        Self::create(true).await
    }

    /// A fresh database with no migrations applied (for migration tests).
    pub async fn empty() -> Self {
        Self::create(false).await
    }

    /// A Supabase project that already runs the web app, not yet migrated: the web app's tables with
    /// their own Row Level Security policies and grants, and messy data (`existing_platform.sql`).
    pub async fn existing_platform() -> Self {
        let db = Self::create(false).await;
        let client = admin_client(&db.direct_url()).await;
        client.batch_execute(EXISTING_PLATFORM).await.expect("the web app's schema and data");
        db
    }

    async fn create(migrated: bool) -> Self {
        let admin_url = admin_url();
        let admin = admin_client(&admin_url).await;
        let name = format!(
            "persona_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::new_v4().simple().to_string().get(..8).unwrap_or("x")
        );
        let sql = if migrated {
            let template = ensure_template(&admin, &admin_url).await;
            format!("CREATE DATABASE {name} TEMPLATE {template}")
        } else {
            format!("CREATE DATABASE {name}")
        };
        admin.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        if !migrated {
            let client = admin_client(&with_database(&admin_url, &name)).await;
            prepare_like_supabase(&client).await.expect("Supabase's roles and default privileges");
        }
        let url = match std::env::var("TEST_POOLER_URL") {
            Ok(pooler) if !pooler.is_empty() => with_database(&pooler, &name),
            _ => with_database(&admin_url, &name),
        };
        let pool = db::connect_pool(&ConnectOptions { url: url.clone().into(), ca_cert: None, pool_size: 24 })
            .expect("test pool");
        Self { name, admin_url, url, pool }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL for this database (through the pooler when one is configured).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A direct URL for this database, bypassing any pooler.
    pub fn direct_url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }

    /// The test's pool.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// A connection from the pool.
    pub async fn client(&self) -> PooledClient {
        self.pool.get().await.expect("a pooled test connection")
    }

    /// A connection of its own, outside the pool (to drop it mid-work, or to hold locks).
    pub async fn connect(&self) -> tokio_postgres::Client {
        shared::db::connect_one(&self.url, None).await.expect("a dedicated test connection")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.pool.close();
        if std::env::var("PERSONA_TEST_KEEP_DB").as_deref() == Ok("1") {
            eprintln!("keeping test database {}", self.name);
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime; a thread with its own runtime may block on the drop.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&admin_url, NoTls).await?;
                tokio::spawn(connection);
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
            })?;
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("warning: could not drop test database {}: {e}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_the_query_kept() {
        assert_eq!(with_database("postgres://u@h:5/postgres", "t1"), "postgres://u@h:5/t1");
        assert_eq!(
            with_database("postgres://u@h:5/postgres?sslmode=disable", "t1"),
            "postgres://u@h:5/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:5", "t1"), "postgres://u@h:5/t1");
    }
}
